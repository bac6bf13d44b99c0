"""The query workers' in-memory copy: the same quads as the store, never older than asked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from allmende.node.runtime import Node
from allmende.node.sparql.replica import QUIET, Replica, ReplicaSpec
from tests.sparql.conftest import put_graph, select
from tests.support import admin_headers, make_node

GRAPH = "https://luetjenholm.example/graphs/sample/rooms"
DATA = "https://luetjenholm.example/graphs/sample/readings"
TURTLE = """@prefix ex: <https://luetjenholm.example/ns#> .
ex:dgh ex:name "Dorfgemeinschaftshaus (Beispiel)" ; ex:rooms 3 .
ex:feuerwehr ex:name "Feuerwehrhaus (Beispiel)" .
"""


def reading(n: int) -> str:
    return (
        f"<https://luetjenholm.example/observations/{n}> "
        f'<http://www.w3.org/ns/sosa/hasSimpleResult> "{n}.5"^^<http://www.w3.org/2001/XMLSchema#decimal> .'
    )


def replica_of(node: Node, max_quads: int = 10_000) -> Replica:
    spec = ReplicaSpec(node.settings.database_url, node.id, max_quads)
    return Replica(str(node.store.path), spec)  # type: ignore[attr-defined]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """A node whose store holds the sample rooms."""
    node = make_node(tmp_path / "node")
    event = {"graph": GRAPH, "format": "text/turtle", "content": TURTLE}
    node.commit([node.event("graph.replaced", event)])
    yield node
    node.close()


def test_the_copy_follows_every_kind_of_event_to_the_same_quads(node: Node) -> None:
    node.commit([node.event("graph.replaced", {"graph": "", "content": reading(0)})])
    replica = replica_of(node)
    replica.build()
    assert replica.state == "ready"
    copy = replica.store
    assert copy is not None and copy.dump_nquads() == node.store.dump_nquads()

    node.commit([node.event("graph.extended", {"graph": GRAPH, "content": reading(1)})])
    recorded = {"base": "https://luetjenholm.example", "graph": DATA}
    node.commit(
        [
            node.event("observations.recorded", {**recorded, "content": reading(n)})
            for n in range(2, 40)
        ]
    )
    before_drop = int(node.store.get_meta("projected-seq") or 0)
    node.commit([node.event("graph.dropped", {"graph": ""})])
    generation = int(node.store.get_meta("projected-seq") or 0)

    assert replica.current(before_drop, budget=None) is None  # behind, told not to catch up
    assert replica.current(before_drop, budget=10) is not None
    assert replica.seq == before_drop  # not beyond what the caller's scope was decided for
    assert b"/observations/0>" in copy.dump_nquads()  # the drop is not applied yet
    assert replica.current(generation, budget=10) is not None
    assert copy.dump_nquads() == node.store.dump_nquads()
    assert DATA in copy.graphs() and copy.dump_nquads().count(b"hasSimpleResult") == 39


def test_the_copy_is_made_only_once_the_node_has_been_quiet_for_a_while(node: Node) -> None:
    """While the node works through a backlog (queries come with no budget), a worker
    makes no copy: it would only cost the cores the projector needs. A node that has just
    started is quiet until its peers' events arrive, so one quiet query is not enough."""
    generation = int(node.store.get_meta("projected-seq") or 0)
    now = [1000.0]
    replica = Replica(str(node.store.path), replica_of(node).spec, clock=lambda: now[0])
    for busy in (False, True, True, False, True):
        assert replica.current(generation, budget=None if busy else 10) is None
        now[0] += QUIET / 2  # a query every half of QUIET, never QUIET without a busy one
    assert replica.state == "waiting" and replica.store is None

    assert replica.current(generation, budget=10) is None
    now[0] += QUIET
    assert replica.current(generation, budget=10) is None  # from disk while it copies
    replica._builder.join(timeout=60)
    assert replica.state == "ready"
    copy = replica.current(generation, budget=10)
    assert copy is not None and len(copy) == len(node.store.raw)


def test_a_store_larger_than_the_limit_is_not_copied(node: Node) -> None:
    replica = replica_of(node, max_quads=2)
    replica.build()
    assert replica.state == "too large"
    assert replica.current(0, budget=10) is None


async def answered(client: TestClient) -> dict[str, float]:
    """Queries by the store that answered them, from the node's /metrics."""
    text = await (await client.get("/metrics")).text()
    families = text_string_to_metric_families(text)
    found = [f for f in families if f.name == "allmende_sparql_queries"]
    return {sample.labels["store"]: sample.value for sample in found[0].samples}


async def test_once_copied_queries_are_answered_from_memory_and_see_the_newest_write(
    sparql_node: Any,
) -> None:
    node, client = await sparql_node(workers=1)
    await put_graph(client, node, GRAPH, TURTLE)
    query = "SELECT ?name WHERE { ?room <https://luetjenholm.example/ns#name> ?name }"
    deadline = time.monotonic() + 60
    while (await answered(client)).get("memory", 0) == 0:  # the copy loads behind the worker
        assert time.monotonic() < deadline, "no query was answered from memory"
        assert len(await select(client, query)) == 2
        await asyncio.sleep(0.05)

    extra = '<https://luetjenholm.example/ns#bauhof> <https://luetjenholm.example/ns#name> "Bauhof (Beispiel)" .'
    response = await client.post(
        "/rdf-graphs",
        params={"graph": GRAPH},
        data=extra.encode(),
        headers={**admin_headers(node), "Content-Type": "application/n-triples"},
    )
    assert response.status in (200, 204), await response.text()
    before = (await answered(client))["memory"]
    names = {row["name"] for row in await select(client, query)}
    assert "Bauhof (Beispiel)" in names and len(names) == 3
    assert (await answered(client))["memory"] == before + 1
