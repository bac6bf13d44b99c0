"""Observations as plain JSON time series, for the web UI and people who do not speak SPARQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from allmende.node.ingest.graphs import data_graph
from allmende.node.runtime import Node

MAX_POINTS = 10_000
QUERY = """
PREFIX sosa: <http://www.w3.org/ns/sosa/>
PREFIX qudt: <http://qudt.org/schema/qudt/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
SELECT ?property ?time ?value ?unit WHERE {
  ?o sosa:madeBySensor <%(sensor)s> ; sosa:observedProperty ?property ;
     sosa:resultTime ?time ; sosa:hasSimpleResult ?value .
  OPTIONAL { ?o sosa:hasResult/qudt:unit ?unit }
  FILTER(?time >= "%(start)s"^^xsd:dateTime && ?time <= "%(end)s"^^xsd:dateTime)
} ORDER BY ?time LIMIT %(limit)d
"""


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def labels(node: Node, device: str) -> dict[str, dict[str, str]]:
    """Property IRI -> its label per language, from the device's profile."""
    from sqlmodel import Session

    from allmende.node.ingest.models import Device

    with Session(node.engine) as session:
        row = session.get(Device, device)
    if row is None:
        return {}
    fields = json.loads(row.profile).get("fields", {})
    return {spec["observableProperty"]: spec.get("label", {}) for spec in fields.values()}


def series(
    node: Node, dataset_id: str, device: str, start: datetime, end: datetime, limit: int
) -> dict[str, Any]:
    sensor = f"{node.base_url}/sensors/{quote(device, safe='')}"
    # Every value put into the query text is built here: a percent-encoded IRI, parsed times.
    query = QUERY % {
        "sensor": sensor,
        "start": _time(start),
        "end": _time(end),
        "limit": min(limit, MAX_POINTS),
    }
    solutions = node.store.query(
        query, default_graph=[ox.NamedNode(data_graph(node.base_url, dataset_id))]
    )
    names = labels(node, device)
    by_property: dict[str, dict[str, Any]] = {}
    for solution in solutions:
        prop = solution["property"].value
        entry = by_property.setdefault(
            prop,
            {
                "property": prop,
                "label": names.get(prop, {}),
                "unit": solution["unit"].value if solution["unit"] else None,
                "points": [],
            },
        )
        value = solution["value"]
        entry["points"].append({"time": solution["time"].value, "value": _native(value)})
    return {"dataset": dataset_id, "sensor": sensor, "series": list(by_property.values())}


def _native(value: ox.Literal) -> Any:
    kind = value.datatype.value.rsplit("#", 1)[-1]
    if kind in {"decimal", "double", "float"}:
        return float(value.value)
    if kind in {"integer", "int", "long"}:
        return int(value.value)
    if kind == "boolean":
        return value.value == "true"
    return value.value
