"""The event log is the source of truth: it survives restarts and rebuilds the store."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.compare import isomorphic
from sqlmodel import Session

from allmende.node.events import EventLog
from allmende.node.runtime import LOAD_WINDOW, Node
from allmende.policies import jws
from tests.support import make_node

GRAPH = "https://luetjenholm.example/graphs/sample"
TURTLE = """
@prefix sosa: <http://www.w3.org/ns/sosa/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://luetjenholm.example/sensors/dgh-01> a sosa:Sensor ;
    sosa:madeObservation [ a sosa:Observation ; sosa:hasSimpleResult "61.5"^^xsd:decimal ] .
"""


def write_sample_history(node: Node) -> None:
    """Replace, extend, drop and re-add graphs: the store's end state depends on the order."""
    node.commit(
        [node.event("graph.replaced", {"graph": GRAPH, "format": "text/turtle", "content": TURTLE})]
    )
    node.commit(
        [
            node.event(
                "graph.extended",
                {
                    "graph": GRAPH,
                    "format": "application/n-triples",
                    "content": f'<{GRAPH}#a> <{GRAPH}#p> "{index}" .\n',
                },
            )
            for index in range(3)
        ]
    )
    node.commit([node.event("graph.replaced", {"graph": GRAPH + "2", "content": ""})])
    node.commit([node.event("graph.dropped", {"graph": GRAPH + "2"})])


def dataset_graphs(node: Node) -> dict[str, rdflib.Graph]:
    graphs = {}
    for name in node.store.graphs():
        graph = rdflib.Graph()
        graph.parse(
            data=node.store.raw.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(name)),
            format="nt",
        )
        graphs[name] = graph
    return graphs


def test_events_survive_restart_and_verify(tmp_path: Path, database_url: str | None) -> None:
    node = make_node(tmp_path, database_url=database_url)
    write_sample_history(node)
    kid, jwks = node.key.kid, node.key.jwks()
    node.close()

    reopened = make_node(tmp_path, database_url=database_url)
    try:
        with Session(reopened.engine) as session:
            page = EventLog.read(session, after=0, limit=100)
            assert [signed.seq for signed in page] == sorted(s.seq for s in page)
            assert len(page) == 6
            keys = jws.keys_from_jwks(jwks)
            for signed in page:
                batch = EventLog.batch_events(session, signed.batch.id) if signed.batch else []
                signed.verify(keys, batch)
        assert page[1].batch is not None and page[1].batch.digests == page[3].batch.digests  # type: ignore[union-attr]
        assert reopened.key.kid == kid
        assert reopened.store.graphs() == [GRAPH]
    finally:
        reopened.close()


def test_a_page_ends_after_its_byte_budget_and_the_next_one_goes_on_from_there(
    tmp_path: Path, database_url: str | None
) -> None:
    node = make_node(tmp_path, database_url=database_url)
    try:
        literal = "x" * 10_000
        content = f'<{GRAPH}#a> <{GRAPH}#p> "{literal}" .\n'
        events = [node.event("graph.extended", {"graph": GRAPH, "content": content})] * 10
        node.commit([{**e, "id": f"event-{i}"} for i, e in enumerate(events)])
        seen: list[int] = []
        with Session(node.engine) as session:
            after = 0
            while page := EventLog.read(session, after=after, limit=100, max_bytes=25_000):
                assert len(page) <= 3
                seen += [signed.seq or 0 for signed in page]
                after = seen[-1]
            one = EventLog.read(session, limit=100, max_bytes=1)
        assert seen == sorted(set(seen)) and len(seen) == 10
        assert len(one) == 1
    finally:
        node.close()


