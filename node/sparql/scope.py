"""Which named graphs a caller may see: decided per request, in one replaceable place.

The hook is `app["sparql_scope"]`, an async function `(request) -> Scope`. The default
rule: every graph is public except the data graphs of datasets that are not open data
(or not published); the node's system graph is never visible. The usage room wraps it
with a rule that also opens restricted graphs to holders of a valid agreement token.
Both the SPARQL endpoint and the Graph Store Protocol ask the same hook.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlmodel import Session, select

from node.catalog.access import is_open
from node.catalog.models import PUBLISHED, CatalogDataset
from node.ingest.graphs import data_graph
from node.runtime import Node
from node.store.base import CHECKPOINT


@dataclass(frozen=True)
class Scope:
    visible: frozenset[str]
    """Named graphs the caller may read."""
    everything: bool = False
    """Nothing is hidden but the node's bookkeeping, which holds no triples: queries may
    then use the engine's own union of all graphs, many times faster than a graph list."""

    def allows(self, graph: str) -> bool:
        """ "" is the store's default graph: public, like everything an admin loads there."""
        return graph == "" or graph in self.visible


ScopeRule = Callable[[web.Request], Awaitable[Scope]]


def restricted_prefixes(node: Node) -> list[str]:
    """Data graph prefixes of datasets that are not open data or not published."""
    columns = (
        CatalogDataset.id,
        CatalogDataset.status,
        CatalogDataset.license,
        CatalogDataset.access_rights,
    )
    with Session(node.engine) as session:
        rows = session.exec(select(*columns)).all()
    return [
        data_graph(node.base_url, dataset_id)
        for dataset_id, status, license, access_rights in rows
        if status != PUBLISHED or not is_open({"license": license, "access_rights": access_rights})
    ]


def hidden_by(prefixes: list[str], graph: str) -> bool:
    return any(graph == prefix or graph.startswith(prefix + "/") for prefix in prefixes)


async def public_scope(request: web.Request) -> Scope:
    """Recomputed only when the store has projected new events: visibility changes (a
    dataset published, restricted or retracted) reach the store as events, too."""
    node: Node = request.app["node"]
    generation = node.store.get_meta(CHECKPOINT)
    cache: dict[str | None, Scope] = request.app.get("sparql_scope_cache", {})
    if generation in cache:
        return cache[generation]

    def decide() -> Scope:
        prefixes = restricted_prefixes(node)
        graphs = node.store.graphs()
        visible = frozenset(g for g in graphs if not hidden_by(prefixes, g))
        return Scope(visible, everything=len(visible) == len(graphs))

    scope = await asyncio.to_thread(decide)
    cache.clear()
    cache[generation] = scope
    return scope
