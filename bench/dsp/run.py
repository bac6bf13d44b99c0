"""Contract negotiations per second and their p50/p99 time: a stock Eclipse EDC 0.15.1 as
consumer against a node, next to the same EDC against an EDC 0.15.1 provider, same run, same
machine (both on loopback).

Run: `python bench/dsp/run.py [--negotiations 40] [--concurrency 4]`. Needs Java 17 and
Maven (`python -m tests.services prepare` resolves EDC's jars). The consumer's negotiations
are started and watched through EDC's management API exactly as a partner's scripts would;
a negotiation's time runs from the request to EDC reporting FINALIZED (polled every 20 ms
for both providers). The node runs as `python -m allmende.node serve` in its own process, like each
EDC; its side goes through the identity bridge of the EDC tests (tests/services/edc.py),
one more loopback hop than the EDC provider has, run in a process of its own
(bench/dsp/bridge.py). Goal: the node is at least as fast a
provider as EDC.
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
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import aiohttp

from allmende.node.auth import mint_token
from allmende.node.catalog import service
from allmende.node.runtime import Node
from tests.ingest.conftest import dataset_body
from tests.services.edc import EdcConnector, Management
from tests.services.ports import free_port, wait_for
from tests.support import make_node

CONSUMER, PROVIDER = "urn:bench:edc-consumer", "urn:bench:edc-provider"
DATASET = "parken-dorfplatz"


async def measure(
    edc: Management, target: tuple[str, dict[str, Any], str, str], count: int, width: int
) -> tuple[float, list[float], list[dict[str, Any]]]:
    """Negotiations per second, each one's seconds, and EDC's view of those that did not
    finalise (state and errorDetail, so a failure says why)."""
    gate = asyncio.Semaphore(width)
    durations: list[float] = []
    failed: list[dict[str, Any]] = []

    async def one() -> None:
        async with gate:
            started = time.perf_counter()
            result = await edc.negotiate(*target)
            if result.get("state") == "FINALIZED":
                durations.append(time.perf_counter() - started)
            else:
                failed.append({k: result.get(k) for k in ("@id", "state", "errorDetail")})

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return len(durations) / (time.perf_counter() - started), durations, failed


def row(name: str, rate: float, durations: list[float], failed: list[dict[str, Any]]) -> str:
    ordered = sorted(durations) or [float("nan")]
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"{name:<26} {rate:>8.1f} {p50 * 1000:>9.0f} {p99 * 1000:>9.0f} "
        f"{len(durations):>5} {len(failed):>6}"
    )


async def main(count: int, width: int) -> None:
    bridge_port, node_port = free_port(), free_port()
    directory = Path(tempfile.mkdtemp(prefix="allmende-bench-dsp-"))
    node = make_node(
        directory / "node",
        port=node_port,
        environ={"ALLMENDE_DSP_CALLBACK_HOSTS": f"127.0.0.1:{bridge_port}"},
    )
    await service.create(node, dataset_body(DATASET))
    node.close()  # the serving process opens the folder; this one keeps only the key and ids
    environ = {**os.environ, "ALLMENDE_DSP_CALLBACK_HOSTS": f"127.0.0.1:{bridge_port}"}
    command = [sys.executable, "-m", "allmende.node", "serve", str(directory / "node")]
    server = subprocess.Popen(
        [*command, "--port", str(node_port)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=(directory / "node.log").open("wb"),
    )

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{node.base_url}/.well-known/dspace-version", timeout=1):
                return True
        except OSError:
            return False

    try:
        wait_for(answers, 60, "the node answering")
        await compare(node, bridge_port, count, width)
    finally:
        server.terminate()
        server.wait(15)
        shutil.rmtree(directory, ignore_errors=True)


async def compare(node: Node, bridge_port: int, count: int, width: int) -> None:
    callback = {"edc.dsp.callback.address": f"http://127.0.0.1:{bridge_port}/edc"}
    with EdcConnector(CONSUMER, settings=callback) as consumer, EdcConnector(PROVIDER) as provider:
        print(
            f"EDC start-up: consumer {consumer.startup_seconds:.1f} s, "
            f"provider {provider.startup_seconds:.1f} s"
        )

        token = mint_token(node.key, node.id, role="participant", subject=CONSUMER, ttl=3600)
        # the bridge in a process of its own, as the EDC provider is: in this one it would
        # wait behind the management API polling of every running negotiation
        script = Path(__file__).with_name("bridge.py")
        arguments = [str(bridge_port), CONSUMER, consumer.protocol, node.base_url, node.id, token]
        bridge = subprocess.Popen(
            [sys.executable, str(script), *arguments], stdout=subprocess.PIPE, text=True
        )
        node_address = f"http://127.0.0.1:{bridge_port}/node"
        try:
            assert bridge.stdout is not None
            if bridge.stdout.readline().strip() != "ready":
                raise SystemExit("the identity bridge did not start")
            async with aiohttp.ClientSession() as http:
                edc = Management(consumer, http)
                await Management(provider, http).provide("bench-asset")
                edc_address = provider.protocol + "/2025-1"
                targets = {
                    "EDC consumer -> node": (
                        node_address,
                        await edc.offer(node_address, node.id, DATASET),
                        DATASET,
                        node.id,
                    ),
                    "EDC consumer -> EDC": (
                        edc_address,
                        await edc.offer(edc_address, PROVIDER, "bench-asset"),
                        "bench-asset",
                        PROVIDER,
                    ),
                }
                for target in targets.values():  # warm-up, not counted
                    # a few tries: two EDCs on a busy machine sometimes end one in the race
                    # between a reply and the step it answers (409), which EDC does not retry
                    for _ in range(3):
                        warm = await edc.negotiate(*target)
                        if warm.get("state") == "FINALIZED":
                            break
                    else:
                        raise SystemExit(f"a negotiation did not finalise: {warm}")
                print(
                    f"\n{count} negotiations each, {width} at a time\n"
                    f"{'provider':<26} {'neg/s':>8} {'p50 ms':>9} {'p99 ms':>9} "
                    f"{'done':>5} {'failed':>6}"
                )
                unfinished = []
                for name, target in targets.items():
                    rate, durations, failed = await measure(edc, target, count, width)
                    print(row(name, rate, durations, failed))
                    unfinished += [f"  {name}: {json.dumps(f)}" for f in failed]
                if unfinished:
                    print("\nnot finalised (EDC's view):", *unfinished, sep="\n")
        finally:
            bridge.terminate()
            bridge.wait(15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--negotiations", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.negotiations, arguments.concurrency))
