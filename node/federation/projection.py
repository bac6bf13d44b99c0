"""Peers' events into the RDF store: each peer's data in the peer's own named graphs.

The graphs are the ones the origin uses (its catalog graph, its dataset's data graph), so
a query that spans villages names each reading's origin by its graph, and every pooled
event is described with PROV-O: who made it, when, and the signature that proves it. The
inbox has checked that those graphs lie in the peer's namespace; a peer's event that a
handler still fails on is quarantined like any other (node/events/quarantine.py), so no
peer can stop this node's projection, and the operator sees it and can retry it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyoxigraph as ox

from allmende.node.catalog.projection import PUBLISHED, RETRACTED, UPDATED, graph_of
from allmende.node.catalog.rdf import dataset_iri, dataset_triples, to_quads
from allmende.node.events.log import SignedEvent
from allmende.node.events.projector import Projector
from allmende.node.ingest.graphs import data_graph
from allmende.node.ingest.projection import RECORDED
from allmende.node.ingest.registry import MAPPED, REGISTERED, REMOVED
from allmende.node.store.base import QuadStore
from allmende.vocab.namespaces import ALLMENDE, PROV, RDF, SOSA, XSD

_OBSERVATION_TYPE = f" <{RDF.type}> <{SOSA.Observation}> .\n"


def event_iri(event: dict[str, Any]) -> str:
    return f"urn:uuid:{event['id']}"


def provenance(signed: SignedEvent, graph: str) -> list[ox.Quad]:
    """The pooled event as a prov:Entity attributed to its origin, with its proof."""
    event = signed.event
    g = ox.NamedNode(graph)
    subject = ox.NamedNode(event_iri(event))
    quads = [
        ox.Quad(subject, ox.NamedNode(RDF.type), ox.NamedNode(PROV.Entity), g),
        ox.Quad(subject, ox.NamedNode(PROV.wasAttributedTo), ox.NamedNode(event["source"]), g),
        ox.Quad(
            subject,
            ox.NamedNode(PROV.generatedAtTime),
            ox.Literal(event["time"], datatype=ox.NamedNode(XSD.dateTime)),
            g,
        ),
        ox.Quad(subject, ox.NamedNode(ALLMENDE.eventType), ox.Literal(event["type"]), g),
    ]
    if signed.signature is not None:
        quads.append(
            ox.Quad(subject, ox.NamedNode(ALLMENDE.signature), ox.Literal(signed.signature), g)
        )
    if signed.batch is not None:
        for predicate, value in (
            (ALLMENDE.batch, ox.Literal(signed.batch.id)),
            (
                ALLMENDE.batchIndex,
                ox.Literal(str(signed.batch.index), datatype=ox.NamedNode(XSD.integer)),
            ),
            (ALLMENDE.signature, ox.Literal(signed.batch.signature)),
        ):
            quads.append(ox.Quad(subject, ox.NamedNode(predicate), value, g))
    return quads


def observation_subjects(content: str) -> list[str]:
    """The subject of each `a sosa:Observation` line of N-Triples text.

    Finding the type statement and stepping back to its line's start is several times
    faster than splitting megabytes of text into lines."""
    text = content if content.endswith("\n") else content + "\n"
    subjects = []
    at = text.find(_OBSERVATION_TYPE)
    while at >= 0:
        subjects.append(text[text.rfind("\n", 0, at) + 1 : at])
        at = text.find(_OBSERVATION_TYPE, at + len(_OBSERVATION_TYPE))
    return subjects


def _derived_from(content: str, event: dict[str, Any]) -> str:
    """`prov:wasDerivedFrom` from each observation to the signed event that carried it."""
    target = f" <{PROV.wasDerivedFrom}> <{event_iri(event)}> .\n"
    return "".join(subject + target for subject in observation_subjects(content))


def _catalog(store: QuadStore, run: list[SignedEvent]) -> None:
    for signed in run:
        data = signed.event["data"]
        graph = graph_of(data)
        quads = to_quads(dataset_triples(data, complete=False), graph)
        quads.append(
            ox.Quad(
                ox.NamedNode(dataset_iri(str(data["base"]).rstrip("/"), data["id"])),
                ox.NamedNode(PROV.wasAttributedTo),
                ox.NamedNode(signed.event["source"]),
                ox.NamedNode(graph),
            )
        )
        store.drop_graph(graph)
        store.add_quads(quads + provenance(signed, graph))


def _retracted(store: QuadStore, run: list[SignedEvent]) -> None:
    """The dataset leaves the pool: its description and every reading of it."""
    graphs = store.graphs()
    for signed in run:
        data = signed.event["data"]
        pooled = data_graph(str(data["base"]).rstrip("/"), data["id"])
        store.drop_graph(graph_of(data))
        for graph in graphs:
            if graph == pooled or graph.startswith(pooled + "/"):
                store.drop_graph(graph)


def _observations(store: QuadStore, run: list[SignedEvent]) -> None:
    """One load per graph for the whole run, provenance included."""
    contents: dict[str, list[str]] = {}
    for signed in run:
        data = signed.event["data"]
        parts = contents.setdefault(data["graph"], [])
        parts.append(data["content"])
        parts.append(_derived_from(data["content"], signed.event))
        triples = [
            ox.Triple(q.subject, q.predicate, q.object) for q in provenance(signed, data["graph"])
        ]
        parts.append((ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode())
    for graph, parts in contents.items():
        store.load("\n".join(parts).encode(), ox.RdfFormat.N_TRIPLES, graph, bulk=True)


def _sensor(store: QuadStore, run: list[SignedEvent]) -> None:
    for signed in run:
        data = signed.event["data"]
        store.replace_graph(data["graph"], data["content"].encode(), ox.RdfFormat.N_TRIPLES)
        store.add_quads(provenance(signed, data["graph"]))


def _sensor_removed(store: QuadStore, run: list[SignedEvent]) -> None:
    for signed in run:
        store.drop_graph(signed.event["data"]["graph"])


HANDLERS: dict[str, Callable[[QuadStore, list[SignedEvent]], None]] = {
    PUBLISHED: _catalog,
    UPDATED: _catalog,
    RETRACTED: _retracted,
    RECORDED: _observations,
    REGISTERED: _sensor,
    MAPPED: _sensor,
    REMOVED: _sensor_removed,
}


def install(projector: Projector) -> None:
    for event_type, handler in HANDLERS.items():
        projector.register_foreign(event_type, handler)
