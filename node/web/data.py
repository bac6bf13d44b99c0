"""What the portal shows, read from the RDF store with SPARQL.

The portal reads the same linked data that partners and researchers get, so a page can never
show what the data does not say. Every read names the graphs the caller may see, as
`node.access.scope` decided for the request: a restricted dataset's readings, sensor names
and places stay off the pages unless the request carries a valid agreement token, exactly as
in SPARQL and the JSON API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox

from allmende.node.access import Scope, dataset_of_graph
from allmende.node.runtime import Node
from allmende.node.web import labels
from allmende.node.web.i18n import LANGUAGES, texts

PREFIXES = """
PREFIX sosa: <http://www.w3.org/ns/sosa/>
PREFIX geo: <http://www.w3.org/2003/01/geo/wgs84_pos#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
"""

UNIT_SYMBOLS = {
    "DEG_C": "°C",
    "PERCENT": "%",
    "PERCENT_RH": "%",
    "CentiM": "cm",
    "M": "m",
    "MilliM": "mm",
    "W": "W",
    "KiloW-HR": "kWh",
    "V": "V",
    "MilliV": "mV",
    "PPM": "ppm",
    "LUX": "lx",
    "HectoPA": "hPa",
    "UNITLESS": "",
}


@dataclass(frozen=True)
class Reading:
    sensor: str
    device: str
    property: str
    value: str
    unit: str
    time: str


@dataclass(frozen=True)
class Village:
    """A neighbouring village whose pooled data this node holds."""

    id: str
    """Its node id (as pinned in the trust list)."""
    base: str
    """Where its IRIs live: its sensors are `{base}/sensors/{device}`."""
    name: str

    @property
    def key(self) -> str:
        """The village in this node's URLs: its host (and port), readable and stable."""
        parts = urlsplit(self.base)
        return (parts.netloc + parts.path.rstrip("/").replace("/", "~")) or self.id

    def sensor_url(self, device: str) -> str:
        return f"/villages/{self.key}/sensors/{device}"


@dataclass(frozen=True)
class Sensor:
    iri: str
    device: str
    label: str
    lat: float | None
    lon: float | None
    village: Village | None = None
    """The neighbour the sensor comes from; None for this village's own sensors."""
    own: bool = True
    """This village's sensor (its IRI lies under the node's base URL)."""

    @property
    def url(self) -> str | None:
        """The sensor's page on this node; None when no page of ours can show it."""
        if self.village is not None:
            return self.village.sensor_url(self.device)
        return f"/sensors/{self.device}" if self.own else None


def local_name(iri: str) -> str:
    return iri.rstrip("/").replace("#", "/").rsplit("/", 1)[-1]


def unit_symbol(iri: str | None) -> str:
    if not iri:
        return ""
    return UNIT_SYMBOLS.get(local_name(iri), local_name(iri))


def graphs_of(scope: Scope) -> list[ox.NamedNode]:
    """The named graphs a caller may see, as the store's query wants them."""
    return [ox.NamedNode(g) for g in sorted(scope.visible) if g]


def select(
    node: Node, scope: Scope, query: str, **bindings: ox.NamedNode | ox.Literal
) -> list[dict[str, Any]]:
    """Run a SELECT over the graphs `scope` lets the caller see; keyword arguments bind
    variables.

    Bindings go in as a VALUES block (pyoxigraph's substitutions only reach projected
    variables), written from RDF terms, never from raw text.
    """
    graphs = graphs_of(scope)
    if not graphs:
        return []
    if bindings:
        variables = " ".join(f"?{name}" for name in bindings)
        values = " ".join(str(term) for term in bindings.values())
        query = query.replace("WHERE {", f"WHERE {{ VALUES ({variables}) {{ ({values}) }}", 1)
    solutions = node.store.query(PREFIXES + query, default_graph=graphs)
    names = [variable.value for variable in solutions.variables]
    rows = []
    for solution in solutions:
        rows.append(
            {name: solution[name].value if solution[name] is not None else None for name in names}
        )
    return rows


def device_of(node: Node, sensor_iri: str) -> str:
    prefix = f"{node.base_url}/sensors/"
    return (
        sensor_iri.removeprefix(prefix) if sensor_iri.startswith(prefix) else local_name(sensor_iri)
    )


