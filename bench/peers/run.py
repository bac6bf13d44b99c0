"""Side by side: the node against Oxigraph server and Apache Jena Fuseki, in one run.

    python bench/peers/run.py [--days 60] [--concurrency 4] [--seconds 4] [--only PART]

Generates bench/sparql's sample data set (three sample villages, 60 sensors, a reading every
six hours for `--days` days) and loads it with each system's own bulk loader: `allmende
load`, `oxigraph load` and Jena's TDB2 loader (`tdb2.tdbloader`, in the Fuseki server jar).
Then it starts the node (`allmende serve`, embedded store), Oxigraph server on the loaded
folder and Fuseki on the loaded TDB2 database (tests/services/sparql_stores.py) and sends
each system bench/sparql's query mix over HTTP with the same client and the same
concurrency: median and p99 per query and system, and the node's ratio to the best peer.
Last, single-reading uplinks: the node's webhook acknowledgements per second against an
Oxigraph server storing, per request, the quads the node stores for one such uplink
(SPARQL Update INSERT DATA), at the same concurrency. The goals of issue #30 are checked
against the figures of this run.

Then the scale-out (bench/peers/scale_out.py): query throughput with 1 and 2 read replicas
pinned to a core each, uplinks acknowledged by 1 and 2 serve processes on PostgreSQL, and
pooled observations between two nodes over Kafka against raw aiokafka on the same broker.
`--only peers` or `--only scale-out` (or `uplinks`, `replicas`, `workers`, `kafka`) runs one
part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.ingest.run import DEVICES, Uplinks, log_seq, wait_ready  # noqa: E402
from bench.sparql.run import (  # noqa: E402
    PREFIXES,
    QUERIES,
    allmende,
    free_port,
    generate,
    wait_for_memory_copy,
)
from tests.services.sparql_stores import FusekiServer, OxigraphServer, prepare  # noqa: E402

SMALL_QUERY_MS = 10.0
"""The issue's small queries: those Oxigraph server answers within 10 ms (median)."""
JAVA = ["-Xms256m", "-Xmx2g", "-XX:+UseSerialGC"]
"""Full JIT for the measured JVMs (the tests' Fuseki stops at C1 to start faster)."""


@dataclass
class Timings:
    samples: list[float] = field(default_factory=list)
    failed: int = 0
    seconds: float = 0.0
    cpu: float = float("nan")
    """CPU seconds the server's process (all its threads) used meanwhile, where measured."""

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def p99(self) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    @property
    def rate(self) -> float:
        return len(self.samples) / self.seconds if self.seconds else float("nan")

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / len(self.samples) if self.samples else float("nan")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process, all its threads (Linux's /proc): on a
    machine others use too, the CPU each request costs is steadier than requests/s."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FusekiTDB2(FusekiServer):
    """Fuseki serving one TDB2 database (`/ds`) with the union of its graphs as default
    graph, as the node and Oxigraph server (`--union-default-graph`) answer."""

    def __init__(self, location: Path) -> None:
        super().__init__()
        self.location = location

    def command(self) -> list[str]:
        base = super().command()
        jar = base[base.index("-jar") + 1]
        return [
            "java",
            *JAVA,
            "-jar",
            jar,
            "--localhost",
            f"--port={self.port}",
            "--tdb2",
            f"--loc={self.location}",
            "--set",
            "tdb:unionDefaultGraph=true",
            "/ds",
        ]


class UnionOxigraphServer(OxigraphServer):
    def command(self) -> list[str]:
        return [*super().command(), "--union-default-graph"]


async def drive(
    url: str,
    body: Callable[[], tuple[bytes | dict[str, str], dict[str, str]]],
    expect: int,
    concurrency: int,
    seconds: float,
    at_most: int | None = None,
    at_least: int = 0,
) -> Timings:
    """The one client for every system: `concurrency` requests in flight until `seconds`
    have passed (at least `at_least`, at most `at_most` requests); each request's latency."""
    result = Timings()
    deadline = time.perf_counter() + seconds
    sent = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal sent
        while (time.perf_counter() < deadline or sent < at_least) and (
            at_most is None or sent < at_most
        ):
            sent += 1
            data, headers = body()
            started = time.perf_counter()
            async with session.post(url, data=data, headers=headers) as response:
                await response.read()
                if response.status != expect:
                    result.failed += 1
                    raise RuntimeError(f"{url}: HTTP {response.status}: {await response.text()}")
            result.samples.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - began
    return result


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return time.perf_counter() - started


async def count_quads(url: str) -> int:
    """Every system is asked the same: how many quads (union default graph) it answers on."""
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, data={"query": query}, headers={"Accept": "application/sparql-results+json"}
        ) as response,
    ):
        answer = json.loads(await response.read())
    return int(answer["results"]["bindings"][0]["n"]["value"])


