"""Three villages federating over a real Kafka broker: sharing, outages, crashes, forgeries."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer
from sqlmodel import Session

from allmende.node.events import new_event
from allmende.node.events.log import EventLog, SignedEvent
from allmende.node.events.signing import sign_event
from allmende.node.federation.wire import pack
from allmende.node.keys import generate_key
from allmende.node.runtime import Node
from tests.federation.villages import (
    OBSERVATION,
    Running,
    eventually,
    federated,
    federation,
    listed,
    make_villages,
    seed,
    send_uplinks,
    serve,
)
from tests.services.kafka import KafkaBroker

OUTAGE_SECONDS = 30
RECORDED = "observations.recorded"


@pytest.fixture
def kafka_env(kafka_broker: KafkaBroker) -> dict[str, str]:
    """The broker, and topics of this test's own (a fresh federation on a shared broker)."""
    suffix = uuid.uuid4().hex[:8]
    return {
        "ALLMENDE_KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
        "ALLMENDE_FEDERATION_CATALOG_TOPIC": f"allmende.catalog.v1.{suffix}",
        "ALLMENDE_FEDERATION_OBSERVATIONS_TOPIC": f"allmende.observations.v1.{suffix}",
        "ALLMENDE_FEDERATION_RETRY_INTERVAL": "0.5",
    }


def recorded_ids(node: Node, source: str, dataset: str) -> list[str]:
    with Session(node.engine) as session:
        return [
            s.event["id"]
            for s in EventLog.read(session, limit=1_000_000)
            if s.event["source"] == source
            and s.event["type"].endswith(RECORDED)
            and s.event["subject"] == dataset
        ]


async def keep_ingesting(
    session: aiohttp.ClientSession, running: Running, stop: asyncio.Event
) -> int:
    """Post uplinks one after another until told to stop; return how many were acknowledged."""
    number = 0
    while not stop.is_set():
        await send_uplinks(session, running, "raumklima", 1, start=number)
        number += 1
        await asyncio.sleep(0.01)
    return number


async def test_kafka_federation_shares_catalog_and_open_observations(
    tmp_path: Path, kafka_env: dict[str, str]
) -> None:
    async with federation(tmp_path, kafka_env) as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        for running in villages:
            await seed(session, running)
        await send_uplinks(session, a, "raumklima", 5)
        await send_uplinks(session, a, "strassenlicht", 5)
        everything = {(v.node.id, d["id"]) for v in villages for d in v.village.datasets()}
        expected = a.acknowledged["raumklima"]
        for peer in (b, c):
            await eventually(
                lambda peer=peer: _listed(session, peer, everything), 60, "every catalog entry"
            )
            await eventually(
                lambda peer=peer: peer.observations_in(a.graph("raumklima")) == expected,
                60,
                "open observations",
            )
        await eventually(lambda: _relayed_all(session, a), 60, "A's relay caught up")
        # the restricted dataset's readings were written at A and never left it
        assert recorded_ids(a.node, a.node.id, "strassenlicht")
        for peer in (b, c):
            assert recorded_ids(peer.node, a.node.id, "strassenlicht") == []
            assert peer.observations_in(a.graph("strassenlicht")) == 0

        async with session.delete(f"{a.url}/admin/datasets/raumklima", headers=a.admin()) as r:
            assert r.status < 300
        for peer in (b, c):
            await eventually(
                lambda peer=peer: _gone(session, peer, (a.node.id, "raumklima")), 60, "retraction"
            )
            # the catalog row goes with the inbox's commit, the graph with the projection after it
            await eventually(
                lambda peer=peer: peer.observations_in(a.graph("raumklima")) == 0,
                60,
                "retracted observations dropped",
            )


async def _relayed_all(session: aiohttp.ClientSession, village: Running) -> bool:
    """The console's relay lag: nothing of the village's own log is left to send."""
    async with session.get(f"{village.url}/admin/federation", headers=village.admin()) as r:
        status = await r.json()
    return bool(status["kafka"]["relay_lag"] == 0 and status["kafka"]["relay_position"] > 0)


