"""Bulk import of an RDF file into the store, through the event log.

Loaded triples travel as `graph.extended` events of at most CHUNK triples each, so that
`allmende reindex` reproduces the load and peers could follow it; the projector applies
them with Oxigraph's native loader. One transaction per batch of events keeps memory flat
however large the file is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from allmende.node.runtime import Node
from allmende.node.sparql.graph_store import managed

CHUNK = 50_000
BUFFERED = 4 * CHUNK
EVENTS_PER_COMMIT = 8


@dataclass
class Loaded:
    triples: int = 0
    events: int = 0
    graphs: int = 0


def _chunks(
    path: Path, fmt: ox.RdfFormat, graph: str | None
) -> Iterator[tuple[str, list[ox.Triple]]]:
    """(target graph, triples) runs of at most CHUNK triples; triples of one graph keep
    their file order, whatever graphs the file interleaves."""
    buffers: dict[str, list[ox.Triple]] = {}
    held = 0
    for quad in ox.parse(path=path, format=fmt, base_iri=path.resolve().as_uri()):
        name = quad.graph_name
        if graph is not None:
            target = graph
        else:
            target = "" if isinstance(name, ox.DefaultGraph) else str(name.value)
        triples = buffers.setdefault(target, [])
        triples.append(ox.Triple(quad.subject, quad.predicate, quad.object))
        held += 1
        if len(triples) >= CHUNK or held >= BUFFERED:
            fullest = (
                target if len(triples) >= CHUNK else max(buffers, key=lambda g: len(buffers[g]))
            )
            held -= len(buffers[fullest])
            yield fullest, buffers.pop(fullest)
    yield from buffers.items()


def check(node: Node, path: Path, graph: str | None, fmt: ox.RdfFormat) -> None:
    """The whole file must parse and target no managed graph before anything is written."""
    for target, _triples in _chunks(path, fmt, graph):
        if managed(node, target):
            raise ValueError(f"{target} is managed by the node; load into another graph")


def load_file(node: Node, path: Path, graph: str | None, fmt: ox.RdfFormat) -> Loaded:
    check(node, path, graph, fmt)
    loaded = Loaded()
    graphs: set[str] = set()
    pending: list[dict[str, object]] = []
    for target, triples in _chunks(path, fmt, graph):
        content = (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode()
        data = {"graph": target, "format": "application/n-triples", "content": content}
        pending.append(node.event("graph.extended", data, subject=target or "default"))
        loaded.triples += len(triples)
        graphs.add(target)
        if len(pending) >= EVENTS_PER_COMMIT:
            node.commit(pending)
            loaded.events += len(pending)
            pending = []
    if pending:
        node.commit(pending)
        loaded.events += len(pending)
    loaded.graphs = len(graphs)
    return loaded
