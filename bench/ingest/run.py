"""Ingest benchmark: real-format TTN uplinks against a running node, next to a bare baseline.

    python bench/ingest/run.py [--seconds 15] [--concurrency 32]

Starts a node (`allmende serve`) in a temporary folder with 50 registered room-climate
sensors, and a bare aiohttp server that only parses the JSON (the baseline). The same
scenarios run a second time with raw uplinks (`frm_payload` only, no decoder result) of 50
Milesight EM300-TH sensors registered by model, which the node decodes with the model's
JavaScript codec in its sandbox. For each scenario it prints acknowledged observations/s,
uplinks/s and requests/s, p50/p99 acknowledge latency,
and p99 time from acknowledge until the reading is visible in a SPARQL query (the node's
time-series endpoint runs one against the store), and how much CPU the server and the whole
machine used meanwhile, all measured in this one run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
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
RAW_MODEL = "milesight-em300-th"
SCENARIOS = (
    ("single uplink, 1 observation", 1, 1, False),
    ("batch of 100 uplinks, 3 observations each", 100, 3, False),
    ("raw: single uplink, 1 observation, codec", 1, 1, True),
    ("raw: batch of 100 uplinks, 3 obs each, codec", 100, 3, True),
)
TARGETS = (1500, 5000, 1500, 5000)
"""Observations/s the issue asks for, per scenario."""
BASE = "baseline: parse JSON only"
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
    server_cpu: float = float("nan")
    """Share of one core the server process used, in percent (200 = both cores)."""
    machine_busy: float = float("nan")
    """Share of the whole machine's CPU in use, load generator included, in percent."""


class CpuMeter:
    """CPU used by a process and by the whole machine between `start` and `stop` (Linux):
    tells whether a figure is bound by the machine or by waiting."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def _read(self) -> tuple[float, int, int]:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        process = (int(fields[11]) + int(fields[12])) / self.tick
        machine = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return process, sum(machine), machine[3] + machine[4]

    def start(self) -> None:
        self.began, self.started = time.perf_counter(), self._read()

    def stop(self, result: Result) -> None:
        process, total, idle = self._read()
        seconds = time.perf_counter() - self.began
        result.server_cpu = (process - self.started[0]) / seconds * 100
        result.machine_busy = (1 - (idle - self.started[2]) / (total - self.started[1])) * 100


class Uplinks:
    """Distinct uplinks as a network server sends them: device i of 50, each with its own
    uplink id (`as:up:` correlation id), frame counter and timestamp; 1 or 3 decoded fields,
    or (`raw`) the same readings as an EM300-TH's payload bytes without decoder result."""

    def __init__(self, fields: int, raw: bool = False) -> None:
        self.template = payload("ttn-uplink-humidity.json")
        self.fields = fields
        self.raw = raw
        self.counter = 0

    def next(self) -> tuple[dict[str, Any], str, str]:
        self.counter += 1
        body = json.loads(json.dumps(self.template))
        device = f"70B3D57ED0{2 if self.raw else 1}{self.counter % DEVICES:05X}"
        moment = f"2025-03-{1 + self.counter // 86_400_000 % 28:02d}T00:00:00.000000Z"
        seconds, micro = divmod(self.counter, 1_000_000)
        moment = f"2025-03-01T{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{micro:06d}Z"
        body["end_device_ids"]["dev_eui"] = device
        body["correlation_ids"][0] = f"as:up:01HXBENCH{self.counter:017d}"
        body["uplink_message"]["f_cnt"] = self.counter // DEVICES
        body["received_at"] = body["uplink_message"]["received_at"] = moment
        decoded = {"humidity": 40.0 + self.counter % 30}
        if self.fields == 3:
            decoded |= {"temperature": 20.5, "battery": 3.6}
        body["uplink_message"]["decoded_payload"] = decoded
        if self.raw:
            # the EM300-TH's channels: 04 68 humidity (x0.5), 01 75 battery, 03 67 temperature
            up = body["uplink_message"]
            del up["decoded_payload"]
            frame = bytes([0x04, 0x68, int(decoded["humidity"] * 2)])
            if self.fields == 3:
                frame += bytes([0x01, 0x75, 92, 0x03, 0x67, 205, 0])
            up["frm_payload"] = base64.b64encode(frame).decode()
            up["f_port"] = 85
            up["version_ids"] = {"brand_id": "milesight-iot", "model_id": "em300-th"}
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
    raw: bool = False,
) -> Result:
    result = Result()
    uplinks = Uplinks(fields, raw)
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


