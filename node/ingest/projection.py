"""Projecting ingest events: observations into their dataset's graph, sensors into theirs."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from allmende.node.events.projector import Projector
from allmende.node.ingest.graphs import data_graph
from allmende.node.ingest.registry import MAPPED, REGISTERED, REMOVED
from allmende.node.store.base import QuadStore

RECORDED = "de.allmende.observations.recorded"


def _observations(store: QuadStore, events: list[dict[str, Any]]) -> None:
    """One load per graph for a run of events.

    Loading is idempotent: observation IRIs are stable and there are no blank nodes. The
    text is the node's own, serialised from checked terms by `prepare`, so it is loaded as
    validated.
    """
    contents: dict[str, list[str]] = {}
    for event in events:
        data = event["data"]
        graph = data.get("graph") or data_graph(data["base"], data["dataset"])
        contents.setdefault(graph, []).append(data["content"])
    for graph, parts in contents.items():
        store.load(
            "\n".join(parts).encode(), ox.RdfFormat.N_TRIPLES, graph, bulk=True, validated=True
        )


def _registered(store: QuadStore, event: dict[str, Any]) -> None:
    data = event["data"]
    store.replace_graph(data["graph"], data["content"].encode(), ox.RdfFormat.N_TRIPLES)


def _removed(store: QuadStore, event: dict[str, Any]) -> None:
    store.drop_graph(event["data"]["graph"])


def install(projector: Projector) -> None:
    projector.register_batch(RECORDED, _observations)
    projector.register(REGISTERED, _registered)
    projector.register(MAPPED, _registered)  # the sensor's description with its new mapping
    projector.register(REMOVED, _removed)
