"""The node against Oxigraph server on some of bench/sparql's queries, quickly.

    python bench/peers/small_queries.py [--queries within,catalog] [--days 60] [--concurrency 4]

The queries part of `bench/peers/run.py --only peers` without Fuseki, bulk-load and uplink
figures: the same generated sample data, loaded by `allmende load` and `oxigraph load`,
the same client (`drive`) and concurrency, each system's median and p99 and the node's
ratio to Oxigraph server. For trying a change to the query path in a minute: each query
alternates between the systems `--rounds` times, so both see the same machine load.
`--queries` picks queries whose name contains one of the given words.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.ingest.run import wait_ready  # noqa: E402
from bench.peers.run import (  # noqa: E402
    Timings,
    UnionOxigraphServer,
    drive,
    node_environment,
    stop,
    timed,
)
from bench.sparql.run import (  # noqa: E402
    PREFIXES,
    QUERIES,
    allmende,
    answered_from,
    free_port,
    generate,
    wait_for_memory_copy,
)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", default="within,catalog", help="comma-separated words")
    parser.add_argument("--days", type=int, default=60, help="days of readings")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=2, help="per query, system and round")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    words = [w.strip().lower() for w in options.queries.split(",") if w.strip()]
    chosen = {n: q for n, (_a, q) in QUERIES.items() if any(w in n.lower() for w in words)}
    if not chosen:
        parser.error(f"no query matches {options.queries!r}; they are: {', '.join(QUERIES)}")

    work = Path(tempfile.mkdtemp(prefix="allmende-bench-small-"))
    node: subprocess.Popen[bytes] | None = None
    server: UnionOxigraphServer | None = None
    try:
        data = work / "villages.nq"
        quads = generate(data, options.days)
        node_dir = work / "node"
        subprocess.run(
            allmende("init", str(node_dir), "--name", "Benchmark"), check=True, capture_output=True
        )
        timed(allmende("load", str(node_dir), str(data)))
        timed(["oxigraph", "load", "--location", str(work / "oxigraph"), "--file", str(data)])
        port = free_port()
        node = subprocess.Popen(
            allmende("serve", str(node_dir), "--port", str(port)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=node_environment(),
        )
        server = UnionOxigraphServer(location=work / "oxigraph").start()
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base + "/health")
        await wait_for_memory_copy(
            base, PREFIXES + "ASK { ?s ?p ?o }", "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
        )
        endpoints = {"Allmende": base + "/sparql", "Oxigraph server": server.url + "/query"}
        accept = {"Accept": "application/sparql-results+json"}
        table: dict[str, dict[str, Timings]] = {}
        for name, text in chosen.items():
            query = PREFIXES + text

            def ask(query: str = query) -> tuple[dict[str, str], dict[str, str]]:
                return {"query": query}, accept

            table[name] = {system: Timings() for system in endpoints}
            for url in endpoints.values():
                await drive(url, ask, 200, 1, 2, at_most=10, at_least=1)
            for _ in range(options.rounds):
                for system, url in endpoints.items():
                    measured = await drive(
                        url, ask, 200, options.concurrency, options.seconds, at_least=8
                    )
                    table[name][system].samples += measured.samples
        async with aiohttp.ClientSession() as session:
            answered = await answered_from(session, base)
    finally:
        if node is not None:
            stop(node)
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\n{quads} quads ({options.days} days), {options.concurrency} requests in flight,"
        f" load average {os.getloadavg()[0]:.1f}; ms median / p99 (n)"
    )
    print(f"{'query':38}{'Allmende':>24}{'Oxigraph server':>24}{'ratio':>8}")
    for name, by_system in table.items():
        cells = "".join(
            f"{f'{t.median * 1000:.1f} / {t.p99 * 1000:.1f} ({len(t.samples)})':>24}"
            for t in by_system.values()
        )
        ratio = by_system["Allmende"].median / by_system["Oxigraph server"].median
        print(f"{name:38}{cells}{ratio:8.2f}")
    print("The node's answers by store: " + ", ".join(f"{k} {v:.0f}" for k, v in answered.items()))


if __name__ == "__main__":
    asyncio.run(main())