def villages(node: Node) -> list[Village]:
    """The neighbours whose pooled datasets this node holds, named as the trust list names
    them (else as their catalog's publisher, else by host)."""
    from sqlmodel import Session, select

    from allmende.node.federation.models import PooledDataset, TrustedPeer

    found: dict[str, Village] = {}
    with Session(node.engine) as session:
        names = {row.id: row.name for row in session.exec(select(TrustedPeer)) if row.name}
        for pooled in session.exec(select(PooledDataset)):
            base = pooled.base.rstrip("/")
            if base in found:
                continue
            document = json.loads(pooled.document)
            publisher = document.get("publisher")
            name = (
                names.get(pooled.origin)
                or (publisher.get("name") if isinstance(publisher, dict) else None)
                or urlsplit(base).netloc
                or pooled.origin
            )
            found[base] = Village(pooled.origin, base, str(name))
    return sorted(found.values(), key=lambda village: (village.name, village.base))


def village_of(known: list[Village], sensor_iri: str) -> Village | None:
    return next((v for v in known if sensor_iri.startswith(v.base + "/sensors/")), None)


def pooled_dataset(node: Node, village: Village, dataset_id: str) -> dict[str, Any] | None:
    """A neighbour's dataset description as its newest catalog event gave it."""
    from sqlmodel import Session

    from allmende.node.federation.models import PooledDataset

    with Session(node.engine) as session:
        row = session.get(PooledDataset, (village.id, dataset_id))
        if row is None or row.base.rstrip("/") != village.base:
            return None
        return dict(json.loads(row.document))


def sensors(node: Node, scope: Scope) -> list[Sensor]:
    """Every sensor the caller may see: this village's and its neighbours' (pooled)."""
    known = villages(node)
    own_prefix = f"{node.base_url}/sensors/"
    rows = select(
        node,
        scope,
        """SELECT ?sensor (SAMPLE(?name) AS ?label) (SAMPLE(COALESCE(?slat, ?plat)) AS ?lat)
                  (SAMPLE(COALESCE(?slon, ?plon)) AS ?lon) WHERE {
             ?sensor a sosa:Sensor .
             OPTIONAL { ?sensor rdfs:label ?name }
             OPTIONAL { ?sensor geo:lat ?slat ; geo:long ?slon }
             OPTIONAL { ?platform sosa:hosts ?sensor ; geo:lat ?plat ; geo:long ?plon }
           } GROUP BY ?sensor ORDER BY ?sensor""",
    )
    found = []
    for row in rows:
        iri = row["sensor"]
        village = None if iri.startswith(own_prefix) else village_of(known, iri)
        device = iri.removeprefix(village.base + "/sensors/") if village else device_of(node, iri)
        found.append(
            Sensor(
                iri=iri,
                device=device,
                label=row["label"] or device,
                lat=float(row["lat"]) if row["lat"] is not None else None,
                lon=float(row["lon"]) if row["lon"] is not None else None,
                village=village,
                own=iri.startswith(own_prefix),
            )
        )
    return found


def latest_readings(node: Node, scope: Scope, sensor: str | None = None) -> list[Reading]:
    """Newest value per sensor and property."""
    bindings = {"sensor": ox.NamedNode(sensor)} if sensor else {}
    rows = select(
        node,
        scope,
        """SELECT ?sensor ?property ?time (SAMPLE(?v) AS ?value) (SAMPLE(?u) AS ?unit) WHERE {
             { SELECT ?sensor ?property (MAX(?t) AS ?time) WHERE {
                 ?o sosa:madeBySensor ?sensor ; sosa:observedProperty ?property ; sosa:resultTime ?t .
               } GROUP BY ?sensor ?property }
             ?obs sosa:madeBySensor ?sensor ; sosa:observedProperty ?property ;
                  sosa:resultTime ?time ; sosa:hasSimpleResult ?v .
             OPTIONAL { ?obs sosa:hasResult/qudt:unit ?u }
           } GROUP BY ?sensor ?property ?time ORDER BY ?sensor ?property""",
        **bindings,
    )
    return [
        Reading(
            sensor=row["sensor"],
            device=device_of(node, row["sensor"]),
            property=row["property"],
            value=row["value"],
            unit=unit_symbol(row["unit"]),
            time=row["time"],
        )
        for row in rows
    ]