async def queries(
    endpoints: dict[str, str], concurrency: int, seconds: float, requests: int, warmup: float
) -> dict[str, dict[str, Timings]]:
    """Each query on each system in turn (the others idle): a warm-up of up to 10 requests
    or `warmup` seconds, then the load."""
    accept = {"Accept": "application/sparql-results+json"}
    table: dict[str, dict[str, Timings]] = {}
    for name, (_aggregate, text) in QUERIES.items():
        query = PREFIXES + text

        def ask(query: str = query) -> tuple[bytes | dict[str, str], dict[str, str]]:
            return {"query": query}, accept

        table[name] = {}
        for system, url in endpoints.items():
            # warm-up, one request at a time: caches, and the JVM's compiler for Fuseki
            await drive(url, ask, 200, 1, warmup, at_most=10, at_least=1)
            table[name][system] = await drive(
                url,
                ask,
                200,
                concurrency,
                seconds,
                at_most=requests,
                at_least=2 * concurrency,
            )
    return table


async def prepare_uplink_node(work: Path, environ: dict[str, str] | None = None) -> str:
    """A node with bench/ingest's 50 registered room-climate sensors; its TTN secret.
    `environ` may put it on PostgreSQL and a remote store (the scale-out's workers)."""
    from allmende.node.ingest.registry import Registry, register
    from tests.ingest.conftest import prepare_village
    from tests.support import make_node

    node = make_node(
        work,
        name="Lütjenholm (Benchmark)",
        node_id="https://luetjenholm.example/",
        environ=environ,
    )
    try:
        secret = (await prepare_village(node))["ttn"]
        registry = Registry(node)
        for index in range(DEVICES):
            await register(
                node,
                registry,
                {
                    "device": f"70B3D57ED01{index:05X}",
                    "dataset": "raumklima-dgh",
                    "profile": "room-climate",
                    "lat": 54.6 + index / 1000,
                    "lon": 8.96,
                },
            )
        return secret
    finally:
        node.close()


def quads_of_one_uplink(work: Path, before: int) -> tuple[list[ox.Quad], float]:
    """The quads the node's projector stores for the run's first uplink event (projected
    again into an empty in-memory store), and how many quads the whole run added."""
    from allmende.node.runtime import Node
    from allmende.node.store import OxigraphStore

    node = Node.open(work)
    store = OxigraphStore(None)
    try:
        node.projector.catch_up(node.engine, store, until=before)
        start = set(store.dump_nquads().decode().splitlines())
        node.projector.catch_up(node.engine, store, until=before + 1)
        one = set(store.dump_nquads().decode().splitlines()) - start
        node.projector.catch_up(node.engine, store)
        total = len(set(store.dump_nquads().decode().splitlines()) - start)
        parsed = list(ox.parse("\n".join(sorted(one)) + "\n", format=ox.RdfFormat.N_QUADS))
        return parsed, float(total)
    finally:
        store.close()
        node.close()


def insert_data(template: list[ox.Quad], number: int) -> bytes:
    """The template's quads with each IRI subject made the request's own, so every request
    stores as many new quads as the node's uplink did."""
    graphs: dict[str, list[str]] = {}
    for quad in template:
        subject = quad.subject
        if isinstance(subject, ox.NamedNode):
            mark = "-" if "#" in subject.value else "#"
            subject = ox.NamedNode(f"{subject.value}{mark}r{number}")
        triple = f"{subject} {quad.predicate} {quad.object} ."
        graph = "" if isinstance(quad.graph_name, ox.DefaultGraph) else str(quad.graph_name)
        graphs.setdefault(graph, []).append(triple)
    parts = [
        f"GRAPH {graph} {{ {' '.join(lines)} }}" if graph else " ".join(lines)
        for graph, lines in graphs.items()
    ]
    return f"INSERT DATA {{ {' '.join(parts)} }}".encode()


