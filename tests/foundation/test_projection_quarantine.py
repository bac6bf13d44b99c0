"""A projection that fails on one event sets that event aside; the rest still shows.

The failing projection is a real one, added through the rooms' registration path
(`rooms.projection_setups`), so the node, `allmende reindex` and the SPARQL workers all
project with it, as they would with a room's handler that has a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from allmende.node import db, rooms
from allmende.node.cli import main
from allmende.node.config import load_settings
from allmende.node.events import EventLog, SignedEvent, new_event
from allmende.node.events.projector import Projector
from allmende.node.http.app import create_app
from allmende.node.ingest.registry import REGISTERED
from allmende.node.reindex import rebuild_store
from allmende.node.runtime import Node
from allmende.node.sparql.replica import Replica, ReplicaSpec
from allmende.node.store.base import CHECKPOINT, QuadStore
from tests.support import admin_headers, make_node

KIND = "de.allmende.test.value"
GRAPH = "urn:test:value"
VALUE = ox.NamedNode("urn:test:value#is")


class Broken:
    """A projection that replaces GRAPH with the event's value, and fails for the values
    in `broken` after it has dropped the graph (a partial write if nothing undid it)."""

    def __init__(self) -> None:
        self.broken: set[str] = set()
        self.transient: dict[str, int] = {}
        """value -> how many more times it fails with an error that may pass."""

    def __call__(self, store: QuadStore, event: dict[str, Any]) -> None:
        value = event["data"]["value"]
        store.drop_graph(GRAPH)
        if self.transient.get(value, 0) > 0:
            self.transient[value] -= 1
            raise OSError("store busy")
        if value in self.broken:
            raise ValueError(f"cannot project value {value}")
        store.add_quads(
            [ox.Quad(ox.NamedNode("urn:test:s"), VALUE, ox.Literal(value), ox.NamedNode(GRAPH))]
        )


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> Iterator[Broken]:
    handler = Broken()
    setups = rooms.projection_setups

    def with_test_room() -> list[Callable[[Projector], None]]:
        return [*setups(), lambda projector: projector.register(KIND, handler)]

    monkeypatch.setattr(rooms, "projection_setups", with_test_room)
    yield handler


def values(node: Node) -> list[str]:
    rows = node.store.query(f"SELECT ?v WHERE {{ GRAPH <{GRAPH}> {{ ?s <{VALUE.value}> ?v }} }}")
    return sorted(row["v"].value for row in rows)


def shows(node: Node, graph: str) -> bool:
    return node.store.has_graph(graph)


def value_event(node: Node, value: str) -> dict[str, Any]:
    return node.event(KIND, {"value": value}, subject="thermometer-1")


def other_event(node: Node, n: int) -> dict[str, Any]:
    """A later event of another subject, projected by a room's own handler."""
    content = f'<urn:test:other{n}> <urn:test:p> "{n}" .\n'
    return node.event(
        "graph.replaced", {"graph": f"urn:test:other{n}", "content": content}, subject=f"g{n}"
    )


def test_failing_event_is_set_aside_later_events_show_retry_projects_once(
    tmp_path: Path, broken: Broken, database_url: str | None
) -> None:
    node = make_node(tmp_path, database_url=database_url)
    try:
        node.commit([value_event(node, "0")])
        assert values(node) == ["0"]
        broken.broken.add("1")
        node.commit([value_event(node, "1")])  # fails after dropping the graph
        node.commit([value_event(node, "2")])  # same subject: held behind "1"
        node.commit([other_event(node, 1)])
        assert shows(node, "urn:test:other1")  # the projector went on
        assert values(node) == ["0"]  # nothing of "1" half-applied, "2" not before "1"
        listed = sorted(node.quarantine.rows.values(), key=lambda row: row.seq)
        assert [row.error_class for row in listed] == ["ValueError", "HeldBehind"]
        first = listed[0]
        assert first.message == "cannot project value 1"
        assert first.projection.endswith("Broken") and first.attempts == 1

        assert node.retry_quarantined() == 0  # still broken: stays, "2" stays behind it
        assert values(node) == ["0"]
        assert node.quarantine.rows[first.seq].attempts == 2

        broken.broken.clear()
        assert node.retry_quarantined() == 2
        assert values(node) == ["2"]  # "1" then "2", in log order, each once
        assert node.quarantine.rows == {}
    finally:
        node.close()


def test_an_error_that_passes_is_retried_not_set_aside(tmp_path: Path, broken: Broken) -> None:
    node = make_node(tmp_path)
    try:
        broken.transient["busy"] = 2
        node.commit([value_event(node, "busy")])
        assert values(node) == ["busy"]
        assert node.quarantine.rows == {}
    finally:
        node.close()


