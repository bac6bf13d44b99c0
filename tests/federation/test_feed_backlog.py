"""A peer reads a large backlog of another's feed page by page (pages over a megabyte), and
/health tells when a peer's feed is stuck."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import Session

from allmende.node.catalog import service
from allmende.node.events import jsontext
from allmende.node.federation.feed import FAILURES_BEFORE_DEGRADED
from allmende.node.federation.trust import add_peer, checked_peer
from allmende.node.federation.wire import pack
from allmende.node.http.app import create_app
from allmende.node.ingest.graphs import data_graph
from allmende.node.ingest.projection import RECORDED
from allmende.node.keys import generate_key
from allmende.node.runtime import Node
from tests.federation.villages import OBSERVATION, eventually
from tests.ingest.conftest import dataset_body
from tests.services.ports import free_port
from tests.support import make_node

DATASET = "pegel"
EVENTS, READINGS = 260, 110
"""Events in the provider's backlog, readings (two triples each) in every event."""
TRICKLE = 0.01
PAGE = 60
"""Events per feed page: with ~20 KB an event, a page is over a megabyte."""


def _node(root: Path, name: str, environ: dict[str, str]) -> Node:
    port = free_port()
    return make_node(
        root / name.lower(),
        name=name,
        node_id=f"https://{name.lower()}.example/",
        port=port,
        environ=environ,
    )


def trust(node: Node, peer_id: str, name: str, base_url: str, jwk: dict[str, Any]) -> None:
    body = {"id": peer_id, "name": name, "base_url": base_url, "jwk": jwk}
    add_peer(node.engine, checked_peer(body, node.id))


@pytest.fixture
async def serving() -> AsyncIterator[Any]:
    runners: list[web.AppRunner] = []

    async def serve(node: Node, port: int | None = None) -> web.Application:
        """Serve `node` on the port of its base URL, or on `port` (behind a relay)."""
        runner = web.AppRunner(create_app(node))
        await runner.setup()
        port = port or int(node.base_url.rsplit(":", 1)[1])
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return runner.app

    yield serve
    for runner in reversed(runners):
        await runner.cleanup()


def backlog(node: Node, events: int = EVENTS, readings: int = READINGS) -> int:
    """Observation events of an open dataset, written straight into the log."""
    graph = data_graph(node.base_url, DATASET)
    with Session(node.engine) as session:
        for n in range(events):
            lines = []
            for r in range(readings):
                subject = f"<{graph}/observations/{n}-{r}>"
                lines.append(
                    f"{subject} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{OBSERVATION}> ."
                )
                lines.append(
                    f'{subject} <http://www.w3.org/ns/sosa/hasSimpleResult> "{n * r} cm (Pegel am Dorfteich, Messstelle {r})" .'
                )
            content = "\n".join(lines) + "\n"
            data = {
                "dataset": DATASET,
                "graph": graph,
                "format": "application/n-triples",
                "content": content,
                "count": readings,
                "source": "backlog",
            }
            node.log.append(session, [node.event(RECORDED, data, subject=DATASET)])
        session.commit()
    return events * readings


def readings_in(node: Node, graph: str) -> int:
    query = f"SELECT (COUNT(?o) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?o a <{OBSERVATION}> }} }}"
    return int(next(iter(node.store.query(query)))["n"].value)


async def health(session: aiohttp.ClientSession, node: Node) -> tuple[int, dict[str, Any]]:
    async with session.get(f"{node.base_url}/health") as response:
        return response.status, await response.json()


async def test_a_peer_catches_up_through_a_5_mb_backlog_page_by_page(
    tmp_path: Path, serving: Any
) -> None:
    environ = {"ALLMENDE_FEDERATION_PAGE_SIZE": str(PAGE), "ALLMENDE_FEDERATION_FEED_WAIT": "2"}
    provider = _node(tmp_path, "Bredstedt", environ)
    consumer = _node(tmp_path, "Lütjenholm", environ)
    trust(consumer, provider.id, "Bredstedt", provider.base_url, provider.key.jwk())
    await service.create(provider, dataset_body(DATASET))
    expected = backlog(provider)
    await serving(provider)

    async with aiohttp.ClientSession() as session:
        pages, after, head = [], 0, 1
        while after < head:  # the feed as the consumer will see it
            url = f"{provider.base_url}/federation/events"
            async with session.get(url, params={"after": after}) as response:
                pages.append(len(await response.read()))
                page = jsontext.loads(await response.read())
            after, head = page["next"], page["head"]
        feed_bytes = sum(pages)
        assert len(pages) >= 4 and min(pages[:-1]) > 1024 * 1024, pages
        assert feed_bytes > 5 * 1024 * 1024

        started = time.monotonic()
        await serving(consumer)
        graph = data_graph(provider.base_url, DATASET)

        async def caught_up() -> bool:
            await consumer.projected()
            return readings_in(consumer, graph) == expected

        await eventually(caught_up, timeout=120, what="the whole backlog at the consumer")
        took = time.monotonic() - started
        print(f"caught up through {len(pages)} pages, {feed_bytes / 1e6:.1f} MB, in {took:.1f} s")
        status, body = await health(session, consumer)
        assert status == 200 and body["status"] == "ready"
        assert body["checks"]["peers"] == {provider.id: "ok"}