def test_reindex_reproduces_the_store(tmp_path: Path, database_url: str | None) -> None:
    node = make_node(tmp_path, database_url=database_url)
    write_sample_history(node)
    before = dataset_graphs(node)
    node.close()
    assert len(before[GRAPH]) == 7

    env = {"PATH": "/usr/bin:/bin"}
    if database_url:
        env["ALLMENDE_DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, "-m", "allmende.node", "reindex", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "reindexed 6 events into 1 graphs" in result.stdout

    after_node = make_node(tmp_path, database_url=database_url)
    try:
        after = dataset_graphs(after_node)
    finally:
        after_node.close()
    assert after.keys() == before.keys()
    for name, graph in before.items():
        assert isomorphic(graph, after[name]), name


def test_projection_catches_up_after_unprojected_commit(tmp_path: Path) -> None:
    """A crash between commit and projection: the next start projects what was missed."""
    node = make_node(tmp_path)
    node._commit_only(
        [
            node.event(
                "graph.replaced", {"graph": GRAPH, "format": "text/turtle", "content": TURTLE}
            )
        ],
        (),
        None,
    )
    with Session(node.engine) as session:
        assert [signed.seq for signed in EventLog.read(session)] == [1]
    assert node.store.graphs() == []
    node.close()
    reopened = make_node(tmp_path)
    try:
        assert reopened.project() == 1
        assert reopened.store.graphs() == [GRAPH]
        assert reopened.project() == 0
    finally:
        reopened.close()


def test_envelope_is_cloudevents_json(tmp_path: Path) -> None:
    node = make_node(tmp_path)
    try:
        node.commit([node.event("graph.dropped", {"graph": GRAPH}, subject="sample")])
        with Session(node.engine) as session:
            event = EventLog.read(session)[0].event
        assert event["specversion"] == "1.0"
        assert event["source"] == node.id
        assert event["type"] == "de.allmende.graph.dropped"
        assert event["subject"] == "sample"
        assert event["datacontenttype"] == "application/json"
        assert json.loads(json.dumps(event)) == event
    finally:
        node.close()


def test_foreign_events_are_kept_once_and_projected_apart(tmp_path: Path) -> None:
    peer = make_node(tmp_path / "peer", name="Bredstedt")
    peer.commit([peer.event("graph.dropped", {"graph": "urn:x"}) for _ in range(2)])
    with Session(peer.engine) as session:
        incoming = EventLog.read(session)
    peer.close()

    node = make_node(tmp_path / "own")
    seen: list[str] = []
    node.projector.register_foreign(
        "de.allmende.graph.dropped",
        lambda _store, run: seen.extend(signed.event["source"] for signed in run),
    )
    try:
        with Session(node.engine) as session:
            first = [EventLog.append_foreign(session, signed) for signed in incoming]
            again = [EventLog.append_foreign(session, signed) for signed in incoming]
            session.commit()
        assert all(record is not None for record in first)
        assert again == [None, None]
        node.project()
        assert seen == ["https://bredstedt.example/"] * 2
        with Session(node.engine) as session:
            stored = EventLog.read(session)
        assert [s.event["id"] for s in stored] == [s.event["id"] for s in incoming]
        assert stored[1].batch is not None and stored[1].batch.index == 1
    finally:
        node.close()


def test_key_rotation_keeps_old_signatures_verifiable(tmp_path: Path) -> None:
    from allmende.node.keys import rotate_key

    node = make_node(tmp_path)
    node.commit([node.event("graph.dropped", {"graph": "urn:before"})])
    old_kid = node.key.kid
    node.close()
    rotate_key(tmp_path / "node-key.pem")
    node = make_node(tmp_path)
    try:
        assert node.key.kid != old_kid
        node.commit([node.event("graph.dropped", {"graph": "urn:after"})])
        published = jws.keys_from_jwks(node.jwks())
        assert set(published) == {old_kid, node.key.kid}
        with Session(node.engine) as session:
            for signed in EventLog.read(session):
                signed.verify(published)
        assert old_kid not in node.admin_keys()
    finally:
        node.close()


def test_writers_wait_while_the_store_lags_behind_and_go_on_once_it_caught_up(
    tmp_path: Path,
) -> None:
    """`keep_up` holds a writer while an acknowledged commit is not yet queryable, and
    gives up after its limit so that a stuck projector never stops the writers."""
    node = make_node(tmp_path)

    async def commit(graph: str) -> None:
        event = node.event(
            "graph.replaced", {"graph": graph, "format": "text/turtle", "content": TURTLE}
        )
        await node.write(lambda: node._commit_only([event], (), None))
        with Session(node.engine) as session:
            node.committed(EventLog.last_seq(session))
        node.project_soon()

    async def scenario() -> None:
        node._store_writes.acquire()  # the projector thread waits here: the store lags
        try:
            await commit(GRAPH)
            await asyncio.sleep(0.15)  # the commit is now older than the allowed lag
            waiting = asyncio.create_task(node.keep_up(0.05, 30))
            done, _ = await asyncio.wait({waiting}, timeout=0.3)
            assert not done, "a writer went on although the store lagged behind"
        finally:
            node._store_writes.release()
        await asyncio.wait_for(waiting, 10)
        assert node.store.graphs() == [GRAPH]
        await node.keep_up(0.05, 30)  # nothing lags: returns at once

        node._store_writes.acquire()
        try:
            await commit(GRAPH + "2")
            await asyncio.sleep(0.15)
            await asyncio.wait_for(node.keep_up(0.05, 0.2), 5)  # gave up after 0.2 s
            assert node.store.graphs() == [GRAPH]
        finally:
            node._store_writes.release()
        await node.projected()
        assert node.store.graphs() == [GRAPH, GRAPH + "2"]

    try:
        asyncio.run(scenario())
    finally:
        node.close()


def test_projector_load_is_the_share_of_the_last_second_spent_projecting(tmp_path: Path) -> None:
    opened = time.monotonic()
    node = make_node(tmp_path / "node")
    try:
        lines = "\n".join(
            f'<https://luetjenholm.example/observations/{n}> <http://www.w3.org/ns/sosa/hasSimpleResult> "{n}" .'
            for n in range(20_000)
        )
        node.commit([node.event("graph.replaced", {"graph": GRAPH, "content": lines})])
        load = node.projector_load()
        assert 0 < load <= min(1.0, (time.monotonic() - opened) / LOAD_WINDOW)
    finally:
        node.close()
