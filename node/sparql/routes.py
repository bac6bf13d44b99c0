"""The SPARQL room's routes: the SPARQL 1.1 Protocol at /sparql and the Graph Store
Protocol at /rdf-graphs, and the pool of query workers behind them."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from allmende.node.catalog.files import files_directory
from allmende.node.runtime import Node
from allmende.node.sparql import endpoint, graph_store
from allmende.node.sparql.inline import Inline
from allmende.node.sparql.pool import PoolMetrics, QueryPool, lanes
from allmende.node.sparql.ratelimit import RateLimiter
from allmende.node.sparql.remote_pool import RemotePool
from allmende.node.sparql.replica import Replica, ReplicaSpec
from allmende.node.sparql.scope import sparql_scope
from allmende.node.store.oxigraph import OxigraphStore
from allmende.node.store.remote import RemoteStore


async def _workers(app: web.Application) -> AsyncIterator[None]:
    yield
    await app["sparql_pool"].stop()
    inline: Inline | None = app.get("sparql_inline")
    if inline is not None:
        inline.close()


def setup(app: web.Application) -> None:
    node: Node = app["node"]
    limits = node.settings.sparql
    pool: QueryPool | RemotePool
    if isinstance(node.store, RemoteStore):  # the remote store answers; no workers here
        pool = RemotePool(node.store.url, node.store.auth, limits.workers)
    else:
        store_path = getattr(node.store, "path", None)
        if not isinstance(node.store, OxigraphStore) or store_path is None:
            raise RuntimeError("the SPARQL endpoint needs an on-disk store (store.path)")
        replica = ReplicaSpec(
            node.settings.database_url,
            node.id,
            limits.memory_quads,
            str(files_directory(node.settings.directory)),
        )
        pool = QueryPool(str(store_path), limits.workers, replica, lanes(limits))
        copy = Replica.start(str(store_path), replica) if replica.max_quads else None
        app["sparql_inline"] = Inline(node.store.raw, copy=copy)
    app["sparql_pool"] = pool
    app["metrics"].registry.register(PoolMetrics(pool))
    app["sparql_rate"] = RateLimiter.from_settings(limits)
    app.setdefault("sparql_scope", sparql_scope)
    app.cleanup_ctx.append(_workers)
    app.router.add_get("/sparql", endpoint.sparql_get)
    app.router.add_post("/sparql", endpoint.sparql_post)
    app.router.add_get("/rdf-graphs", graph_store.read_graph)
    app.router.add_put("/rdf-graphs", graph_store.put_graph)
    app.router.add_post("/rdf-graphs", graph_store.post_graph)
    app.router.add_delete("/rdf-graphs", graph_store.delete_graph)


__all__ = ["setup"]
