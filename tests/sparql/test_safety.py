"""Safe to leave open: no SSRF through SERVICE, a time limit that really stops work,
result and rate limits."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from allmende.node.config import Peer
from allmende.node.http.app import create_app
from allmende.node.sparql.analysis import QueryRefused, allowed_service, analyse
from tests.sparql.conftest import Client, put_graph, select, until
from tests.support import admin_headers, make_node

pytestmark = [pytest.mark.stores("embedded", "oxigraph"), pytest.mark.usefixtures("store_backend")]

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def listener() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    return server


def connection_attempted(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


@pytest.mark.parametrize(
    "service",
    [
        "<http://127.0.0.1:{port}/sparql>",
        "SILENT <http://127.0.0.1:{port}/sparql>",
        "<http://127.0.0.1:9/sparql>",
        "<http://169.254.169.254/>",
        "<http://[::1]:{port}/>",
        "?endpoint",
        "m:",
    ],
)
async def test_service_to_anything_but_a_trusted_peer_is_refused_before_connecting(
    sparql_node: Client, service: str
) -> None:
    _node, client = await sparql_node()
    server = listener()
    port = server.getsockname()[1]
    pool = client.server.app["sparql_pool"]
    workers = pool.pids()
    query = (
        f"PREFIX m: <http://127.0.0.1:{port}/>\n"
        f"SELECT * WHERE {{ VALUES ?endpoint {{ <http://127.0.0.1:{port}/> }} "
        f"service {service.format(port=port)} {{ ?s ?p ?o }} }}"
    )
    response = await client.get("/sparql", params={"query": query})
    assert response.status == 403, await response.text()
    assert "trusted peer" in (await response.json())["detail"]
    assert not connection_attempted(server)
    assert pool.pids() == workers, "no worker ran (and so none was replaced)"
    server.close()


def test_the_lexer_sees_through_comments_strings_and_prefixes() -> None:
    hidden = analyse('SELECT * { ?s ?p "SERVICE <http://x/>" } # SERVICE <http://y/>')
    assert hidden.services == ()
    named = analyse("PREFIX e: <http://169.254.169.254/> SELECT * { SERVICE e:x { ?s ?p ?o } }")
    assert named.services == ("http://169.254.169.254/x",)
    based = analyse("BASE <http://10.0.0.1/> SELECT * { SERVICE <sparql> { ?s ?p ?o } }")
    assert based.services == ("http://10.0.0.1/sparql",)
    escaped = analyse("SELECT * { SERVICE <http://\\u0031.2.3.4/> { ?s ?p ?o } }")
    assert escaped.services == (None,), "an IRI the lexer cannot read is refused"
    with pytest.raises(QueryRefused):
        analyse("INSERT DATA { <a> <b> <c> }")
    assert not allowed_service("https://peer.example.evil/", ["https://peer.example"])
    assert allowed_service("https://peer.example/sparql", ["https://peer.example"])


async def test_service_towards_a_trusted_peer_spans_villages(
    sparql_node: Client, tmp_path: Path
) -> None:
    peer = make_node(tmp_path / "peer", name="Bredstedt", node_id="https://bredstedt.example/")
    server = TestServer(create_app(peer, close_node=True), host="127.0.0.1")
    await server.start_server()
    try:
        peer_client_node, client = await sparql_node()
        await put_graph(
            client,
            peer_client_node,
            "http://example.org/here",
            '<http://example.org/teich> <http://example.org/level> "1.2" .',
        )
        headers = {**admin_headers(peer), "Content-Type": "text/turtle"}
        async with aiohttp.ClientSession() as session:
            put = await session.put(
                f"http://127.0.0.1:{server.port}/rdf-graphs",
                params={"graph": "http://example.org/there"},
                data=b'<http://example.org/teich> <http://example.org/level> "3.4" .',
                headers=headers,
            )
            assert put.status == 201
        peer_url = f"http://127.0.0.1:{server.port}"
        peer_client_node.settings.trust.peers.append(
            Peer(id="https://bredstedt.example/", base_url=peer_url)
        )
        rows = await select(
            client,
            "SELECT ?level WHERE { { ?t <http://example.org/level> ?level } UNION "
            f"{{ SERVICE <{peer_url}/sparql> {{ ?t <http://example.org/level> ?level }} }} }}"
            " ORDER BY ?level",
        )
        assert [row["level"] for row in rows] == ["1.2", "3.4"]
    finally:
        await server.close()


async def load_numbers(client: Any, node: Any, count: int) -> None:
    lines = "\n".join(
        f"<http://example.org/n{i}> <http://example.org/v> {i} ." for i in range(count)
    )
    await put_graph(client, node, "http://example.org/numbers", lines)


@pytest.mark.stores("embedded")  # the worker processes' deadline (a remote store: its own)
async def test_a_runaway_query_is_stopped_at_the_limit_and_the_node_keeps_answering(
    sparql_node: Client,
) -> None:
    node, client = await sparql_node(query_timeout=5, workers=2)
    await load_numbers(client, node, 300)
    pool = client.server.app["sparql_pool"]
    loop = asyncio.get_running_loop()
    started = loop.time()
    slow = asyncio.create_task(client.get("/sparql", params={"query": SLOW}))
    await until(lambda: len(pool.running) == 1)  # other requests arrive while it runs
    health = await client.get("/health")
    assert health.status == 200
    lookup = "SELECT ?v { <http://example.org/n7> <http://example.org/v> ?v }"
    assert await select(client, lookup) == [{"v": "7"}]
    assert not slow.done(), "answered while the slow query ran"
    before = set(pool.pids())
    assert len(before) == 2
    response = await slow
    elapsed = loop.time() - started
    assert response.status == 503, await response.text()
    assert response.content_type == "application/problem+json"
    assert "did not finish within 5 s" in (await response.json())["detail"]
    assert elapsed >= 5  # stopped at the limit, not before it (the 503 says it was stopped)
    killed = before - set(pool.pids())
    assert len(killed) == 1
    for pid in killed:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert await select(client, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == [{"n": "300"}]


async def test_results_over_the_size_limit_are_refused(sparql_node: Client) -> None:
    node, client = await sparql_node(max_result_bytes=4096)
    await load_numbers(client, node, 500)
    response = await client.get(
        "/sparql",
        params={"query": "SELECT * { ?s ?p ?o }"},
        headers={"Accept": "text/csv"},
    )
    assert response.status == 413
    assert "4096 bytes" in (await response.json())["detail"]
    small = await client.get(
        "/sparql",
        params={"query": "SELECT * { ?s ?p ?o } LIMIT 3"},
        headers={"Accept": "text/csv"},
    )
    assert small.status == 200


async def test_small_answers_come_whole_and_large_ones_stream_complete(
    sparql_node: Client,
) -> None:
    node, client = await sparql_node()
    await load_numbers(client, node, 15000)
    query = "SELECT ?v { ?s ?p ?v } ORDER BY ?v"
    small = await client.get("/sparql", params={"query": query + " LIMIT 3"})
    assert small.status == 200 and small.headers["Content-Length"]
    large = await client.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    assert large.status == 200 and "Content-Length" not in large.headers
    lines = (await large.text()).splitlines()
    assert len(lines) == 15001 and lines[1:] == [str(i) for i in range(15000)]


async def test_a_client_that_asks_too_often_is_slowed_down(sparql_node: Client) -> None:
    _node, client = await sparql_node(rate_per_second=0.5, rate_burst=3)
    statuses = []
    for _ in range(5):
        response = await client.get("/sparql", params={"query": "ASK {}"})
        statuses.append(response.status)
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    assert int(response.headers["Retry-After"]) >= 1
