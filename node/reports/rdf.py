"""Reports as linked data: one small graph per report, with terms named after Open311's
fields (service_code -> allmende:serviceCode, status, requested_datetime -> dct:created,
lat/long -> WGS 84), so that the open dataset reads like the GeoReport answers.

The village responsible publishes its reports (its own and those forwarded to it) as
`de.allmende.reports.request.published` events: projected into `{base}/graphs/reports/{id}`
here and, pooled, in every peer's store. Only what the public pages show: masked text,
category, status, place, times, the village responsible, supporters; never the reporter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS

from allmende.node.events.envelope import new_event
from allmende.node.reports.models import ERLEDIGT, Report
from allmende.node.reports.open311 import w3c
from allmende.node.reports.service import aware

ALLMENDE = Namespace("https://w3id.org/allmende/ns#")
GEO = Namespace("http://www.w3.org/2003/01/geo/wgs84_pos#")
PUBLISHED = "de.allmende.reports.request.published"
MAX_CONTENT = 64 * 1024


def graph_of(base: str, report_id: str) -> str:
    return f"{base.rstrip('/')}/graphs/reports/{report_id}"


def triples(base: str, report: Report) -> str:
    """The report as N-Triples (rdflib writes them)."""
    graph = Graph()
    subject = URIRef(f"{base.rstrip('/')}/reports/{report.id}")
    graph.add((subject, RDF.type, ALLMENDE.ServiceRequest))
    graph.add((subject, DCTERMS.identifier, Literal(report.id)))
    graph.add((subject, ALLMENDE.serviceCode, Literal(report.service_code)))
    graph.add((subject, ALLMENDE.serviceName, Literal(report.service_name, lang="de")))
    closed = report.status == ERLEDIGT
    graph.add((subject, ALLMENDE.status, Literal("closed" if closed else "open")))
    graph.add((subject, ALLMENDE.detailedStatus, Literal(report.status)))
    graph.add(
        (subject, DCTERMS.created, Literal(w3c(aware(report.requested)), datatype=XSD.dateTime))
    )
    graph.add(
        (subject, DCTERMS.modified, Literal(w3c(aware(report.updated)), datatype=XSD.dateTime))
    )
    if closed and report.closed is not None:
        graph.add(
            (subject, ALLMENDE.closed, Literal(w3c(aware(report.closed)), datatype=XSD.dateTime))
        )
    if report.description:
        graph.add((subject, DCTERMS.description, Literal(report.description, lang="de")))
    if report.status_notes:
        graph.add((subject, ALLMENDE.statusNotes, Literal(report.status_notes, lang="de")))
    if report.lat is not None and report.long is not None:
        graph.add((subject, GEO.lat, Literal(report.lat, datatype=XSD.double)))
        graph.add((subject, GEO.long, Literal(report.long, datatype=XSD.double)))
    graph.add((subject, ALLMENDE.agencyResponsible, URIRef(report.responsible)))
    graph.add((subject, ALLMENDE.supporters, Literal(report.supporters, datatype=XSD.integer)))
    return graph.serialize(format="nt")


def published(node_id: str, base: str, report: Report) -> dict[str, Any]:
    data = {
        "id": report.id,
        "graph": graph_of(base, report.id),
        "format": "application/n-triples",
        "content": triples(base, report),
    }
    return new_event(node_id, PUBLISHED, data, subject=report.id)


POOLED = """
PREFIX a: <https://w3id.org/allmende/ns#>
PREFIX dct: <http://purl.org/dc/terms/>
SELECT ?name ?created ?closed WHERE {
  GRAPH ?g { ?r a a:ServiceRequest ; a:serviceName ?name ; dct:created ?created .
             OPTIONAL { ?r a:closed ?closed } }
}
"""


def pooled(store: Any) -> list[tuple[str, datetime, datetime | None]]:
    """(category, reported, closed) of every report in the store: this village's and those
    its peers published, the open dataset pooled."""
    rows = []
    for solution in store.query(POOLED):
        closed = solution["closed"]
        rows.append(
            (
                solution["name"].value,
                _time(solution["created"].value),
                _time(closed.value) if closed is not None else None,
            )
        )
    return rows


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
