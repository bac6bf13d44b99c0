"""Catalog events into the RDF store: one named graph per dataset, dropped on retraction.

Handlers read only the event, so `reindex` and a restart after a crash rebuild exactly the
same graphs; re-running a handler replaces the graph with the same quads (idempotent).
"""

from __future__ import annotations

from typing import Any

from allmende.node.catalog.rdf import catalog_graph_iri, dataset_triples, to_quads
from allmende.node.events.projector import Projector
from allmende.node.store.base import QuadStore

PUBLISHED = "de.allmende.dataset.published"
UPDATED = "de.allmende.dataset.updated"
RETRACTED = "de.allmende.dataset.retracted"
EVENT_TYPES = (PUBLISHED, UPDATED, RETRACTED)


def graph_of(data: dict[str, Any]) -> str:
    return catalog_graph_iri(str(data["base"]).rstrip("/"), str(data["id"]))


def project_description(store: QuadStore, event: dict[str, Any]) -> None:
    """A published or updated dataset: its graph now holds exactly this description."""
    data = event["data"]
    graph = graph_of(data)
    quads = to_quads(dataset_triples(data, complete=False), graph)
    store.drop_graph(graph)
    store.add_quads(quads)


def project_retraction(store: QuadStore, event: dict[str, Any]) -> None:
    store.drop_graph(graph_of(event["data"]))


def install(projector: Projector) -> None:
    projector.register(PUBLISHED, project_description)
    projector.register(UPDATED, project_description)
    projector.register(RETRACTED, project_retraction)