def test_quarantine_survives_a_restart_and_reindex_clears_what_projects(
    tmp_path: Path, broken: Broken
) -> None:
    node = make_node(tmp_path)
    broken.broken.add("1")
    node.commit([value_event(node, "1")])
    node.close()

    node = make_node(tmp_path)  # the list is durable; the next event is held behind it
    node.commit([value_event(node, "2"), other_event(node, 2)])
    assert shows(node, "urn:test:other2") and values(node) == []
    assert len(node.quarantine.rows) == 2
    node.close()

    broken.broken.clear()
    result = CliRunner().invoke(main, ["quarantine", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ValueError: cannot project value 1" in result.output
    assert "2 quarantined" in result.output

    rebuild_store(load_settings(tmp_path, environ={}))
    node = make_node(tmp_path)
    try:
        assert values(node) == ["2"] and shows(node, "urn:test:other2")
        assert node.quarantine.rows == {}
        node.quarantine.begin(0)
        assert node.quarantine.rows == {}
    finally:
        node.close()


async def test_health_degraded_and_admin_retry(
    aiohttp_client: Any, tmp_path: Path, broken: Broken
) -> None:
    node = make_node(tmp_path)
    client = await aiohttp_client(create_app(node))
    broken.broken.add("1")
    await node.write(lambda: node.commit([value_event(node, "1")]))

    health = await (await client.get("/health")).json()
    assert health["status"] == "degraded"
    assert list(health["checks"]["projections"].values()) == ["degraded: 1 event quarantined"]
    assert "cannot project" not in str(health)  # no event content or reasons in public

    assert (await client.get("/admin/projections/quarantine")).status == 401
    listed = await client.get("/admin/projections/quarantine", headers=admin_headers(node))
    body = await listed.json()
    assert [item["error_class"] for item in body["items"]] == ["ValueError"]
    assert "data" not in body["items"][0] and "value" not in str(body["by_projection"])

    broken.broken.clear()
    retried = await client.post("/admin/projections/quarantine/retry", headers=admin_headers(node))
    assert await retried.json() == {"projected": 1, "quarantined": 0}
    assert values(node) == ["1"]
    health = await (await client.get("/health")).json()
    assert health["status"] == "ready" and "projections" not in health["checks"]


def test_a_query_workers_copy_skips_them_and_is_dropped_once_one_is_retried(
    tmp_path: Path, broken: Broken
) -> None:
    node = make_node(tmp_path)
    try:
        node.commit([value_event(node, "0")])
        spec = ReplicaSpec(node.settings.database_url, node.id, 10_000)
        replica = Replica(str(node.store.path), spec)
        replica.build()
        assert replica.state == "ready" and replica.store is not None
        broken.broken.add("1")
        node.commit([value_event(node, "1"), other_event(node, 3)])
        generation = int(node.store.get_meta(CHECKPOINT) or 0)
        assert replica.current(generation, budget=10) is not None  # it went past, as the node
        assert replica.store.dump_nquads() == node.store.dump_nquads()

        broken.broken.clear()
        assert node.retry_quarantined() == 1
        assert replica.current(generation, budget=10) is None  # queries read the disk now
        assert replica.state == "stale"
    finally:
        node.close()


def test_a_peers_event_that_fails_is_quarantined_and_the_peers_next_ones_show(
    tmp_path: Path,
) -> None:
    """A peer's sensor description that does not parse: before, the federation's handler
    logged it and it was gone from the store for good; now it is on the list."""
    node = make_node(tmp_path)
    peer = "https://nachbardorf.example"
    try:

        def foreign(n: int, content: str) -> SignedEvent:
            graph = f"{peer}/graphs/sensors/s{n}"
            event = new_event(peer, REGISTERED, {"graph": graph, "content": content})
            return SignedEvent(event, signature="signature-of-the-peer")

        with db.transaction(node.engine) as session:
            EventLog.append_foreign(session, foreign(1, "<not> ntriples"))
            EventLog.append_foreign(session, foreign(2, f'<{peer}/s2> <urn:test:p> "2" .\n'))
        node.project()
        assert node.store.has_graph(f"{peer}/graphs/sensors/s2")
        assert not node.store.has_graph(f"{peer}/graphs/sensors/s1")
        [row] = node.quarantine.rows.values()
        assert row.error_class == "SyntaxError"
        assert row.projection == "federation.projection._sensor"
    finally:
        node.close()
