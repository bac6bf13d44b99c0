"""Which named graphs a caller may see: decided per request, in one replaceable place.

The hook is `app["sparql_scope"]`, an async function `(request) -> Scope`. The default
rule: every graph is public except the data graphs of datasets that are not open data
(or not published); the node's system graph is never visible. The policies room replaces
the hook with one that also opens restricted graphs to holders of a valid agreement token.
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


@dataclass(frozen=True)
class Scope:
    visible: frozenset[str]
    """Named graphs the caller may read."""

    def allows(self, graph: str) -> bool:
        """ "" is the store's default graph: public, like everything an admin loads there."""
        return graph == "" or graph in self.visible


ScopeRule = Callable[[web.Request], Awaitable[Scope]]


def restricted_prefixes(node: Node) -> list[str]:
    """Data graph prefixes of datasets that are not open data or not published."""
    with Session(node.engine) as session:
        rows = session.exec(select(CatalogDataset)).all()
    return [
        data_graph(node.base_url, row.id)
        for row in rows
        if row.status != PUBLISHED
        or not is_open({"license": row.license, "access_rights": row.access_rights})
    ]


def hidden_by(prefixes: list[str], graph: str) -> bool:
    return any(graph == prefix or graph.startswith(prefix + "/") for prefix in prefixes)


async def public_scope(request: web.Request) -> Scope:
    node: Node = request.app["node"]

    def decide() -> Scope:
        prefixes = restricted_prefixes(node)
        return Scope(frozenset(g for g in node.store.graphs() if not hidden_by(prefixes, g)))

    return await asyncio.to_thread(decide)
