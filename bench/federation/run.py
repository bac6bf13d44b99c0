"""Federation benchmark: three village nodes and a real Kafka broker on loopback.

    python bench/federation/run.py [--observations 120000] [--datasets 30]

Prints, measured in one run on this machine:
- catalog event end-to-end latency (dataset published at Lütjenholm, acknowledged → listed in
  Bredstedt's and Struckum's federated catalogs), p50/p99;
- pooled observation throughput with signature verification: Lütjenholm's log holds N
  observations (signed batches, made by the ingest code from TTN uplinks) and relays them
  to Kafka; then Bredstedt starts, and the benchmark times how long until all N are
  visible in a SPARQL query there;
- next to it, raw aiokafka: the very same Kafka messages produced to a fresh topic and
  consumed back (no verification, no storage), observations/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from allmende.connectors import ttn  # noqa: E402
from allmende.node.auth import mint_token  # noqa: E402
from allmende.node.catalog import service  # noqa: E402
from allmende.node.demo.simulator import uplink  # noqa: E402
from allmende.node.demo.villages import VILLAGES, Sensor  # noqa: E402
from allmende.node.events import EventLog  # noqa: E402
from allmende.node.federation.projection import observation_subjects  # noqa: E402
from allmende.node.federation.trust import add_peer, checked_peer  # noqa: E402
from allmende.node.ingest.intake import prepare  # noqa: E402
from allmende.node.ingest.registry import Registry, register  # noqa: E402
from allmende.node.keys import load_key  # noqa: E402
from tests.services.kafka import KafkaBroker  # noqa: E402
from tests.services.ports import free_port  # noqa: E402
from tests.support import make_node  # noqa: E402

SENSORS = 50
UPLINKS_PER_REQUEST = 100
REQUESTS_PER_COMMIT = 10
OBSERVATION = "http://www.w3.org/ns/sosa/Observation"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def observation_iris(event: dict[str, Any]) -> list[str]:
    return [subject[1:-1] for subject in observation_subjects(event["data"]["content"])]


async def fill_log(
    directory: Path, village: Any, port: int, observations: int
) -> tuple[str, int, str, str]:
    """Lütjenholm's node with an open dataset, 50 sensors and N observations in its log.

    Returns the data graph, how many observations, the first and the last one's IRI."""
    node = make_node(directory, name=village.name, node_id=village.node_id, port=port)
    try:
        await service.create(node, village.datasets()[0])
        registry = Registry(node)
        sensors = [
            Sensor(f"sample-bench-{i:03d}", "raumklima", "room-climate", 54.6 + i / 1000, 8.96, "")
            for i in range(SENSORS)
        ]
        for sensor in sensors:
            body = {
                "device": sensor.device_id,
                "dataset": sensor.dataset,
                "profile": sensor.profile,
            }
            await register(node, registry, {**body, "lat": sensor.lat, "lon": sensor.lon})
        rng, made, counter = random.Random(1), 0, 0
        first: str | None = None
        last = ""
        while made < observations:
            events = []
            for _ in range(REQUESTS_PER_COMMIT):
                uplinks = []
                for _ in range(UPLINKS_PER_REQUEST):
                    counter += 1
                    moment = time.time() - 10_000_000 + counter
                    uplinks.append(
                        uplink(
                            sensors[counter % SENSORS],
                            counter,
                            rng,
                            datetime.fromtimestamp(moment, UTC),
                        )
                    )
                batch, _accepted, _reported = prepare(node, registry, ttn.parse(uplinks), "ttn")
                events += batch
                made += sum(e["data"]["count"] for e in batch)
            node.commit(events)
            first = first or observation_iris(events[0])[0]
            last = observation_iris(events[-1])[-1]
        assert first is not None
        return f"{node.base_url}/graphs/datasets/raumklima", made, first, last
    finally:
        node.close()


