"""Street lights on demand: presses turned into downlinks, and coalescing under load.

    python bench/actuation/run.py [--segments 200] [--concurrency 20] [--minutes 2]

A node (in this process, on a loopback port, every press over HTTP with a resident token)
and a loopback stand-in of The Things Stack v3 that checks each downlink as documented.

1. Throughput: one press on each of `--segments` segments (each its own Class C
   controller), `--concurrency` at a time: presses/s that became a downlink request the
   network server took, and p50/p99 from sending the press to the network server taking
   the command.
2. Coalescing: 1,000 presses per minute on ONE segment (1-minute switching duration,
   extensions sent 10 s before a window ends) for
   `--minutes` minutes of the node's clock (run faster than real time; the node's sweeper
   runs every simulated second), with the stand-in sending back queued/sent/ack and the
   controller's status uplink: how many downlinks the network server got, and the least
   time between two of them on the node's clock (at least one window less the lead).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, select  # noqa: E402

from allmende.node.actuation.models import Switching  # noqa: E402
from allmende.node.actuation.service import Actuation, utc  # noqa: E402
from allmende.node.auth import mint_token  # noqa: E402
from allmende.node.http.app import create_app  # noqa: E402
from allmende.node.ingest.sources import new_secret  # noqa: E402
from tests.actuation.standins import TheThingsStack  # noqa: E402
from tests.support import admin_headers, make_node  # noqa: E402

NIGHT = datetime(2026, 12, 8, 0, 45, tzinfo=ZoneInfo("Europe/Berlin"))
POLICY: dict[str, Any] = {
    "@context": ["http://www.w3.org/ns/odrl.jsonld", {"allmende": "https://w3id.org/allmende/ns#"}],
    "@type": "Set",
    "uid": "https://bench.example/policies/licht",
    "permission": [
        {
            "action": "allmende:switch",
            "assignee": "allmende:residents",
            "constraint": [{"leftOperand": "count", "operator": "lteq", "rightOperand": 100}],
        }
    ],
}


class Clock:
    def __init__(self) -> None:
        self.now = NIGHT

    def __call__(self) -> datetime:
        return self.now


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def setup_node(
    directory: Path, segments: int, duration: int
) -> tuple[web.AppRunner, str, Actuation, TheThingsStack, Clock, Any]:
    node = make_node(directory, name="Benchdorf", node_id="https://bench.example/")
    secret = new_secret(node, "ttn")
    app = create_app(node)
    room: Actuation = app["actuation"]
    clock = Clock()
    room.clock = clock
    room.settings.extension_lead = 10.0
    room.settings.sweep_every = 3600.0  # the benchmark sweeps on the simulated clock
    runner, url = await serve(app)
    tts = TheThingsStack(url, secret)
    tts.devices = {tts.device} | {f"bench-{i}" for i in range(segments)}
    await tts.start()
    admin = admin_headers(node)
    async with aiohttp.ClientSession(headers=admin) as http:

        async def ok(method: str, path: str, body: Any) -> None:
            async with http.request(method, url + path, json=body) as answer:
                assert answer.status < 300, (answer.status, await answer.text())

        await ok("PUT", "/admin/actuation/policy", POLICY)
        for index in range(segments):
            device = tts.device if index == 0 else f"bench-{index}"
            await ok(
                "POST",
                "/admin/actuation/controllers",
                {
                    "id": f"c{index}",
                    "dev_eui": f"{index:016x}",
                    "network": "tts",
                    "server": tts.url,
                    "application_id": tts.application,
                    "device_id": device,
                    "webhook_id": tts.webhook_id,
                    "credential": tts.key,
                    "class": "C",
                    "codec": "milesight-ws558",
                },
            )
            lon = 8.96 + index * 1e-4
            await ok(
                "POST",
                "/admin/actuation/segments",
                {
                    "id": f"s{index}",
                    "name": f"Abschnitt {index} (Beispiel)",
                    "controller": f"c{index}",
                    "geometry": {"type": "LineString", "coordinates": [[lon, 54.64], [lon, 54.65]]},
                    "lamps": 10,
                    "watts": 40,
                    "duration": duration,
                    "dark_from": "00:30",
                    "dark_until": "05:30",
                },
            )
    return runner, url, room, tts, clock, node


async def throughput(segments: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        runner, url, room, tts, _clock, node = await setup_node(Path(folder), segments, 900)
        tokens = [
            mint_token(node.key, node.id, role="resident", subject=f"r{i}") for i in range(segments)
        ]
        sent: dict[str, float] = {}
        gate = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession() as http:

            async def press(index: int) -> None:
                async with gate:
                    started = time.perf_counter()
                    headers = {"Authorization": f"Bearer {tokens[index]}"}
                    async with http.post(
                        f"{url}/actuation/segments/s{index}/switch", headers=headers
                    ) as answer:
                        body = await answer.json()
                        assert answer.status == 202, body
                    sent["allmende:switching:" + body["id"]] = started

            began = time.perf_counter()
            await asyncio.gather(*(press(i) for i in range(segments)))
            await room.settle()
        done = max(tts.arrivals.values())
        latencies = [(tts.arrivals[c] - t) * 1000 for c, t in sent.items()]
        assert len(tts.accepted) == segments and tts.violations == []
        await tts.stop()
        await runner.cleanup()
        return {
            "presses": segments,
            "per_second": segments / (done - began),
            "p50_ms": statistics.median(latencies),
            "p99_ms": percentile(latencies, 0.99),
        }


async def coalescing(minutes: int) -> dict[str, float]:
    duration = 60
    with tempfile.TemporaryDirectory() as folder:
        runner, url, room, tts, clock, node = await setup_node(Path(folder), 1, duration)
        people = [
            mint_token(node.key, node.id, role="resident", subject=f"p{i}") for i in range(1000)
        ]
        presses = minutes * 1000
        step = timedelta(milliseconds=60)  # 1,000 presses per simulated minute
        statuses: dict[int, int] = {}
        began = time.perf_counter()
        swept = clock.now
        async with aiohttp.ClientSession() as http:
            for index in range(presses):
                headers = {"Authorization": f"Bearer {people[index % 1000]}"}
                async with http.post(f"{url}/actuation/segments/s0/switch", headers=headers) as a:
                    statuses[a.status] = statuses.get(a.status, 0) + 1
                    await a.read()
                clock.now += step
                if clock.now - swept >= timedelta(seconds=1):
                    swept = clock.now
                    await room.sweep()
                    await room.settle()
                    await tts.settle()
        await room.settle()
        await tts.settle()
        elapsed = time.perf_counter() - began
        with Session(node.engine) as session:
            commands = sorted(
                utc(row.created)
                for row in session.exec(select(Switching).where(Switching.state != "coalesced"))
            )
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(commands)]
        assert tts.violations == []
        await tts.stop()
        await runner.cleanup()
        return {
            "presses": presses,
            "accepted_202": statuses.get(202, 0),
            "downlinks": len(tts.accepted),
            "commands": len(commands),
            "least_gap": min(gaps) if gaps else float("inf"),
            "window": duration,
            "lead": room.settings.extension_lead,
            "wall_seconds": elapsed,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--minutes", type=int, default=2)
    args = parser.parse_args()
    first = asyncio.run(throughput(args.segments, args.concurrency))
    print("scenario                          presses  presses/s  p50 ms  p99 ms")
    print(
        f"press -> network server queue    {first['presses']:7d}  {first['per_second']:9.1f}"
        f"  {first['p50_ms']:6.1f}  {first['p99_ms']:6.1f}"
    )
    second = asyncio.run(coalescing(args.minutes))
    print()
    print(
        f"one segment, 1,000 presses/min for {args.minutes} min (node clock), "
        f"{second['window']:.0f}-s windows, extension {second['lead']:.0f} s before the end"
    )
    least = second["least_gap"]
    ok = least >= second["window"] - second["lead"]
    print(
        f"presses {second['presses']}, accepted {second['accepted_202']}, "
        f"downlinks {second['downlinks']}, least time between two {least:.1f} s "
        f"(at most one per window: {'yes' if ok else 'NO'}), {second['wall_seconds']:.1f} s wall"
    )


if __name__ == "__main__":
    main()
