"""Queries proven cheap are answered in the node's own process, the rest by workers."""

from __future__ import annotations

import asyncio
import time

import pyoxigraph as ox
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from allmende.node.sparql import replica
from allmende.node.sparql.inline import Inline
from allmende.node.sparql.scope import Scope
from allmende.node.sparql.worker import Job
from tests.sparql.conftest import Client, put_graph, select

G1 = "http://example.org/graphs/one"
G2 = "http://example.org/graphs/two"
DATA1 = '@prefix ex: <http://example.org/> . ex:a ex:label "Dorfteich (Beispiel)" .'
DATA2 = '@prefix ex: <http://example.org/> . ex:b ex:label "Bauhof (Beispiel)" .'
LABELS = "SELECT ?s ?label WHERE { ?s <http://example.org/label> ?label }"


async def answered(client: TestClient) -> dict[str, float]:
    text = await (await client.get("/metrics")).text()
    families = text_string_to_metric_families(text)
    found = [f for f in families if f.name == "allmende_sparql_queries"]
    return {sample.labels["store"]: sample.value for sample in found[0].samples}


async def until_inline(client: TestClient, query: str) -> list[list[str]]:
    """Ask until an answer came from the node's own process; the answers seen."""
    deadline = time.monotonic() + 60
    seen = []
    while (await answered(client)).get("inline", 0) == 0:
        assert time.monotonic() < deadline, "no query was answered inline"
        seen.append(sorted(map(str, await select(client, query))))
        await asyncio.sleep(0.02)
    return seen


async def test_a_cheap_query_on_unchanged_data_is_answered_inline_alike(
    sparql_node: Client,
) -> None:
    node, client = await sparql_node(workers=1)
    await put_graph(client, node, G1, DATA1)
    seen = await until_inline(client, LABELS)
    before = await answered(client)
    assert before["memory"] >= 1, "proven by a worker's in-memory copy first"
    inline = sorted(map(str, await select(client, LABELS)))
    assert (await answered(client))["inline"] == before["inline"] + 1
    assert inline == seen[0], "the same answer as the worker's"

    await put_graph(client, node, G2, DATA2)  # the store changed: proven no longer
    labels = {row["label"] for row in await select(client, LABELS)}
    assert labels == {"Dorfteich (Beispiel)", "Bauhof (Beispiel)"}
    after = await answered(client)
    assert after["inline"] == before["inline"] + 1
    assert after["memory"] + after["disk"] == before["memory"] + before["disk"] + 1


async def test_the_access_decision_applies_to_inline_answers(sparql_node: Client) -> None:
    node, client = await sparql_node(workers=1)
    await put_graph(client, node, G1, DATA1)
    await put_graph(client, node, G2, DATA2)
    await until_inline(client, LABELS)
    assert len(await select(client, LABELS)) == 2

    async def hide_two(request: web.Request) -> Scope:
        return Scope(frozenset(g for g in node.store.graphs() if g != G2))

    client.server.app["sparql_scope"] = hide_two
    for _ in range(3):
        rows = await select(client, LABELS)
        assert [row["label"] for row in rows] == ["Dorfteich (Beispiel)"]


async def test_queries_whose_value_changes_each_run_are_never_answered_inline(
    sparql_node: Client,
) -> None:
    node, client = await sparql_node(workers=1)
    await put_graph(client, node, G1, DATA1)
    await until_inline(client, LABELS)  # the copy is ready: a cheap query is proven
    before = (await answered(client))["inline"]
    noisy = "SELECT ?label (RAND() AS ?r) WHERE { ?s <http://example.org/label> ?label }"
    for _ in range(5):
        assert len(await select(client, noisy)) == 1
    assert (await answered(client))["inline"] == before


def job(query: str, generation: int = 1) -> Job:
    return Job(query, None, [], "application/sparql-results+json", generation, 1 << 20)


async def test_only_a_quick_answer_of_the_in_memory_copy_at_this_generation_proves() -> None:
    inline = Inline(ox.Store(), cap=0.025)
    try:
        ask = job("ASK { ?s ?p ?o }")
        inline.prove(ask, "disk", 0.001)
        assert not inline.ready(ask), "a worker's fresh disk view proves nothing"
        inline.prove(ask, "memory", 0.5)
        assert not inline.ready(ask), "too slow to run where it cannot be stopped"
        inline.prove(ask, "memory", 0.001)
        assert inline.ready(ask)
        assert not inline.ready(job("ASK { ?s ?p ?o }", generation=2)), "the store changed"
        answer = await inline.run(ask)
        assert answer is not None and answer.body == b'{"head":{},"boolean":false}'
    finally:
        inline.close()


EX = "http://example.org/"
SLOW = f"SELECT (COUNT(*) AS ?n) {{ ?a <{EX}p> ?x . ?b <{EX}p> ?x }}"
"""Over `crowded()`: eight million joined rows, long enough to hold a thread a while."""


def crowded() -> ox.Store:
    store = ox.Store()
    store.extend(
        ox.Quad(ox.NamedNode(f"{EX}{n}"), ox.NamedNode(f"{EX}p"), ox.Literal(str(n % 50)))
        for n in range(20_000)
    )
    return store


async def test_a_run_that_takes_too_long_here_is_left_to_the_workers() -> None:
    store = crowded()
    inline = Inline(store, patience=0.001)
    try:
        slow = job(SLOW)
        inline.prove(slow, "memory", 0.001)
        assert await inline.run(slow) is None, "handed to a worker, where it can be stopped"
        assert not inline.ready(slow)
        inline.prove(slow, "memory", 0.001)
        assert not inline.ready(slow), "never again here"
        deadline = time.monotonic() + 60
        while inline.running:  # its thread finishes on its own and frees its slot
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        inline.close()


async def test_the_nodes_in_memory_copy_answers_and_follows_changes(
    sparql_node: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replica, "QUIET", 0.0)  # the copy is made at the first cheap query
    node, client = await sparql_node(workers=1)
    await put_graph(client, node, G1, DATA1)
    assert await until_copy(client, LABELS) == ["Dorfteich (Beispiel)"]

    await put_graph(client, node, G2, DATA2)  # proven again, then on the copy, brought forward
    assert await until_copy(client, LABELS) == ["Bauhof (Beispiel)", "Dorfteich (Beispiel)"]


async def until_copy(client: TestClient, query: str) -> list[str]:
    """Ask until the node's in-memory copy answered; its answer's labels."""
    deadline = time.monotonic() + 60
    while True:
        before = (await answered(client)).get("inline-memory", 0)
        rows = await select(client, query)
        if (await answered(client)).get("inline-memory", 0) > before:
            return sorted(row["label"] for row in rows)
        assert time.monotonic() < deadline, "the node's copy never answered"
        await asyncio.sleep(0.02)


async def test_a_quick_query_needs_no_free_thread() -> None:
    store = crowded()
    inline = Inline(store, slots=1)
    try:
        slow = job(SLOW)
        quick = job(f"ASK {{ <{EX}1> <{EX}p> ?x }}")
        for proven in (slow, quick):
            inline.prove(proven, "memory", 0.001)
        assert await inline.run(quick) is not None  # in a thread, and quick from now on
        busy = asyncio.ensure_future(inline.run(slow))
        deadline = time.monotonic() + 60
        while not inline.running:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.001)
        assert not inline.ready(slow), "its one thread is taken"
        assert inline.ready(quick), "answered on the event loop, not in a thread"
        answer = await inline.run(quick)
        assert answer is not None and answer.body == b'{"head":{},"boolean":true}'
        await busy
    finally:
        inline.close()
