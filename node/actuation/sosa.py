"""The public record of switchings: SOSA actuations, and energy per month.

Each switching that reached a controller is one `sosa:Actuation` (made by the controller
as `sosa:Actuator`, acting on `allmende:streetLighting` of the segment, result "on", with
its duration and energy) in the dataset `DATASET`, written as the same event type as
observations, so it is projected, reindexed, listed in the catalog and pooled with
neighbours (if open) like any sensor data. It names no person.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyoxigraph as ox

from allmende.node.actuation.models import Controller, Segment, Switching
from allmende.node.ingest.graphs import data_graph, to_ntriples
from allmende.node.ingest.projection import RECORDED

DATASET = "strassenbeleuchtung-schaltungen"
SOSA = "http://www.w3.org/ns/sosa/"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
ALLMENDE = "https://w3id.org/allmende/ns#"
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")

__all__ = ["DATASET", "RECORDED", "actuation_event_data", "actuator_event_data", "monthly"]

DATASET_BODY: dict[str, Any] = {
    "id": DATASET,
    "title": {
        "de": "Straßenbeleuchtung nach Bedarf: Schaltungen",
        "en": "Street lights on demand: switchings",
    },
    "description": {
        "de": "Jede Schaltung der Straßenbeleuchtung auf Knopfdruck als SOSA-Aktuation "
        "(Abschnitt, Steuergerät, Dauer, Energie), ohne Angaben zu Personen.",
        "en": "Every on-demand switching of the street lights as a SOSA actuation "
        "(segment, controller, duration, energy), without any personal data.",
    },
    "license": "dl-de/zero-2-0",
    "frequency": "CONT",
    "themes": ["ENER"],
    "contact": {"email": "daten@gemeinde.example"},
}


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def actuator_iri(base: str, controller: str) -> str:
    return f"{base}/actuators/{controller}"


def segment_iri(base: str, segment: str) -> str:
    return f"{base}/segments/{segment}"


def actuation_quads(base: str, row: Switching, controller: str) -> list[ox.Quad]:
    assert row.on_from is not None
    subject = _n(f"{base}/actuations/{row.id}")
    energy = round(row.watts * row.seconds / 3600, 3)
    start = row.on_from.astimezone(UTC).isoformat().replace("+00:00", "Z")
    triples: list[tuple[ox.NamedNode, ox.NamedNode | ox.Literal]] = [
        (RDF_TYPE, _n(SOSA + "Actuation")),
        (_n(SOSA + "madeByActuator"), _n(actuator_iri(base, controller))),
        (_n(SOSA + "actsOnProperty"), _n(ALLMENDE + "streetLighting")),
        (_n(SOSA + "hasFeatureOfInterest"), _n(segment_iri(base, row.segment_id))),
        (_n(SOSA + "hasSimpleResult"), ox.Literal("on")),
        (_n(SOSA + "resultTime"), ox.Literal(start, datatype=_n(XSD + "dateTime"))),
        (_n(ALLMENDE + "duration"), ox.Literal(f"PT{row.seconds}S", datatype=_n(XSD + "duration"))),
        (_n(ALLMENDE + "energy"), ox.Literal(str(energy), datatype=_n(XSD + "decimal"))),
    ]
    return [ox.Quad(subject, p, o) for p, o in triples]


def actuation_event_data(base: str, row: Switching, controller: str) -> dict[str, Any]:
    return {
        "base": base,
        "dataset": DATASET,
        "graph": data_graph(base, DATASET),
        "content": to_ntriples(actuation_quads(base, row, controller)),
    }


def actuator_event_data(
    base: str, controller: Controller, segments: Iterable[Segment]
) -> dict[str, Any]:
    """The controller as sosa:Actuator and what it acts on (no network secrets)."""
    actuator = _n(actuator_iri(base, controller.id))
    quads = [
        ox.Quad(actuator, RDF_TYPE, _n(SOSA + "Actuator")),
        ox.Quad(actuator, _n(SOSA + "forProperty"), _n(ALLMENDE + "streetLighting")),
        ox.Quad(actuator, RDFS_LABEL, ox.Literal(controller.label or controller.id)),
    ]
    for segment in segments:
        feature = _n(segment_iri(base, segment.id))
        quads += [
            ox.Quad(feature, RDFS_LABEL, ox.Literal(segment.name)),
            ox.Quad(feature, _n(SOSA + "hasProperty"), _n(ALLMENDE + "streetLighting")),
        ]
    return {
        "base": base,
        "dataset": DATASET,
        "graph": data_graph(base, DATASET),
        "content": to_ntriples(quads),
    }


def _dark_seconds(segment: Segment, day: date) -> float:
    """Seconds of the segment's on-demand window in the night that begins on `day`."""
    zone = ZoneInfo(segment.timezone)
    start_t, end_t = time.fromisoformat(segment.dark_from), time.fromisoformat(segment.dark_until)
    start_day = day if start_t >= time(12) else day + timedelta(days=1)
    start = datetime.combine(start_day, start_t, zone)
    end_day = start_day if end_t > start_t else start_day + timedelta(days=1)
    end = datetime.combine(end_day, end_t, zone)
    return (end - start).total_seconds()


def monthly(segments: list[Segment], rows: list[Switching]) -> list[dict[str, Any]]:
    """Per month: energy used on demand vs. keeping the same lamps on all night long."""
    months: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.on_from is None:
            continue
        month = row.night[:7]
        entry = months.setdefault(month, {"month": month, "switchings": 0, "on_demand_wh": 0.0})
        entry["switchings"] += 1
        entry["on_demand_wh"] += row.watts * row.seconds / 3600
    for month, entry in months.items():
        year, number = int(month[:4]), int(month[5:7])
        days = calendar.monthrange(year, number)[1]
        all_night = 0.0
        for segment in segments:
            for day in range(1, days + 1):
                seconds = _dark_seconds(segment, date(year, number, day))
                all_night += segment.watts * segment.lamps * seconds / 3600
        entry["all_night_wh"] = round(all_night, 1)
        entry["on_demand_wh"] = round(entry["on_demand_wh"], 1)
        entry["saved_wh"] = round(all_night - entry["on_demand_wh"], 1)
    return [months[m] for m in sorted(months)]
