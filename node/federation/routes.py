"""HTTP side of the federation and the background work that comes and goes with the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from aiohttp import web
from prometheus_client.core import CounterMetricFamily
from sqlmodel import Session, func, select

from allmende.node.events import EventLog
from allmende.node.federation import catalog
from allmende.node.federation.feed import CommitSignal, FeedFollower, events
from allmende.node.federation.inbox import Inbox
from allmende.node.federation.kafka_transport import KafkaFollower, KafkaRelay, ensure_topics
from allmende.node.federation.models import Position
from allmende.node.federation.trust import (
    Peer,
    TrustError,
    TrustList,
    add_peer,
    checked_peer,
    remove_peer,
)
from allmende.node.http.forms import read_json
from allmende.node.http.openapi import component, describe, json_request
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.logs import Repeated, retry_counts
from allmende.node.messages import say
from allmende.node.models import EventRecord
from allmende.node.runtime import Node

PEER_SYNC_INTERVAL = 5.0
LEAD_CHECK = 0.5
"""Seconds between looks at whether this process leads (and so relays)."""
log = logging.getLogger(__name__)


def transport(node: Node) -> str:
    chosen = node.settings.federation.transport
    if chosen == "auto":
        return "kafka" if node.settings.kafka.bootstrap_servers else "feed"
    return chosen


async def relay_while_leading(node: Node, relay: KafkaRelay) -> None:
    """Several serve processes on one database: only the leading one relays, so each event
    goes out once; another takes over (from the stored position) when it stops leading."""
    while True:
        while not node.leading:
            await asyncio.sleep(LEAD_CHECK)
        task = asyncio.create_task(relay.run(), name="federation relay")
        try:
            while node.leading and not task.done():
                await asyncio.sleep(LEAD_CHECK)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await task
                except Exception:
                    log.exception("the Kafka relay stopped; started again while leading")


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    node: Node = app["node"]
    signal = CommitSignal()
    app["federation_signal"] = signal
    node.commit_listeners.append(signal.notify)
    tasks: list[asyncio.Task[Any]] = []
    if transport(node) == "kafka":
        relay, follower = KafkaRelay(node, signal), KafkaFollower(node, app["federation_inbox"])
        app["federation_kafka"] = (relay, follower)

        async def start_kafka() -> None:
            trouble = Repeated(log, "Kafka topics", counts=retry_counts(node))
            while True:
                try:
                    await ensure_topics(node)
                    trouble.success()
                    break
                except Exception as exc:  # the broker is not there yet; the relay will wait too
                    trouble.failure(str(exc) or type(exc).__name__)
                    await asyncio.sleep(node.settings.federation.retry_interval)
            await asyncio.gather(relay_while_leading(node, relay), follower.run())

        tasks.append(asyncio.create_task(start_kafka(), name="federation kafka"))
    else:
        feeds = FeedFollower(node, app["federation_trust"], app["federation_inbox"])
        app["federation_feeds"] = feeds
        await feeds.start()

        async def keep_peers_in_sync() -> None:
            while True:
                await asyncio.sleep(PEER_SYNC_INTERVAL)
                await feeds.sync_peers()

        tasks.append(asyncio.create_task(keep_peers_in_sync(), name="federation peers"))

    async def shutdown(_app: web.Application) -> None:
        """Before aiohttp waits for open requests: release held feed polls, stop following."""
        if signal.notify in node.commit_listeners:
            node.commit_listeners.remove(signal.notify)
        signal.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if "federation_feeds" in app:
            await app["federation_feeds"].stop()

    app.on_shutdown.append(shutdown)
    yield
    await shutdown(app)


def status(app: web.Application) -> dict[str, Any]:
    node: Node = app["node"]
    inbox: Inbox = app["federation_inbox"]
    trusted = app["federation_trust"].peers()
    with Session(node.engine) as session:
        positions = {row.name: row.seq for row in session.exec(select(Position))}
        last_local = EventLog.last_seq(session, local_only=True)
        last_events = {
            peer.id: session.exec(
                select(func.max(EventRecord.time)).where(EventRecord.source == peer.id)
            ).one()
            for peer in trusted
        }
    peers = []
    feeds: FeedFollower | None = app.get("federation_feeds")
    for peer in trusted:
        counts = {outcome: n for (source, outcome), n in inbox.totals.items() if source == peer.id}
        position = positions.get(f"feed:{peer.id}")
        head = feeds.heads.get(peer.id) if feeds else None
        last_event = last_events[peer.id]
        peers.append(
            {
                **peer.public(),
                "feed_position": position,
                "feed_lag": head - (position or 0) if head is not None else None,
                "last_event": last_event.isoformat() if last_event else None,
                "events": counts,
                "error": feeds.errors.get(peer.id) if feeds else None,
            }
        )
    body: dict[str, Any] = {
        "transport": transport(node),
        "peers": peers,
        "refused_from_unknown": {
            outcome: n for (source, outcome), n in inbox.totals.items() if source == "unknown"
        },
    }
    if "federation_kafka" in app:
        relay, follower = app["federation_kafka"]
        body["kafka"] = {
            "relay_position": positions.get("relay", 0),
            "relay_lag": last_local - positions.get("relay", 0),
            "relayed": relay.sent,
            "received": follower.received,
            "relay_error": relay.error,
            "consumer_error": follower.error,
        }
    return body


@describe(
    "Federation status: transport, peers, events accepted and refused",
    tags=["federation"],
    admin=True,
)
@admin_only
async def admin_status(request: web.Request) -> web.Response:
    return web.json_response(await asyncio.to_thread(status, request.app))


@describe("The trusted peers", tags=["federation"], admin=True)
@admin_only
async def admin_peers(request: web.Request) -> web.Response:
    trust: TrustList = request.app["federation_trust"]
    peers = await asyncio.to_thread(trust.peers)
    return web.json_response({"peers": [peer.public() for peer in peers]})


@describe(
    "Trust a peer: its node id and public key (jwk) or JWKS URL, and where it answers",
    tags=["federation"],
    admin=True,
    request_body=json_request(
        component(
            "Peer",
            {
                **Peer.model_json_schema(),
                "properties": {
                    **Peer.model_json_schema()["properties"],
                    "name": {"type": "string", "maxLength": 200},
                },
            },
        )
    ),
    responses={"201": {"description": "trusted"}, "200": {"description": "updated"}},
)
@admin_only
async def admin_add_peer(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    body = await read_json(request)
    try:
        row = checked_peer(body, node.id)
    except TrustError as exc:
        field = str(exc).split(":", 1)[0]
        raise Problem(
            400, "Bad Request", str(exc), errors=[{"field": field, "message": str(exc)}]
        ) from None
    created = await node.write(lambda: add_peer(node.engine, row))
    if "federation_feeds" in request.app:
        await request.app["federation_feeds"].sync_peers()
    peer = request.app["federation_trust"].get(row.id)
    return web.json_response(
        peer.public() if peer else {"id": row.id}, status=201 if created else 200
    )


@describe(
    "Stop trusting a peer (?id=)",
    tags=["federation"],
    admin=True,
    parameters=[{"name": "id", "in": "query", "required": True, "schema": {"type": "string"}}],
    responses={"204": {"description": "removed"}},
)
@admin_only
async def admin_remove_peer(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    peer_id = request.query.get("id", "")
    if any(peer.id == peer_id for peer in node.settings.trust.peers):
        raise Problem(409, "Conflict", say("this peer is pinned in allmende.toml; remove it there"))
    if not await node.write(lambda: remove_peer(node.engine, peer_id)):
        raise Problem(404, "Not Found", say("no trusted peer '%(peer_id)s'", peer_id=peer_id))
    if "federation_feeds" in request.app:
        await request.app["federation_feeds"].sync_peers()
    return web.Response(status=204)


class InboxMetrics:
    """Prometheus: peer events by outcome (accepted, duplicate, and each reason to refuse)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "allmende_federation_events", "Peer events by outcome", labels=["peer", "outcome"]
        )
        for (peer, outcome), count in sorted(self.inbox.totals.items()):
            family.add_metric([peer, outcome], count)
        yield family


def setup(app: web.Application) -> None:
    node: Node = app["node"]
    trust = TrustList(node)
    app["federation_trust"] = trust
    app["federation_inbox"] = inbox = Inbox(node, trust)
    app["metrics"].registry.register(InboxMetrics(inbox))
    app["federation_search"] = catalog.FederatedSearch()
    app["federation_status"] = status  # the console shows it
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_get("/federation/events", events)
    app.router.add_get("/federation/catalog", catalog.catalog)
    app.router.add_get("/federation/catalog/search", catalog.search)
    app.router.add_get("/region", catalog.region_page)
    app.router.add_get("/admin/federation", admin_status)
    app.router.add_get("/admin/federation/peers", admin_peers)
    app.router.add_post("/admin/federation/peers", admin_add_peer)
    app.router.add_delete("/admin/federation/peers", admin_remove_peer)
