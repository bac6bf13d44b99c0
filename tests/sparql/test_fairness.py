"""Fair SPARQL: lookups never wait behind heavy queries, each client has a cap on heavy
ones, a full waiting line says when to come back, and a query that runs out of time (or
whose caller left) has its worker process stopped."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_runner import BaseRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from allmende.node.auth import mint_token
from allmende.node.http.app import create_app
from allmende.node.keys import NodeKey
from allmende.node.runtime import Node
from allmende.node.sparql.analysis import analyse
from allmende.node.sparql.pool import QueryPool
from tests.sparql.conftest import Client, until
from tests.sparql.test_safety import SLOW, load_numbers
from tests.support import make_node

LOOKUP = "SELECT ?v { <http://example.org/n7> <http://example.org/v> ?v }"
COUNT = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
JSON = {"Accept": "application/sparql-results+json"}

Started = tuple[Node, TestClient, list[str]]


class Served(TestServer):
    """Served as `allmende serve` serves it (aiohttp's default): a handler runs on after
    its client has gone, unlike under aiohttp's test server, which cancels it."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        kwargs["handler_cancellation"] = False
        return await super()._make_runner(**kwargs)


@pytest.fixture
def fair_node(tmp_path: Path, aiohttp_client: Any) -> Callable[..., Awaitable[Started]]:
    """A node whose queries are counted as they reach the pool's door: `arrived` grows
    once a query's scope is decided, after which it goes to its lane without pausing."""

    async def start(**sparql: Any) -> Started:
        environ = {f"ALLMENDE_SPARQL_{k.upper()}": str(v) for k, v in sparql.items()}
        node = make_node(tmp_path / "node", environ=environ)
        app = create_app(node, close_node=True)
        arrived: list[str] = []
        rule = app["sparql_scope"]

        async def counted(request: web.Request) -> Any:
            scope = await rule(request)
            if request.path == "/sparql":
                arrived.append(request.query.get("query", ""))
            return scope

        app["sparql_scope"] = counted
        client = await aiohttp_client(Served(app, host="127.0.0.1"))
        await load_numbers(client, node, 300)
        return node, client, arrived

    return start


async def ask(client: TestClient, query: str, headers: dict[str, str] | None = None) -> Any:
    response = await client.get(
        "/sparql", params={"query": query}, headers={**JSON, **(headers or {})}
    )
    await response.read()
    return response


def token(node: Node, subject: str) -> dict[str, str]:
    minted = mint_token(node.key, node.id, role="participant", subject=subject)
    return {"Authorization": f"Bearer {minted}"}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def stop(pool: QueryPool, tasks: list[asyncio.Task[Any]]) -> None:
    """End the runaway queries a test started: their workers, then their requests."""
    await pool.stop()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_the_cost_estimate_tells_lookups_from_heavy_queries() -> None:
    assert analyse(LOOKUP).heavy == ()
    assert analyse("ASK { ?s ?p ?o }").heavy == ()
    assert analyse("SELECT * { ?s <http://e/p> ?o } ORDER BY ?o LIMIT 10").heavy == ()
    assert analyse("DESCRIBE <http://e/x>").heavy == ()
    assert "aggregate" in analyse(SLOW).heavy
    assert analyse("SELECT ?o { <http://e/a> <http://e/p> ?o } ORDER BY ?o").heavy == (
        "ORDER BY without LIMIT",
    )
    assert analyse("SELECT ?o { <http://e/a> (<http://e/p>/<http://e/q>)+ ?o }").heavy == (
        "unbounded property path (* or +)",
    )
    assert analyse("SELECT ?o { ?s <http://e/p> ?o }").heavy == (
        "no constant to start from and no LIMIT",
    )
    many = " . ".join(f"?x{i} <http://e/p> ?x{i + 1}" for i in range(12))
    assert analyse(f"SELECT * {{ <http://e/a> <http://e/p> ?x0 . {many} }}").heavy == (
        "13 triple patterns",
    )
    # arithmetic, strings and comments are no paths or constants
    assert (
        analyse(
            'SELECT ?o { <http://e/a> <http://e/p> ?o FILTER((?o - 1) * (?o + 2) > 0 || ?o = "*") }'
        ).heavy
        == ()
    )


async def test_a_lookup_answers_while_heavy_queries_fill_their_lane(
    fair_node: Callable[..., Awaitable[Started]],
) -> None:
    _node, client, arrived = await fair_node(
        workers=3, light_workers=1, heavy_per_client=3, queue=4, query_timeout=60
    )
    pool: QueryPool = client.app["sparql_pool"]
    heavy = [asyncio.create_task(ask(client, SLOW)) for _ in range(3)]
    try:
        await until(lambda: len(arrived) == 3 and len(pool.pids()) >= 2)
        lookup = asyncio.create_task(ask(client, LOOKUP))
        done, _ = await asyncio.wait([lookup, *heavy], timeout=20, return_when="FIRST_COMPLETED")
        assert done == {lookup}, "the lookup was answered while the heavy queries ran"
        response = lookup.result()
        assert response.status == 200
        assert (await response.json())["results"]["bindings"][0]["v"]["value"] == "7"
        assert len(pool.running_pids(heavy=True)) == 2, "two heavy queries held their lane"
        assert pool.waiting_count(heavy=True) == 1, "the third waited for it"
        base = os.getpriority(os.PRIO_PROCESS, 0)
        niceness = sorted(os.getpriority(os.PRIO_PROCESS, pid) - base for pid in pool.pids())
        assert niceness == [0, 10, 10], "the heavy lane's workers yield the CPU to lookups"
    finally:
        await stop(pool, heavy)


async def test_a_client_over_its_heavy_cap_is_told_to_wait_while_others_get_in(
    fair_node: Callable[..., Awaitable[Started]],
) -> None:
    node, client, arrived = await fair_node(
        workers=4, light_workers=1, heavy_per_client=1, query_timeout=60
    )
    pool: QueryPool = client.app["sparql_pool"]
    alice, bob = token(node, "alice"), token(node, "bob")
    first = asyncio.create_task(ask(client, SLOW, alice))
    anonymous = asyncio.create_task(ask(client, SLOW))
    try:
        await until(lambda: len(arrived) == 2 and len(pool.pids()) == 2)
        over = await ask(client, COUNT, alice)
        assert over.status == 429, await over.text()
        assert over.content_type == "application/problem+json"
        assert int(over.headers["Retry-After"]) >= 1
        problem = await over.json()
        assert "1 heavy query running or waiting" in problem["detail"]
        assert "aggregate" in problem["detail"], "the caller learns why the query is heavy"
        other = await ask(client, COUNT, bob)
        assert other.status == 200, await other.text()
        assert (await other.json())["results"]["bindings"][0]["n"]["value"] == "300"
        # a token the node did not sign is no identity: it counts as the address, whose
        # heavy query is running
        stranger = NodeKey(Ed25519PrivateKey.generate())
        minted = mint_token(stranger, node.id, role="participant", subject="mallory")
        forged = await ask(client, COUNT, {"Authorization": f"Bearer {minted}"})
        assert forged.status == 429, await forged.text()
        assert not first.done() and not anonymous.done(), "the first two still run"
    finally:
        await stop(pool, [first, anonymous])


async def test_a_full_queue_answers_503_with_retry_after(
    fair_node: Callable[..., Awaitable[Started]],
) -> None:
    _node, client, arrived = await fair_node(
        workers=2, light_workers=1, heavy_per_client=5, queue=1, query_timeout=60
    )
    pool: QueryPool = client.app["sparql_pool"]
    running = asyncio.create_task(ask(client, SLOW))
    await until(lambda: len(arrived) == 1 and len(pool.pids()) == 1)
    waiting = asyncio.create_task(ask(client, SLOW))
    try:
        await until(lambda: len(arrived) == 2)
        refused = asyncio.create_task(ask(client, COUNT))
        done, _ = await asyncio.wait(
            [refused, running, waiting], timeout=20, return_when="FIRST_COMPLETED"
        )
        assert done == {refused}, "the third heavy query was answered at once"
        response = refused.result()
        assert response.status == 503, await response.text()
        assert response.content_type == "application/problem+json"
        assert int(response.headers["Retry-After"]) >= 1
        assert "1 heavy queries are waiting" in (await response.json())["detail"]
        lookup = await ask(client, LOOKUP)
        assert lookup.status == 200, "lookups have their own lane and line"
        assert pool.waiting_count(heavy=True) == 1
        metrics = await (await client.get("/metrics")).text()
        assert 'allmende_sparql_refused_total{reason="queue"} 1.0' in metrics
        assert 'allmende_sparql_lane_queries{lane="heavy",state="waiting"} 1.0' in metrics
    finally:
        await stop(pool, [running, waiting])


async def test_a_lookup_that_runs_long_counts_as_heavy(
    fair_node: Callable[..., Awaitable[Started]],
) -> None:
    _node, client, _arrived = await fair_node(
        workers=3, light_workers=1, heavy_per_client=1, light_seconds=0.3, query_timeout=60
    )
    pool: QueryPool = client.app["sparql_pool"]
    # a constant predicate and a LIMIT: it looks bounded, but no three rows pass the filter
    sly = (
        "SELECT * { ?a <http://example.org/v> ?b . ?c <http://example.org/v> ?d . "
        "?e <http://example.org/v> ?f FILTER(?b + ?d + ?f < 0) } LIMIT 1"
    )
    assert analyse(sly).heavy == ()
    running = asyncio.create_task(ask(client, sly))
    try:
        await until(lambda: len(pool.running_pids(heavy=True)) == 1)
        assert pool.heavy_by_client == {"address:127.0.0.1": 1}
        refused = await ask(client, COUNT)
        assert refused.status == 429, "it counts against its client's cap on heavy queries"
        assert (await ask(client, LOOKUP)).status == 200
    finally:
        await stop(pool, [running])


async def test_a_query_out_of_time_has_its_worker_stopped_and_its_places_freed(
    fair_node: Callable[..., Awaitable[Started]],
) -> None:
    _node, client, arrived = await fair_node(
        workers=2, light_workers=1, heavy_per_client=1, query_timeout=3
    )
    pool: QueryPool = client.app["sparql_pool"]
    assert (await ask(client, LOOKUP)).status == 200
    [light] = pool.pids()
    slow = asyncio.create_task(ask(client, SLOW))
    await until(lambda: len(arrived) == 2 and len(pool.pids()) == 2)
    [runner] = set(pool.pids()) - {light}
    response = await slow
    assert response.status == 503
    assert "did not finish within 3 s and was stopped" in (await response.json())["detail"]
    assert not alive(runner), "the process that ran it is gone, and with it its CPU use"
    assert pool.pids() == [light], "the lookups' worker was left alone"
    assert pool.running_pids(heavy=True) == [] and pool.heavy_by_client == {}
    lookup = await ask(client, LOOKUP)
    assert lookup.status == 200
    after = await ask(client, COUNT)  # the client's cap and the heavy lane are free again
    assert after.status == 200, await after.text()


async def test_a_query_whose_caller_left_has_its_worker_stopped(
    fair_node: Callable[..., Awaitable[Started]],
) -> None:
    _node, client, arrived = await fair_node(workers=2, light_workers=1, query_timeout=60)
    pool: QueryPool = client.app["sparql_pool"]
    _reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    path = client.make_url("/sparql").with_query({"query": SLOW}).raw_path_qs
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    await until(lambda: len(arrived) == 1 and len(pool.pids()) == 1)
    [abandoned] = pool.pids()
    writer.close()
    await writer.wait_closed()
    await until(lambda: not alive(abandoned) and not pool.heavy_by_client, seconds=10)
    after = await ask(client, COUNT)
    assert after.status == 200, await after.text()


async def test_a_query_running_while_the_node_stops_gets_503_not_an_error(
    sparql_node: Client,
) -> None:
    """Stopping the pool closes the pipe a running query waits on: that is a 503, not a 500."""
    node, client = await sparql_node(query_timeout=30, workers=1)
    await load_numbers(client, node, 300)
    pool = client.server.app["sparql_pool"]
    slow = asyncio.create_task(client.get("/sparql", params={"query": SLOW}))
    await until(lambda: len(pool.running_pids(heavy=True)) == 1)
    await pool.stop()
    response = await slow
    assert response.status == 503, await response.text()
    assert "stopping" in (await response.json())["detail"]
