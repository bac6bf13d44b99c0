"""Routes every node has: health, metrics, keys, API description."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from allmende.node import db, kafka
from allmende.node.events import quarantine
from allmende.node.http import openapi
from allmende.node.http.openapi import describe
from allmende.node.runtime import Node

if TYPE_CHECKING:
    from allmende.node.federation.feed import FeedFollower

KAFKA_CHECK_TTL = 5.0


@describe(
    "Liveness and readiness of the database, the RDF store and Kafka (if configured), and "
    "whether each peer's feed advances",
    tags=["operations"],
    responses={
        "200": {
            "description": "ready, or degraded: a peer's feed is stuck (`checks.peers` says "
            "why) or events whose projection failed are set aside (`checks.projections` "
            "counts them per projection), while this node itself serves"
        },
        "503": {"description": "not ready"},
    },
)
async def health(request: web.Request) -> web.Response:
    """A neighbour's stuck feed degrades the answer but keeps it 200: a load balancer must
    not take this node out of service for what a peer does."""
    node: Node = request.app["node"]
    checks: dict[str, Any] = {
        "database": await _check(asyncio.to_thread(db.ping, node.engine)),
        "store": await _check(asyncio.to_thread(node.store.query, "ASK { ?s ?p ?o }")),
        "kafka": await _kafka_check(request.app),
    }
    ready = all(value in {"ok", "not configured"} for value in checks.values())
    feeds: FeedFollower | None = request.app.get("federation_feeds")
    peers = feeds.health() if feeds is not None else {}
    if peers:
        checks["peers"] = peers
    degraded = any(value.startswith("degraded") for value in peers.values())
    if node.leadership is not None:  # several serve processes: which one leads
        checks["projector"] = "leading" if node.leading else "following"
    if node.replica is not None:  # a read replica: how far behind the log it is
        checks["projector"] = "replica"
        checks["replica"] = node.replica.status()
    aside = await _quarantined(node)
    if aside:
        checks["projections"] = aside
        degraded = True
    status = "not ready" if not ready else "degraded" if degraded else "ready"
    body = {"status": status, "live": True, "checks": checks}
    return web.json_response(body, status=200 if ready else 503)


async def _quarantined(node: Node) -> dict[str, str]:
    """Per projection, how many events the store does not show because projecting them
    failed (counts only: no event content on a public route)."""
    try:
        found = await asyncio.to_thread(quarantine.counts, node.engine)
    except Exception:
        return {}  # the database check above says it fails
    return {
        name: f"degraded: {count} event{'s' if count != 1 else ''} quarantined"
        for name, count in sorted(found.items())
    }


async def _check(work: Any) -> str:
    try:
        await work
    except Exception as exc:
        return f"failing: {type(exc).__name__}"
    return "ok"


async def _kafka_check(app: web.Application) -> str:
    node: Node = app["node"]
    if not node.settings.kafka.bootstrap_servers:
        return "not configured"
    cache: dict[str, tuple[float, str]] = app["kafka_check"]
    cached = cache.get("last")
    if cached and time.monotonic() - cached[0] < KAFKA_CHECK_TTL:
        return cached[1]
    result = await _check(kafka.ping(kafka.client_options(node.settings.kafka)))
    cache["last"] = (time.monotonic(), result)
    return result


@describe("Prometheus metrics in the text exposition format", tags=["operations"])
async def metrics(request: web.Request) -> web.Response:
    payload = await asyncio.to_thread(generate_latest, request.app["metrics"].registry)
    return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})


@describe("The node's public signing keys (JWKS, OKP/Ed25519)", tags=["trust"])
async def jwks(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    return web.json_response(
        node.jwks(),
        content_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )


@describe("This API, described as OpenAPI 3.1", tags=["operations"])
async def openapi_document(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    document = openapi.build(request.app, f"Allmende node {node.settings.node.name}", "1")
    document["servers"] = [{"url": node.base_url}]
    return web.json_response(document)


def setup(app: web.Application) -> None:
    app["kafka_check"] = {}
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/.well-known/jwks.json", jwks)
    app.router.add_get("/openapi.json", openapi_document)
