"""Errors about a peer never show addresses the caller did not give: a trusted peer that
answers SERVICE with a redirect or an error page leaks neither its target nor its body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from allmende.node.config import Peer
from allmende.node.http.app import create_app
from allmende.node.http.upstream import withhold_addresses
from tests.support import make_node

HIDDEN = "10.9.8.7"
TARGET = f"http://{HIDDEN}:8443/internal/export?token=s3cr3t"


@pytest.fixture
async def upstream() -> AsyncIterator[TestServer]:
    """A trusted peer that redirects its SPARQL endpoint, or fails with an internal page."""

    async def redirect(_request: web.Request) -> web.Response:
        raise web.HTTPFound(TARGET)

    async def failing(_request: web.Request) -> web.Response:
        return web.Response(status=500, text=f"stack trace from {HIDDEN}, see {TARGET}")

    app = web.Application()
    app.router.add_route("*", "/sparql", redirect)
    app.router.add_route("*", "/failing/sparql", failing)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.mark.parametrize("path", ["sparql", "failing/sparql"])
async def test_service_errors_withhold_upstream_addresses(
    tmp_path: Path, aiohttp_client: Any, upstream: TestServer, path: str
) -> None:
    node = make_node(tmp_path / "node")
    peer = f"http://127.0.0.1:{upstream.port}"
    node.settings.trust.peers.append(Peer(id="https://bredstedt.example/", base_url=peer))
    client = await aiohttp_client(create_app(node, close_node=True))
    service = f"{peer}/{path}"
    response = await client.post(
        "/sparql",
        data={"query": f"SELECT * WHERE {{ SERVICE <{service}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "application/sparql-results+json"},
    )
    body = await response.text()
    assert 400 <= response.status < 500, body
    assert upstream.handler.requests_count >= 1, "the peer was really asked"
    assert HIDDEN not in body and "s3cr3t" not in body, body
    assert "stack trace" not in body


def test_peer_addresses_are_named_by_node_id() -> None:
    peers = {"http://127.0.0.1:8702": "https://bredstedt.example/"}
    text = "fetching http://127.0.0.1:8702/federation/events?after=3 failed; went to " + TARGET
    shown = withhold_addresses(text, peers=peers)
    assert shown.startswith("fetching peer https://bredstedt.example/ failed")
    assert HIDDEN not in shown and "8702" not in shown