async def test_a_peer_reads_a_trickled_feed_and_jwks(tmp_path: Path, serving: Any) -> None:
    """Every answer of the provider (feed pages, its JWKS) reaches the consumer through a
    relay that sends it as HTTP chunks of 16 bytes, 10 ms apart."""
    environ = {"ALLMENDE_FEDERATION_PAGE_SIZE": "1", "ALLMENDE_FEDERATION_FEED_WAIT": "1"}
    provider = _node(tmp_path, "Bredstedt", environ)  # its base URL is the relay's
    consumer = _node(tmp_path, "Lütjenholm", environ)
    body = {"id": provider.id, "name": "Bredstedt", "base_url": provider.base_url}
    body["jwks_url"] = f"{provider.base_url}/.well-known/jwks.json"
    add_peer(consumer.engine, checked_peer(body, consumer.id))
    await service.create(provider, dataset_body(DATASET))
    expected = backlog(provider, events=3, readings=2)
    behind = free_port()
    await serving(provider, behind)
    served: list[tuple[str, int]] = []

    async def relay(request: web.Request) -> web.StreamResponse:
        async with upstream.get(f"http://127.0.0.1:{behind}{request.path_qs}") as answer:
            payload, status, kind = await answer.read(), answer.status, answer.content_type
        served.append((request.path, len(payload)))
        response = web.StreamResponse(status=status, headers={"Content-Type": kind})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(payload), 16):
            await response.write(payload[start : start + 16])
            await asyncio.sleep(TRICKLE)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", relay)
    relay_runner = web.AppRunner(app)
    async with aiohttp.ClientSession() as upstream:
        await relay_runner.setup()
        await web.TCPSite(
            relay_runner, "127.0.0.1", int(provider.base_url.rsplit(":", 1)[1])
        ).start()
        try:
            await serving(consumer)
            graph = data_graph(provider.base_url, DATASET)

            async def caught_up() -> bool:
                await consumer.projected()
                return readings_in(consumer, graph) == expected

            await eventually(caught_up, timeout=60, what="the trickled feed at the consumer")
        finally:
            await relay_runner.cleanup()
    pages = [size for path, size in served if path == "/federation/events"]
    assert len(pages) >= 3 and max(pages) > 1000  # every page took ~1 s to arrive
    assert "/.well-known/jwks.json" in {path for path, _ in served}


async def test_health_is_degraded_while_a_peer_feed_keeps_failing(
    tmp_path: Path, serving: Any
) -> None:
    """The peer says it has 450 events, lets this node read to 120, then fails every poll."""
    port = free_port()
    peer_id, peer_url = "https://bredstedt.example/", f"http://127.0.0.1:{port}"
    polls: list[int] = []

    async def feed(request: web.Request) -> web.Response:
        after = int(request.query.get("after", "0"))
        polls.append(after)
        if after == 0:
            return web.json_response(pack([], node=peer_id, next=120, head=450))
        return web.Response(status=502, text="upstream gone")

    app = web.Application()
    app.router.add_get("/federation/events", feed)
    peer = web.AppRunner(app)
    await peer.setup()
    await web.TCPSite(peer, "127.0.0.1", port).start()
    try:
        node = _node(tmp_path, "Lütjenholm", {"ALLMENDE_FEDERATION_RETRY_INTERVAL": "0.1"})
        key = generate_key(tmp_path / "bredstedt.pem")
        trust(node, peer_id, "Bredstedt", peer_url, key.jwk())
        await serving(node)
        async with aiohttp.ClientSession() as session:
            await eventually(
                lambda: polls.count(120) >= FAILURES_BEFORE_DEGRADED, what="failing polls"
            )

            async def degraded() -> dict[str, Any] | None:
                status, body = await health(session, node)
                return body if status == 200 and body["status"] == "degraded" else None

            body = await eventually(degraded, timeout=10, what="/health degraded")
        assert body["checks"]["database"] == "ok" and body["live"] is True
        reason = body["checks"]["peers"][peer_id]
        assert reason == (
            "degraded: feed stuck at event 120 while the peer has 450; "
            "last error: the peer answered 502 Bad Gateway"
        )
        assert peer_url not in str(body)
    finally:
        await peer.cleanup()