def start(directory: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (directory / "serve.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "allmende.node", "serve", str(directory), "--port", str(port)],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def ready(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(1200):
        try:
            async with session.get(f"{url}/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not become ready")


async def count_at(session: aiohttp.ClientSession, url: str, graph: str) -> int:
    query = f"SELECT (COUNT(?o) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?o a <{OBSERVATION}> }} }}"
    async with session.get(
        f"{url}/sparql",
        params={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    ) as response:
        body = await response.json(content_type=None)
    if response.status != 200:  # e.g. the store is busy: ask again
        print(f"  (count at {url}: {response.status} {body.get('detail', '')})", file=sys.stderr)
        return -1
    return int(body["results"]["bindings"][0]["n"]["value"])


async def visible_at(session: aiohttp.ClientSession, url: str, graph: str, iri: str) -> bool:
    """One cheap lookup: is this observation queryable there yet?"""
    query = f"ASK {{ GRAPH <{graph}> {{ <{iri}> a <{OBSERVATION}> }} }}"
    async with session.get(
        f"{url}/sparql",
        params={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    ) as response:
        body = await response.json(content_type=None)
    return response.status == 200 and bool(body.get("boolean"))


async def relayed(session: aiohttp.ClientSession, url: str, admin: dict[str, str]) -> int:
    """How far the node's Kafka relay got in its log."""
    async with session.get(f"{url}/admin/federation", headers=admin) as response:
        body = await response.json()
    return int((body.get("kafka") or {}).get("relay_position") or 0)


async def catalog_total(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(
        f"{url}/federation/catalog", params={"page_size": 1, "format": "json"}
    ) as response:
        return int((await response.json())["total"])


async def raw_kafka(bootstrap: str, topic: str) -> tuple[int, int, float]:
    """Read Lütjenholm's messages, then time producing them to a fresh topic and consuming
    them back. Returns (messages, observations, seconds)."""
    reader = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-read-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    values: list[bytes] = []
    try:
        while True:  # everything there is: until two quiet seconds
            batches = await reader.getmany(timeout_ms=2000)
            if not batches and values:
                break
            for records in batches.values():
                values += [r.value for r in records if r.value]
    finally:
        await reader.stop()
    observations = sum(
        e["event"]["data"].get("count", 0) for v in values for e in json.loads(v)["events"]
    )
    fresh = f"bench.raw.{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_request_size=1024 * 1024,
    )
    consumer = AIOKafkaConsumer(
        fresh,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=fresh,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await producer.start()
    await consumer.start()
    try:
        started = time.perf_counter()
        received = 0

        async def consume() -> None:
            nonlocal received
            while received < len(values):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    received += len(records)

        reading = asyncio.create_task(consume())
        await asyncio.gather(*[await producer.send(fresh, v, key=b"raumklima") for v in values])
        await asyncio.wait_for(reading, 300)
        seconds = time.perf_counter() - started
    finally:
        await producer.stop()
        await consumer.stop()
    return len(values), observations, seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=120_000)
    parser.add_argument("--datasets", type=int, default=30)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="allmende-bench-federation-"))
    broker = KafkaBroker().start()
    suffix = uuid.uuid4().hex[:8]
    env = {
        "ALLMENDE_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "ALLMENDE_FEDERATION_CATALOG_TOPIC": f"bench.catalog.{suffix}",
        "ALLMENDE_FEDERATION_OBSERVATIONS_TOPIC": f"bench.observations.{suffix}",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ports = [free_port() for _ in VILLAGES]
        dirs = [work / v.slug for v in VILLAGES]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        t0 = time.perf_counter()
        graph, made, first_iri, last_iri = await fill_log(
            dirs[0], VILLAGES[0], ports[0], options.observations
        )
        filled = time.perf_counter() - t0
        for village, directory, port in zip(VILLAGES[1:], dirs[1:], ports[1:], strict=True):
            make_node(directory, name=village.name, node_id=village.node_id, port=port).close()
        for i, village in enumerate(VILLAGES):
            node = make_node(dirs[i], name=village.name, node_id=village.node_id, port=ports[i])
            if i == 0:
                with Session(node.engine) as session:
                    last_seq = EventLog.last_seq(session)
            for j, other in enumerate(VILLAGES):
                if i != j:
                    other_key = make_node(dirs[j]).key
                    body = {"id": other.node_id, "jwk": other_key.jwk(), "base_url": urls[j]}
                    add_peer(node.engine, checked_peer(body, village.node_id))
            node.close()

        token = mint_token(load_key(dirs[0] / "node-key.pem"), VILLAGES[0].node_id)
        admin = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as session:
            # Lütjenholm relays its whole log to Kafka first (in a running federation it
            # relays as it ingests); then Bredstedt starts and catches up on its own
            processes.append(start(dirs[0], ports[0], env))
            await ready(session, urls[0])
            while await relayed(session, urls[0], admin) < last_seq:
                await asyncio.sleep(0.2)
            processes.append(start(dirs[1], ports[1], env))
            await ready(session, urls[1])
            started = time.perf_counter()
            while not await visible_at(session, urls[1], graph, first_iri):
                await asyncio.sleep(0.1)
            first_seen = time.perf_counter()
            while not await visible_at(session, urls[1], graph, last_iri):
                await asyncio.sleep(0.1)
            finished = time.perf_counter()
            seen = await count_at(session, urls[1], graph)
            assert seen == made, f"{seen} of {made} observations at Bredstedt"
            pooled_seconds = finished - started
            steady_rate = made / (finished - first_seen)
            processes.append(start(dirs[2], ports[2], env))
            await ready(session, urls[2])

            # catalog events end to end
            latencies: list[float] = []
            for n in range(options.datasets):
                before = [await catalog_total(session, u) for u in urls[1:]]
                body = {**VILLAGES[0].datasets()[1], "id": f"bench-{n:03d}"}
                async with session.post(f"{urls[0]}/admin/datasets", json=body, headers=admin) as r:
                    assert r.status == 201, await r.text()
                acknowledged = time.perf_counter()
                for url, count in zip(urls[1:], before, strict=True):
                    while await catalog_total(session, url) <= count:
                        await asyncio.sleep(0.005)
                    latencies.append(time.perf_counter() - acknowledged)
        messages, raw_observations, raw_seconds = await raw_kafka(
            broker.bootstrap, env["ALLMENDE_FEDERATION_OBSERVATIONS_TOPIC"]
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(120)
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)

    print("\nFederation benchmark: 3 nodes + 1 Kafka broker (KRaft) on loopback, this machine")
    print(
        f"(Lütjenholm's log filled with {seen:,} observations in {filled:.1f} s before the run)\n"
    )
    header = f"{'measure':58} {'value':>14}   target"
    print(header)
    print("-" * (len(header) + 10))
    print(
        f"{'catalog event, acknowledged at A -> in B/C federated catalog p50':58} {statistics.median(latencies) * 1000:11.0f} ms"
    )
    print(
        f"{'catalog event, acknowledged at A -> in B/C federated catalog p99':58} {percentile(latencies, 0.99) * 1000:11.0f} ms   < 2,000 ms"
    )
    print(
        f"{'pooled observations visible at B, from its start':58} {seen / pooled_seconds:11,.0f} /s   >= 5,000 /s"
    )
    print(
        f"{'pooled observations visible at B, first to last':58} {steady_rate:11,.0f} /s   >= 5,000 /s"
    )
    print(
        f"{f'raw aiokafka produce -> consume, same {messages} messages':58} "
        f"{raw_observations / raw_seconds:11,.0f} /s   (baseline)"
    )


if __name__ == "__main__":
    asyncio.run(main())