def sensor_dataset(node: Node, scope: Scope, sensor: str) -> str | None:
    """The dataset a sensor feeds: the id of the (visible) data graph its observations are in."""
    prefix = f"{node.base_url}/graphs/datasets/"
    solutions = node.store.query(
        PREFIXES
        + f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?o sosa:madeBySensor {ox.NamedNode(sensor)} }} }} LIMIT 5"
    )
    for solution in solutions:
        graph = solution["g"].value
        if graph.startswith(prefix) and scope.allows(graph):
            return str(graph.removeprefix(prefix))
    return None


def sensor_graph_dataset(node: Node, scope: Scope, sensor: str) -> str | None:
    """The data-graph prefix (`{base}/graphs/datasets/{id}`) of the visible dataset a sensor
    belongs to, whoever published it."""
    solutions = node.store.query(
        PREFIXES
        + "SELECT DISTINCT ?g WHERE { GRAPH ?g { "
        + f"{{ {ox.NamedNode(sensor)} a sosa:Sensor }} UNION "
        + f"{{ ?o sosa:madeBySensor {ox.NamedNode(sensor)} }} }} }} LIMIT 20"
    )
    for solution in solutions:
        graph = solution["g"].value
        prefix = dataset_of_graph(graph)
        if prefix is not None and prefix in scope.datasets and scope.allows(graph):
            return prefix
    return None


def series(node: Node, scope: Scope, sensor: str, since: str, limit: int = 10000) -> dict[str, Any]:
    """A sensor's readings since `since` (xsd:dateTime), shaped like the observations API's
    answer, so the page's chart draws them the same way; for pooled sensors, whose readings
    this node holds but whose origin serves the API."""
    rows = select(
        node,
        scope,
        f"""SELECT ?property ?time ?value ?unit WHERE {{
             ?o sosa:madeBySensor ?sensor ; sosa:observedProperty ?property ;
                sosa:resultTime ?time ; sosa:hasSimpleResult ?value .
             OPTIONAL {{ ?o sosa:hasResult/qudt:unit ?unit }}
             FILTER(?time >= ?since)
           }} ORDER BY ?time LIMIT {int(limit)}""",
        sensor=ox.NamedNode(sensor),
        since=ox.Literal(since, datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")),
    )
    by_property: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = by_property.setdefault(
            row["property"],
            {
                "property": row["property"],
                "label": {
                    language: labels.observable_property(texts(language), row["property"])
                    for language in LANGUAGES
                },
                "points": [],
            },
        )
        if row["unit"] and "unit" not in entry:
            entry["unit"] = row["unit"]
        entry["points"].append({"time": row["time"], "value": row["value"]})
    return {"series": list(by_property.values())}


def recent_readings(node: Node, scope: Scope, sensor: str, limit: int = 50) -> list[Reading]:
    rows = select(
        node,
        scope,
        f"""SELECT ?property ?time ?value ?unit WHERE {{
             ?o sosa:madeBySensor ?sensor ; sosa:observedProperty ?property ;
                sosa:resultTime ?time ; sosa:hasSimpleResult ?value .
             OPTIONAL {{ ?o sosa:hasResult/qudt:unit ?unit }}
           }} ORDER BY DESC(?time) LIMIT {int(limit)}""",
        sensor=ox.NamedNode(sensor),
    )
    return [
        Reading(
            sensor,
            device_of(node, sensor),
            r["property"],
            r["value"],
            unit_symbol(r["unit"]),
            r["time"],
        )
        for r in rows
    ]


def datasets(node: Node, scope: Scope, language: str) -> list[dict[str, Any]]:
    return select(
        node,
        scope,
        """SELECT ?dataset (SAMPLE(?t) AS ?title) (SAMPLE(?l) AS ?license) WHERE {
             ?dataset a dcat:Dataset ; dct:title ?t .
             OPTIONAL { ?dataset dct:license ?l }
             FILTER(LANG(?t) = ?lang || LANG(?t) = "")
           } GROUP BY ?dataset ORDER BY ?title""",
        lang=ox.Literal(language),
    )


def property_labels(node: Node, language: str) -> dict[str, str]:
    """Observable property IRI -> its name in `language`, from the registered device profiles."""
    import json

    from sqlmodel import Session, select

    from allmende.node.ingest.models import Device

    names: dict[str, str] = {}
    with Session(node.engine) as session:
        for profile in session.exec(select(Device.profile)):
            for spec in json.loads(profile).get("fields", {}).values():
                label = spec.get("label", {})
                if label:
                    names[spec["observableProperty"]] = label.get(language) or label.get("de", "")
    return names
