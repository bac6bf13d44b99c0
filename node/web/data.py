"""What the portal shows, read from the RDF store with SPARQL.

The portal reads the same linked data that partners and researchers get, so a page can never
show what the data does not say. Every read names the graphs the caller may see, as
`node.access.scope` decided for the request: a restricted dataset's readings, sensor names
and places stay off the pages unless the request carries a valid agreement token, exactly as
in SPARQL and the JSON API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from node.access import Scope
from node.runtime import Node

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
class Sensor:
    iri: str
    device: str
    label: str
    lat: float | None
    lon: float | None


def local_name(iri: str) -> str:
    return iri.rstrip("/").replace("#", "/").rsplit("/", 1)[-1]


def property_label(iri: str) -> str:
    name = local_name(iri)
    spaced = "".join(" " + c.lower() if c.isupper() else c for c in name).replace("_", " ")
    return spaced.strip().capitalize()


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


def sensors(node: Node, scope: Scope) -> list[Sensor]:
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
    return [
        Sensor(
            iri=row["sensor"],
            device=device_of(node, row["sensor"]),
            label=row["label"] or device_of(node, row["sensor"]),
            lat=float(row["lat"]) if row["lat"] is not None else None,
            lon=float(row["lon"]) if row["lon"] is not None else None,
        )
        for row in rows
    ]


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

    from node.ingest.models import Device

    names: dict[str, str] = {}
    with Session(node.engine) as session:
        for profile in session.exec(select(Device.profile)):
            for spec in json.loads(profile).get("fields", {}).values():
                label = spec.get("label", {})
                if label:
                    names[spec["observableProperty"]] = label.get(language) or label.get("de", "")
    return names


def shown_value(value: str, language: str) -> str:
    """Booleans as words people read; everything else as it is."""
    words = {"true": ("ja", "yes"), "false": ("nein", "no")}
    if value in words:
        return words[value][0 if language == "de" else 1]
    return value