async def _listed(session: aiohttp.ClientSession, peer: Running, expected: set[Any]) -> bool:
    return listed(await federated(session, peer)) == expected


async def _gone(session: aiohttp.ClientSession, peer: Running, entry: tuple[str, str]) -> bool:
    return entry not in listed(await federated(session, peer))


async def test_a_broker_outage_delays_events_and_loses_none(
    tmp_path: Path, kafka_env: dict[str, str], kafka_broker: KafkaBroker
) -> None:
    async with federation(tmp_path, kafka_env) as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        for running in villages:
            await seed(session, running)
        stop = asyncio.Event()
        ingest = asyncio.create_task(keep_ingesting(session, a, stop))
        await eventually(lambda: b.observations_in(a.graph("raumklima")) > 0, 60, "first data at B")
        await kafka_broker.astop_broker()
        before_outage = a.acknowledged["raumklima"]
        try:
            await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself: ingest goes on meanwhile
        finally:
            await kafka_broker.arestart()
        assert a.acknowledged["raumklima"] > before_outage  # acknowledged while Kafka was away
        await asyncio.sleep(2)
        stop.set()
        await ingest
        sent = recorded_ids(a.node, a.node.id, "raumklima")
        acknowledged = a.acknowledged["raumklima"]
        await eventually(
            lambda: a.observations_in(a.graph("raumklima")) == acknowledged,
            30,
            "every acknowledged observation queryable at A",
        )
        for peer in (b, c):
            await eventually(
                lambda peer=peer: peer.observations_in(a.graph("raumklima")) == acknowledged,
                120,
                f"every acknowledged observation at {peer.village.name}",
            )
            received = recorded_ids(peer.node, a.node.id, "raumklima")
            assert sorted(received) == sorted(sent)  # each event once, none missing


def _serve_subprocess(
    directory: Path, port: int, environ: dict[str, str]
) -> subprocess.Popen[bytes]:
    log = (directory / "serve.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "allmende.node", "serve", str(directory), "--port", str(port)],
        env={**os.environ, **environ},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def _ready(
    session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes]
) -> bool:
    assert process.poll() is None, "the node exited"
    try:
        async with session.get(f"{url}/health") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def test_a_peer_killed_mid_stream_resumes_without_gap_or_duplicate(
    tmp_path: Path, kafka_env: dict[str, str]
) -> None:
    a, b, c = make_villages(tmp_path, kafka_env)
    b_dir, b_port = Path(b.node.settings.directory), int(b.url.rsplit(":", 1)[1])
    b.node.close()
    process = _serve_subprocess(b_dir, b_port, kafka_env)
    try:
        await serve(a)
        await serve(c)
        async with aiohttp.ClientSession() as session:
            await eventually(lambda: _ready(session, b.url, process), 60, "B ready")
            await seed(session, a)
            stop = asyncio.Event()
            ingest = asyncio.create_task(keep_ingesting(session, a, stop))
            await eventually(
                lambda: _pooled_at(session, b.url, a.graph("raumklima")), 60, "data at B"
            )
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            await asyncio.sleep(1)
            process = _serve_subprocess(b_dir, b_port, kafka_env)
            await eventually(lambda: _ready(session, b.url, process), 60, "B ready again")
            await asyncio.sleep(1)
            stop.set()
            await ingest
            acknowledged = a.acknowledged["raumklima"]
            await eventually(
                lambda: _pooled_at(session, b.url, a.graph("raumklima"), acknowledged),
                120,
                "every acknowledged observation at B after the crash",
            )
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        sent = recorded_ids(a.node, a.node.id, "raumklima")
        b_node = Node.open(b_dir, environ=kafka_env)
        try:
            assert sorted(recorded_ids(b_node, a.node.id, "raumklima")) == sorted(sent)
        finally:
            b_node.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for running in (a, c):
            if running.runner is not None:
                await running.runner.cleanup()