async def log_seq(node_url: str) -> int:
    """The newest event's sequence number, from the node's /metrics."""
    async with aiohttp.ClientSession() as session, session.get(node_url + "/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("allmende_event_log_seq "):
                return int(float(line.split()[1]))
    raise RuntimeError("/metrics has no allmende_event_log_seq")


def replay_into_fresh_store(
    work: Path, boundaries: list[int], results: list[Result]
) -> list[tuple[int, float, float]]:
    """Per scenario: observations, wall seconds and CPU seconds (this process, all its
    threads) to project its events again into an empty store: what the store costs alone."""
    from allmende.node.runtime import Node
    from allmende.node.store import OxigraphStore

    node = Node.open(work)
    store = OxigraphStore(work / "replayed")
    try:
        node.projector.catch_up(node.engine, store, until=boundaries[0])
        measured = []
        for until, result in zip(boundaries[1:], results, strict=True):
            cpu, began = time.process_time(), time.perf_counter()
            node.projector.catch_up(node.engine, store, until=until)
            store.flush()
            measured.append(
                (result.observations, time.perf_counter() - began, time.process_time() - cpu)
            )
        return measured
    finally:
        node.close()


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


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
    from allmende.node.ingest.registry import Registry, register

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
        await register(
            node,
            registry,
            {
                "device": f"70B3D57ED02{index:05X}",
                "dataset": "raumklima-dgh",
                "profile": RAW_MODEL,
                "lat": 54.6 + index / 1000,
                "lon": 8.97,
            },
        )
    node.close()

    node_port, base_port = free_port(), free_port()
    command = shutil.which("allmende") or sys.executable
    argv = [command] if command != sys.executable else [sys.executable, "-m", "allmende.node"]
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
        boundaries = [await log_seq(node_url)]
        for name, batch, fields, raw in SCENARIOS:
            if not raw:  # the baseline only parses JSON: raw or decoded is all one to it
                meter = CpuMeter(baseline.pid)
                meter.start()
                base = await load(
                    base_url + "/ingest/ttn",
                    headers,
                    batch,
                    fields,
                    options.seconds / 2,
                    options.concurrency,
                    None,
                )
                meter.stop(base)
                rows.append((name, BASE, base, batch))
            meter = CpuMeter(server.pid)
            meter.start()
            ours = await load(
                node_url + "/ingest/ttn",
                headers,
                batch,
                fields,
                options.seconds,
                options.concurrency,
                probe,
                raw,
            )
            meter.stop(ours)
            boundaries.append(await log_seq(node_url))
            rows.append((name, "Allmende node", ours, batch))
        stop(server, baseline)  # the replay below opens the node's files itself
        alone = replay_into_fresh_store(
            work, boundaries, [r for _, who, r, _ in rows if who != BASE]
        )
    finally:
        stop(server, baseline)
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nIngest benchmark: {options.concurrency} concurrent clients, {DEVICES} sensors, this machine\n"
    )
    header = f"{'scenario':44} {'server':26} {'obs/s':>9} {'uplinks/s':>10} {'req/s':>8} {'ack p50 ms':>11} {'ack p99 ms':>11} {'visible p99 ms':>15} {'its query p50 ms':>17} {'server CPU %':>13} {'machine busy %':>15}"
    print(header)
    print("-" * len(header))
    for name, server_name, r, batch in rows:
        visible = f"{percentile(r.visible, 0.99) * 1000:15.1f}" if r.visible else f"{'-':>15}"
        query = f"{percentile(r.query, 0.5) * 1000:17.1f}" if r.query else f"{'-':>17}"
        print(
            f"{name:44} {server_name:26} {r.observations / r.seconds:9.0f} {r.requests * batch / r.seconds:10.0f} {r.requests / r.seconds:8.0f} "
            f"{statistics.median(r.latencies) * 1000:11.1f} {percentile(r.latencies, 0.99) * 1000:11.1f} {visible} {query} {r.server_cpu:13.0f} {r.machine_busy:15.0f}"
        )
    print(
        "\nThe store alone: this run's events projected again into a fresh store, nothing else"
        " running (the projector's own code, in its biggest pages)\n"
    )
    for (name, _batch, _fields, _raw), (observations, seconds, cpu), target in zip(
        SCENARIOS, alone, TARGETS, strict=True
    ):
        per_cpu_second = observations / cpu
        print(
            f"{name:44} {observations / seconds:9.0f} obs/s, {per_cpu_second:7.0f} obs per CPU-second;"
            f" {target:,} obs/s would take {target / per_cpu_second * 100:4.0f} % CPU (of"
            f" {(os.cpu_count() or 1) * 100} %) for the store alone"
        )
    print(
        "\ntargets: >= 5,000 observations/s batched; >= 1,500 requests/s single; visible p99 < 1,000 ms"
        "\n(visible: from acknowledge until the time-series query sees the reading, that query's"
        " own round trip under load included; server CPU: 100 % is one of the machine's cores)"
    )


if __name__ == "__main__":
    asyncio.run(main())
