"""SPARQL fairness benchmark: a small query's latency on an idle node and next to heavy ones.

    python bench/sparql/fairness.py [--days 365] [--seconds 30] [--heavy 4] [--compare]

Loads the year of readings of bench/sparql/run.py with `allmende load`, starts
`allmende serve` with its default SPARQL settings (two workers: one for the heavy lane,
niced, one held for light queries), and measures in the same run: the small query
(the ten latest readings of one sensor) alone, then again while `--heavy` clients keep
aggregate queries over the whole year running in a loop. `--compare` repeats the loaded
part on a node with one lane for all and no niced workers (`sparql.light_workers = 0`,
`sparql.heavy_nice = 0`: how the node worked before lanes). Goal: the small query's p99
under load within 2x its p99 on the idle node.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import PREFIXES, QUERIES, allmende, answered_from, free_port, generate, warm

SMALL = (
    PREFIXES
    + """SELECT ?t ?v WHERE {
  ?o sosa:madeBySensor <https://luetjenholm.example/sensors/s03> ;
     sosa:resultTime ?t ; sosa:hasSimpleResult ?v .
} ORDER BY DESC(?t) LIMIT 10"""
)
HEAVY = [PREFIXES + body for aggregate, body in QUERIES.values() if aggregate]
JSON = {"Accept": "application/sparql-results+json"}


@dataclass
class Load:
    """What the heavy clients saw: answers, refusals by status, seconds per answer."""

    statuses: Counter[int] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)


async def post(session: aiohttp.ClientSession, url: str, query: str) -> tuple[int, float]:
    started = time.perf_counter()
    async with session.post(url, data={"query": query}, headers=JSON) as response:
        await response.read()
        return response.status, time.perf_counter() - started


async def small_latencies(url: str, seconds: float) -> list[float]:
    """The small query, one after another, for `seconds`; every answer must be 200."""
    timings = []
    async with aiohttp.ClientSession() as session:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            status, took = await post(session, url, SMALL)
            if status != 200:
                raise RuntimeError(f"the small query was answered {status}")
            timings.append(took)
    return timings


async def heavy_loop(url: str, index: int, stop: asyncio.Event, load: Load) -> None:
    """One client asking aggregate queries over the year, one after another; a refusal
    (429, 503) is honoured with a short pause, as a polite script would."""
    async with aiohttp.ClientSession() as session:
        turn = index
        while not stop.is_set():
            status, took = await post(session, url, HEAVY[turn % len(HEAVY)])
            load.statuses[status] += 1
            if status == 200:
                load.seconds.append(took)
                turn += 1
            else:
                await asyncio.sleep(0.5)


def quantiles(timings: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return cuts[49], cuts[98]


@dataclass
class Server:
    directory: Path
    environment: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Server:
        self.port = free_port()
        self.process = subprocess.Popen(
            allmende("serve", str(self.directory), "--port", str(self.port)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **self.environment},
        )
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                try:
                    async with session.get(f"{self.base}/health") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        await self.warm()
        return self

    async def warm(self) -> None:
        """Start both workers and wait until both answer from their in-memory copies: a
        heavy and the small query together, until both count as answered from memory."""
        url = f"{self.base}/sparql"
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                before = warm(await answered_from(session, self.base))
                await asyncio.gather(post(session, url, HEAVY[0]), post(session, url, SMALL))
                if warm(await answered_from(session, self.base)) - before >= 2:
                    return
                await asyncio.sleep(0.5)
        raise RuntimeError("the workers' in-memory copies did not become ready")

    async def __aexit__(self, *_: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


async def loaded(url: str, clients: int, seconds: float) -> tuple[list[float], Load]:
    """The small query's timings while `clients` heavy loops run (after they started)."""
    stop = asyncio.Event()
    load = Load()
    loops = [asyncio.create_task(heavy_loop(url, i, stop, load)) for i in range(clients)]
    await asyncio.sleep(2.0)  # the heavy queries are running and queued
    try:
        timings = await small_latencies(url, seconds)
    finally:
        stop.set()
        await asyncio.gather(*loops)
    return timings, load


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seconds", type=float, default=30.0, help="per measurement")
    parser.add_argument("--heavy", type=int, default=4, help="clients looping heavy queries")
    parser.add_argument("--compare", action="store_true", help="also one lane for all")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="allmende-bench-fairness-"))
    rows: list[tuple[str, list[float], Load | None]] = []
    try:
        data = work / "villages.nq"
        quads = generate(data, options.days)
        directory = work / "node"
        subprocess.run(
            allmende("init", str(directory), "--name", "Benchmark"),
            check=True,
            capture_output=True,
        )
        subprocess.run(allmende("load", str(directory), str(data)), check=True, capture_output=True)
        base_environment = {
            "ALLMENDE_SPARQL_RATE_PER_SECOND": "100000",
            "ALLMENDE_SPARQL_RATE_BURST": "100000",
            # the heavy loops come from one address: let each of them in, to queue
            "ALLMENDE_SPARQL_HEAVY_PER_CLIENT": str(options.heavy),
        }
        setups: list[tuple[str, dict[str, str]]] = [("lanes (defaults)", {})]
        if options.compare:
            before = {"ALLMENDE_SPARQL_LIGHT_WORKERS": "0", "ALLMENDE_SPARQL_HEAVY_NICE": "0"}
            setups.append(("one lane for all", before))
        for name, extra in setups:
            async with Server(directory, {**base_environment, **extra}) as server:
                url = f"{server.base}/sparql"
                if not rows:
                    rows.append(("idle node", await small_latencies(url, options.seconds), None))
                timings, busy = await loaded(url, options.heavy, options.seconds)
                rows.append((f"{options.heavy} heavy loops, {name}", timings, busy))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nSPARQL fairness: {quads} quads ({options.days} days), {os.cpu_count()} cores")
    print("small query: the 10 latest readings of one sensor; heavy: aggregates over the year")
    print(f"{options.seconds:g} s of small queries, one after another, per row\n")
    header = (
        f"{'node':34} {'small n':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99/idle':>9} "
        f"{'heavy done':>11} {'heavy p50 s':>12} {'refused':>8}"
    )
    print(header)
    print("-" * len(header))
    idle_p99 = quantiles(rows[0][1])[1]
    for name, timings, load in rows:
        p50, p99 = quantiles(timings)
        heavy = ""
        if load is not None:
            refused = sum(n for status, n in load.statuses.items() if status != 200)
            middle = statistics.median(load.seconds) if load.seconds else float("nan")
            heavy = f"{len(load.seconds):11d} {middle:12.2f} {refused:8d}"
        print(
            f"{name:34} {len(timings):8d} {p50 * 1000:8.1f} {p99 * 1000:8.1f} "
            f"{p99 / idle_p99:9.2f} {heavy}"
        )
    print("\nGoal: p99 under load within 2x the idle p99. 'heavy done': heavy answers during")
    print("the row; 'refused': 429/503 answers the heavy clients got (they pause 0.5 s).")


if __name__ == "__main__":
    asyncio.run(main())