async def _pooled_at(
    session: aiohttp.ClientSession, url: str, graph: str, exactly: int | None = None
) -> bool:
    query = (
        f"SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?o a <{OBSERVATION}> }} }}"
    )
    async with session.get(
        f"{url}/sparql",
        params={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    ) as response:
        n = int((await response.json())["results"]["bindings"][0]["n"]["value"])
    return n == exactly if exactly is not None else n > 0


async def test_forged_unsigned_replayed_and_unknown_events_are_refused_and_counted(
    tmp_path: Path, kafka_env: dict[str, str], kafka_broker: KafkaBroker
) -> None:
    async with federation(tmp_path, kafka_env) as villages, aiohttp.ClientSession() as session:
        a, b, _c = villages
        for running in villages:
            await seed(session, running)
        await send_uplinks(session, a, "raumklima", 2)
        await eventually(lambda: b.observations_in(a.graph("raumklima")) == 6, 60, "pooled data")
        with Session(a.node.engine) as s:
            valid = next(
                e for e in EventLog.read(s, limit=10_000) if e.event["type"].endswith(RECORDED)
            )
        before_log = b.events_from(a.node.id)
        await b.node.projected()
        before_store = b.node.store.dump_nquads()

        tampered = copy.deepcopy(valid.event)
        tampered["data"]["count"] = 99
        stranger = generate_key(tmp_path / "stranger.pem")
        strange = new_event(
            "https://husum.example/", RECORDED, valid.event["data"], subject="raumklima"
        )
        bundles = [
            pack([SignedEvent(tampered, valid.signature, valid.batch)]),
            pack([SignedEvent(copy.deepcopy(valid.event))]),
            pack([SignedEvent(strange, sign_event(strange, stranger))]),
            pack([valid]),
        ]
        producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
        await producer.start()
        try:
            topic = kafka_env["ALLMENDE_FEDERATION_OBSERVATIONS_TOPIC"]
            for bundle in bundles:
                await producer.send_and_wait(topic, json.dumps(bundle).encode(), key=b"raumklima")
            await producer.send_and_wait(topic, b"{not json", key=b"raumklima")
        finally:
            await producer.stop()

        async def counted() -> dict[str, Any]:
            async with session.get(f"{b.url}/admin/federation", headers=b.admin()) as r:
                status = await r.json()
            peer = next(p for p in status["peers"] if p["id"] == a.node.id)["events"]
            done = (
                peer.get("bad-signature") == 1
                and peer.get("unsigned") == 1
                and peer.get("duplicate", 0) >= 1
                and status["refused_from_unknown"].get("unknown-signer") == 1
                and status["refused_from_unknown"].get("malformed") == 1
            )
            return status if done else {}

        await eventually(counted, 60, "every forgery counted at B")
        await b.node.projected()
        assert b.events_from(a.node.id) == before_log
        assert b.node.store.dump_nquads() == before_store


async def test_switching_from_the_feed_to_kafka_loses_nothing(
    tmp_path: Path, kafka_env: dict[str, str]
) -> None:
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        await seed(session, a)
        await send_uplinks(session, a, "raumklima", 3)
        for peer in (b, c):
            await eventually(
                lambda peer=peer: peer.observations_in(a.graph("raumklima")) == 9,
                30,
                "over the feed",
            )
    # the same three villages, restarted with Kafka configured; more readings arrive at A
    async with (
        federation(tmp_path, kafka_env, reopen=True) as villages,
        aiohttp.ClientSession() as session,
    ):
        a, b, c = villages
        async with session.post(f"{a.url}/admin/ingest/sources/ttn/secret", headers=a.admin()) as r:
            a.secret = (await r.json())["secret"]
        await send_uplinks(session, a, "raumklima", 3, start=100)
        sent = recorded_ids(a.node, a.node.id, "raumklima")
        for peer in (b, c):
            await eventually(
                lambda peer=peer: peer.observations_in(a.graph("raumklima")) == 18, 60, "over Kafka"
            )
            assert sorted(recorded_ids(peer.node, a.node.id, "raumklima")) == sorted(sent)
            duplicates = peer.app["federation_inbox"].totals[(a.node.id, "duplicate")]
            assert duplicates > 0  # what came over the feed came again over Kafka, and was dropped
