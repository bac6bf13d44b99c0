"""Ingest benchmark: real-format TTN uplinks against a running node, next to a bare baseline.

    python bench/ingest/run.py [--seconds 15] [--concurrency 32]

Starts a node (`allmende serve`) in a temporary folder with 50 registered room-climate
sensors, and a bare aiohttp server that only parses the JSON (the baseline). For each
scenario it prints acknowledged observations/s and requests/s, p50/p99 acknowledge latency,
and p99 time from acknowledge until the reading is visible in a SPARQL query (the node's
time-series endpoint runs one against the store), all measured in this one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.ingest.conftest import payload, prepare_village  # noqa: E402
from tests.support import make_node  # noqa: E402

DEVICES = 50
BASELINE = textwrap.dedent(
    """
    import json, sys
    from aiohttp import web
    async def handle(request):
        json.loads(await request.read())
        return web.json_response({"ok": True}, status=202)
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/ingest/ttn", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Result:
    requests: int = 0
    observations: int = 0
    latencies: list[float] = field(default_factory=list)
    visible: list[float] = field(default_factory=list)
    query: list[float] = field(default_factory=list)
    """How long the probe query that found the reading took: part of `visible`."""
    seconds: float = 0.0


class Uplinks:
    """Distinct uplinks: device i of 50, a fresh timestamp each, 1 or 3 decoded fields."""

    def __init__(self, fields: int) -> None:
        self.template = payload("ttn-uplink-humidity.json")
        self.fields = fields
        self.counter = 0

    def next(self) -> tuple[dict[str, Any], str, str]:
        self.counter += 1
        body = json.loads(json.dumps(self.template))
        device = f"70B3D57ED01{self.counter % DEVICES:05X}"
        moment = f"2025-03-{1 + self.counter // 86_400_000 % 28:02d}T00:00:00.000000Z"
        seconds, micro = divmod(self.counter, 1_000_000)
        moment = f"2025-03-01T{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{micro:06d}Z"
        body["end_device_ids"]["dev_eui"] = device
        body["received_at"] = body["uplink_message"]["received_at"] = moment
        decoded = {"humidity": 40.0 + self.counter % 30}
        if self.fields == 3:
            decoded |= {"temperature": 20.5, "battery": 3.6}
        body["uplink_message"]["decoded_payload"] = decoded
        return body, device.lower(), moment


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


async def load(
    url: str,
    headers: dict[str, str],
    batch: int,
    fields: int,
    seconds: float,
    concurrency: int,
    probe_base: str | None,
) -> Result:
    result = Result()
    uplinks = Uplinks(fields)
    deadline = time.perf_counter() + seconds
    latest: list[tuple[str, str, float]] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            items = [uplinks.next() for _ in range(batch)]
            body = json.dumps([i[0] for i in items] if batch > 1 else items[0][0])
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 202:
                    raise RuntimeError(f"status {response.status}")
            acked = time.perf_counter()
            result.latencies.append(acked - started)
            result.requests += 1
            result.observations += batch * fields
            latest.append((items[-1][1], items[-1][2], acked))

    async def prober(session: aiohttp.ClientSession) -> None:
        """Every 200 ms: how long until the newest acknowledged reading is queryable."""
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
            if not latest:
                continue
            device, moment, acked = latest[-1]
            params = {"sensor": device, "from": moment, "to": moment}
            while True:
                asked = time.perf_counter()
                async with session.get(probe_base or "", params=params) as response:
                    body = await response.json()
                if any(s["points"] for s in body.get("series", [])):
                    result.visible.append(time.perf_counter() - acked)
                    result.query.append(time.perf_counter() - asked)
                    break
                await asyncio.sleep(0.005)

    connector = aiohttp.TCPConnector(limit=concurrency + 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        tasks = [worker(session) for _ in range(concurrency)]
        if probe_base:
            tasks.append(prober(session))
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - started
    return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=32)
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="allmende-bench-"))
    node = make_node(work, name="Lütjenholm (Benchmark)", node_id="https://luetjenholm.example/")
    secret = (await prepare_village(node))["ttn"]
    from node.ingest.registry import Registry, register

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
    node.close()

    node_port, base_port = free_port(), free_port()
    command = shutil.which("allmende") or sys.executable
    argv = [command] if command != sys.executable else [sys.executable, "-m", "node"]
    server = subprocess.Popen(
        [*argv, "serve", str(work), "--port", str(node_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    baseline = subprocess.Popen([sys.executable, "-c", BASELINE, str(base_port)])
    node_url, base_url = f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{base_port}"
    headers = {"X-Allmende-Webhook-Secret": secret, "Content-Type": "application/json"}
    try:
        await wait_ready(node_url + "/health")
        await wait_ready(base_url + "/ingest/ttn")
        probe = node_url + "/datasets/raumklima-dgh/observations"
        rows = []
        for name, batch, fields in (
            ("single uplink, 1 observation", 1, 1),
            ("batch of 100 uplinks, 3 observations each", 100, 3),
        ):
            base = await load(
                base_url + "/ingest/ttn",
                headers,
                batch,
                fields,
                options.seconds / 2,
                options.concurrency,
                None,
            )
            ours = await load(
                node_url + "/ingest/ttn",
                headers,
                batch,
                fields,
                options.seconds,
                options.concurrency,
                probe,
            )
            rows.append((name, "baseline: parse JSON only", base))
            rows.append((name, "Allmende node", ours))
    finally:
        for process in (server, baseline):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nIngest benchmark: {options.concurrency} concurrent clients, {DEVICES} sensors, this machine\n"
    )
    header = f"{'scenario':44} {'server':26} {'obs/s':>9} {'req/s':>8} {'ack p50 ms':>11} {'ack p99 ms':>11} {'visible p99 ms':>15} {'its query p50 ms':>17}"
    print(header)
    print("-" * len(header))
    for name, server_name, r in rows:
        visible = f"{percentile(r.visible, 0.99) * 1000:15.1f}" if r.visible else f"{'-':>15}"
        query = f"{percentile(r.query, 0.5) * 1000:17.1f}" if r.query else f"{'-':>17}"
        print(
            f"{name:44} {server_name:26} {r.observations / r.seconds:9.0f} {r.requests / r.seconds:8.0f} "
            f"{statistics.median(r.latencies) * 1000:11.1f} {percentile(r.latencies, 0.99) * 1000:11.1f} {visible} {query}"
        )
    print(
        "\ntargets: >= 5,000 observations/s batched; >= 1,500 requests/s single; visible p99 < 1,000 ms"
        "\n(visible: from acknowledge until the time-series query sees the reading, that query's"
        " own round trip under load included)"
    )


if __name__ == "__main__":
    asyncio.run(main())