def node_environment() -> dict[str, str]:
    return {
        **os.environ,
        "ALLMENDE_SPARQL_RATE_PER_SECOND": "100000",
        "ALLMENDE_SPARQL_RATE_BURST": "100000",
        # one load generator stands for many clients: the per-client fair shares are lifted
        "ALLMENDE_SPARQL_HEAVY_PER_CLIENT": "64",
        "ALLMENDE_SPARQL_QUERY_SECONDS": "100000",
        "ALLMENDE_SPARQL_QUERY_SECONDS_PER_SECOND": "100000",
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60, help="days of readings (365: ~526k quads)")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight, queries")
    parser.add_argument("--seconds", type=float, default=4, help="per query and system")
    parser.add_argument("--requests", type=int, default=400, help="at most, per query and system")
    parser.add_argument("--warmup", type=float, default=3, help="seconds, per query and system")
    parser.add_argument("--uplink-concurrency", type=int, default=16)
    parser.add_argument("--uplink-seconds", type=float, default=10)
    parser.add_argument(
        "--only",
        choices=["peers", "uplinks", "scale-out", "replicas", "workers", "kafka"],
        help="one part (default: all): the peers' comparison (queries, bulk load and uplinks),"
        " its uplinks alone, or the scale-out (its three parts)",
    )
    parser.add_argument("--scale-seconds", type=float, default=10, help="per scale-out step")
    parser.add_argument("--replica-days", type=int, default=14, help="data on the replicas")
    parser.add_argument(
        "--replica-query", default="property path platform -> readings", choices=list(QUERIES)
    )
    parser.add_argument("--observations", type=int, default=60_000, help="pooled over Kafka")
    options = parser.parse_args()
    scale = {"replicas", "workers", "kafka"}
    sections = scale if options.only in (None, "scale-out") else {options.only} & scale
    if options.only is None or options.only == "peers":
        await peers(options)
    if options.only == "uplinks":
        work = Path(tempfile.mkdtemp(prefix="allmende-bench-uplinks-"))
        try:
            ours, peer, template, per_uplink = await uplinks(options, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        goals = report_uplinks(options, ours, peer, template, per_uplink)
        print(f"\nGoal of the issue, from this run (load average {os.getloadavg()[0]:.1f}):")
        for goal, met, figure in goals:
            print(f"  [{'met' if met else 'NOT met'}] {goal}: {figure}")
    if sections:
        from bench.peers.scale_out import run

        for goal, met, figure in await run(options, sections):
            print(f"  [{'met' if met else 'NOT met'}] {goal}: {figure}")


async def peers(options: argparse.Namespace) -> None:
    load_before = os.getloadavg()

    work = Path(tempfile.mkdtemp(prefix="allmende-bench-peers-"))
    processes: list[subprocess.Popen[bytes]] = []
    servers: list[OxigraphServer | FusekiServer] = []
    try:
        data = work / "villages.nq"
        quads = generate(data, options.days)
        print(f"{quads} quads generated ({options.days} days); loading ...", flush=True)

        node_dir = work / "node"
        subprocess.run(
            allmende("init", str(node_dir), "--name", "Benchmark"), check=True, capture_output=True
        )
        loads = {
            "Allmende": timed(allmende("load", str(node_dir), str(data))),
            "Oxigraph server": timed(
                ["oxigraph", "load", "--location", str(work / "oxigraph"), "--file", str(data)]
            ),
        }
        jar = next(prepare().glob("jena-fuseki-server-*.jar"))
        loads["Fuseki TDB2"] = timed(
            [
                "java",
                *JAVA,
                "-cp",
                str(jar),
                "tdb2.tdbloader",
                "--loc",
                str(work / "tdb2"),
                str(data),
            ]
        )

        port = free_port()
        node = subprocess.Popen(
            allmende("serve", str(node_dir), "--port", str(port)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=node_environment(),
        )
        processes.append(node)
        oxigraph = UnionOxigraphServer(location=work / "oxigraph").start()
        fuseki = FusekiTDB2(work / "tdb2").start()
        servers += [oxigraph, fuseki]
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base + "/health")
        await wait_for_memory_copy(
            base, PREFIXES + "ASK { ?s ?p ?o }", "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
        )
        endpoints = {
            "Allmende": base + "/sparql",
            "Oxigraph server": oxigraph.url + "/query",
            "Fuseki TDB2": f"http://127.0.0.1:{fuseki.port}/ds/query",
        }
        counts = {system: await count_quads(url) for system, url in endpoints.items()}
        print(f"quads each system answers on: {counts}; querying ...", flush=True)
        table = await queries(
            endpoints, options.concurrency, options.seconds, options.requests, options.warmup
        )
        stop(node)
        for server in servers:
            server.stop()

        ours, peer, template, per_uplink = await uplinks(options, work)
    finally:
        for process in processes:
            stop(process)
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    report(options, quads, counts, loads, table, ours, peer, template, per_uplink, load_before)


async def uplinks(
    options: argparse.Namespace, work: Path
) -> tuple[Timings, Timings, list[ox.Quad], float]:
    """Single-reading uplinks: the node's TTN webhook acknowledgements against an Oxigraph
    server storing, per request, the quads the node stored for one uplink."""
    processes: list[subprocess.Popen[bytes]] = []
    servers: list[OxigraphServer] = []
    try:
        # single-reading uplinks: the node against Oxigraph server storing the same quads
        uplink_dir = work / "uplinks"
        secret = await prepare_uplink_node(uplink_dir)
        port = free_port()
        node = subprocess.Popen(
            allmende("serve", str(uplink_dir), "--port", str(port)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=node_environment(),
        )
        processes.append(node)
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base + "/health")
        before = await log_seq(base)
        generator = Uplinks(1)
        headers = {"X-Allmende-Webhook-Secret": secret, "Content-Type": "application/json"}
        print("uplinks ...", flush=True)
        used = cpu_seconds(node.pid)
        ours = await drive(
            base + "/ingest/ttn",
            lambda: (json.dumps(generator.next()[0]).encode(), headers),
            202,
            options.uplink_concurrency,
            options.uplink_seconds,
        )
        ours.cpu = cpu_seconds(node.pid) - used
        stop(node)
        template, total = quads_of_one_uplink(uplink_dir, before)
        per_uplink = total / len(ours.samples)
        store = UnionOxigraphServer(location=work / "oxigraph-uplinks").start()
        servers.append(store)
        numbers = iter(range(1, 10**9))
        update = {"Content-Type": "application/sparql-update"}
        pid = store.process.pid if store.process is not None else 0
        used = cpu_seconds(pid)
        peer = await drive(
            store.url + "/update",
            lambda: (insert_data(template, next(numbers)), update),
            204,
            options.uplink_concurrency,
            options.uplink_seconds,
        )
        peer.cpu = cpu_seconds(pid) - used
        store.stop()
    finally:
        for process in processes:
            stop(process)
        for server in servers:
            server.stop()
    return ours, peer, template, per_uplink


def report(
    options: argparse.Namespace,
    quads: int,
    counts: dict[str, int],
    loads: dict[str, float],
    table: dict[str, dict[str, Timings]],
    ours: Timings,
    peer: Timings,
    template: list[ox.Quad],
    per_uplink: float,
    load_before: tuple[float, float, float],
) -> None:
    systems = list(loads)
    print(
        f"\nNode and peers: {quads} quads ({options.days} days of bench/sparql's sample data),"
        f" {os.cpu_count()} cores, load average before {load_before[0]:.1f},"
        f" after {os.getloadavg()[0]:.1f}"
    )
    print(f"quads answered by each (union default graph): {counts}")
    print(
        f"\nSPARQL over HTTP, {options.concurrency} requests in flight, same aiohttp client;"
        " ms (median / p99), n requests; ratio = node's median / best peer's median"
    )
    header = f"{'query':38}" + "".join(f"{s:>26}" for s in systems) + f"{'ratio':>8}"
    print(header)
    print("-" * len(header))
    goals: list[tuple[str, bool, str]] = []
    for name, by_system in table.items():
        aggregate = QUERIES[name][0]
        cells = "".join(
            f"{f'{t.median * 1000:.1f} / {t.p99 * 1000:.1f} ({len(t.samples)})':>26}"
            for t in by_system.values()
        )
        node_median = by_system["Allmende"].median
        peers = {s: t.median for s, t in by_system.items() if s != "Allmende"}
        ratio = node_median / min(peers.values())
        print(f"{name + (' *' if aggregate else ''):38}{cells}{ratio:8.2f}")
        oxigraph = peers["Oxigraph server"]
        if aggregate:
            goals.append(
                (f"aggregate '{name}' faster than both peers", ratio < 1, f"{ratio:.2f}x best peer")
            )
        if oxigraph * 1000 <= SMALL_QUERY_MS:
            to_ox = node_median / oxigraph
            goals.append(
                (f"small query '{name}' <= 1.3x Oxigraph server", to_ox <= 1.3, f"{to_ox:.2f}x")
            )
    print("* aggregate query")
    if not any(goal.startswith("small query") for goal, _, _ in goals):
        print(f"  (no query took at most {SMALL_QUERY_MS:g} ms on Oxigraph server: no small query)")

    print(
        "\nBulk load of the same N-Quads file (wall seconds, the loader's process start included)"
    )
    for system, seconds in loads.items():
        tool = {
            "Allmende": "allmende load",
            "Oxigraph server": "oxigraph load",
            "Fuseki TDB2": "java tdb2.tdbloader (Fuseki jar)",
        }[system]
        print(f"  {system:18} {tool:34} {seconds:7.1f} s  {quads / seconds:9.0f} quads/s")
    speed = loads["Oxigraph server"] / loads["Allmende"]
    goals.append(("bulk load >= 0.5x oxigraph load's speed", speed >= 0.5, f"{speed:.2f}x"))

    goals += report_uplinks(options, ours, peer, template, per_uplink)

    print("\nGoals of the issue, from this run:")
    for goal, met, figure in goals:
        print(f"  [{'met' if met else 'NOT met'}] {goal}: {figure}")
    print("  (the scale-out's goals follow its own table)")


def report_uplinks(
    options: argparse.Namespace,
    ours: Timings,
    peer: Timings,
    template: list[ox.Quad],
    per_uplink: float,
) -> list[tuple[str, bool, str]]:
    """The uplinks' table; the issue's goal for them."""
    goals: list[tuple[str, bool, str]] = []
    print(
        f"\nSingle-reading uplinks, {options.uplink_concurrency} requests in flight,"
        f" {options.uplink_seconds:.0f} s each"
    )
    print(
        f"  Allmende node, TTN webhook (202)          {ours.rate:7.0f} req/s"
        f"  ack median {ours.median * 1000:.1f} ms, p99 {ours.p99 * 1000:.1f} ms;"
        f" {per_uplink:.1f} quads stored per uplink"
    )
    print(
        f"  Oxigraph server, INSERT DATA ({len(template)} quads)  {peer.rate:7.0f} req/s"
        f"  median {peer.median * 1000:.1f} ms, p99 {peer.p99 * 1000:.1f} ms"
    )
    print(
        f"  CPU per request (the server's process): node {ours.cpu_per_request * 1000:.2f} ms,"
        f" Oxigraph server {peer.cpu_per_request * 1000:.2f} ms"
        f" (Oxigraph's / node's: {peer.cpu_per_request / ours.cpu_per_request:.2f})"
    )
    uplink_ratio = ours.rate / peer.rate
    goals.append(
        (
            "single-reading uplinks >= 0.7x Oxigraph server",
            uplink_ratio >= 0.7,
            f"{uplink_ratio:.2f}x",
        )
    )

    return goals


if __name__ == "__main__":
    asyncio.run(main())
