"""SIGKILL during a sustained ingest loses no acknowledged observation."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from allmende.node.runtime import Node
from tests.ingest.conftest import payload, prepare_village
from tests.support import make_node

CONCURRENCY = 8
KILL_AFTER = 400


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(directory: Path, port: int) -> subprocess.Popen[bytes]:
    command = shutil.which("allmende")
    argv = [command] if command else [sys.executable, "-m", "allmende.node"]
    log = open(directory / "serve.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [*argv, "serve", str(directory), "--port", str(port)], stdout=log, stderr=log
    )
    log.close()
    return process


async def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the node exited"
            try:
                async with session.get(url + "/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("node not ready")


def uplink(number: int) -> dict[str, Any]:
    body = payload("ttn-uplink-humidity.json")
    moment = f"2025-01-01T00:00:00.{number:06d}Z"
    body["received_at"] = body["uplink_message"]["received_at"] = moment
    del body["uplink_message"]["decoded_payload"]["firmware"]
    return body


def stored_times(directory: Path) -> set[datetime]:
    node = Node.open(directory)
    try:
        node.project()
        query = """PREFIX sosa: <http://www.w3.org/ns/sosa/>
        SELECT DISTINCT ?t WHERE { ?o sosa:resultTime ?t ; sosa:observedProperty
        <http://vocab.nerc.ac.uk/standard_name/relative_humidity/> }"""
        solutions = node.store.query(query, use_default_graph_as_union=True)
        return {datetime.fromisoformat(s["t"].value.replace("Z", "+00:00")) for s in solutions}
    finally:
        node.close()


async def test_sigkill_loses_no_acknowledged_observation(tmp_path: Path) -> None:
    node = make_node(tmp_path, name="Lütjenholm", node_id="https://luetjenholm.example/")
    secret = (await prepare_village(node))["ttn"]
    node.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve(tmp_path, port)
    await wait_ready(url, process)

    acknowledged: set[int] = set()
    counter = iter(range(1, 10**6))
    killed = asyncio.Event()
    headers = {"X-Allmende-Webhook-Secret": secret, "Content-Type": "application/json"}

    async def sender(session: aiohttp.ClientSession) -> None:
        while not killed.is_set():
            number = next(counter)
            try:
                async with session.post(
                    url + "/ingest/ttn", data=json.dumps(uplink(number)), headers=headers
                ) as r:
                    if r.status == 202:
                        acknowledged.add(number)
                    else:
                        assert r.status >= 500 or killed.is_set(), await r.text()
            except aiohttp.ClientError:
                if not killed.is_set():
                    raise
            if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                os.kill(process.pid, signal.SIGKILL)
                killed.set()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(*(sender(session) for _ in range(CONCURRENCY)))
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    process = serve(tmp_path, port)
    try:
        await wait_ready(url, process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    stored = stored_times(tmp_path)
    expected = {datetime(2025, 1, 1, 0, 0, 0, n, tzinfo=UTC) for n in acknowledged}
    missing = expected - stored
    assert len(acknowledged) >= KILL_AFTER
    assert not missing, f"{len(missing)} acknowledged observations lost, e.g. {sorted(missing)[:5]}"
