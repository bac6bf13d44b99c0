"""`allmende demo`: three villages come up, federate, and stop cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import aiohttp
from click.testing import CliRunner

from allmende.node.demo.command import DEFAULT_BASE_PORT, base_port_for, demo, prepare
from tests.federation.villages import OBSERVATION, eventually


def three_free_ports() -> int:
    """A base port such that it and the two after it are free on loopback."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + 2 < 65536 and all(_free(base + i) for i in range(3)):
            return base
    raise AssertionError("no three consecutive free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def test_demo_starts_three_federating_villages_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    base = three_free_ports()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "allmende.node",
        "demo",
        "--base-port",
        str(base),
        "--interval",
        "0.5",
        "--directory",
        str(tmp_path / "demo"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    printed: list[str] = []
    try:
        while not any("Stop with Ctrl-C" in line for line in printed):
            line = await asyncio.wait_for(process.stdout.readline(), 120)
            assert line, "the demo ended early:\n" + "".join(printed)
            printed.append(line.decode())
        urls = [f"http://127.0.0.1:{base + i}" for i in range(3)]
        for url in urls:
            assert any(f"{url}/federation/catalog" in line for line in printed)
        bredstedt = urls[1]
        pooled_graph = f"{urls[0]}/graphs/datasets/raumklima"
        query = f"SELECT (COUNT(?o) AS ?n) WHERE {{ GRAPH <{pooled_graph}> {{ ?o a <{OBSERVATION}> }} }}"
        async with aiohttp.ClientSession() as session:

            async def catalog_complete() -> bool:
                async with session.get(
                    f"{bredstedt}/federation/catalog", headers={"Accept": "application/json"}
                ) as response:
                    body = await response.json()
                # three datasets a village, and Lütjenholm's street-light switchings
                return body["total"] == 3 * 3 + 1 and len(body["members"]) == 3

            async def readings_pooled() -> bool:
                async with session.get(
                    f"{bredstedt}/sparql",
                    params={"query": query},
                    headers={"Accept": "application/sparql-results+json"},
                ) as response:
                    rows = (await response.json())["results"]["bindings"]
                return int(rows[0]["n"]["value"]) > 0

            await eventually(catalog_complete, 60, "three villages' datasets at Bredstedt")
            await eventually(readings_pooled, 60, "Lütjenholm's readings at Bredstedt")
        process.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(process.stdout.read(), 60)
        assert await process.wait() == 0
        assert "demo stopped" in rest.decode()
        assert not any(_listening(base + i) for i in range(3))
    finally:
        if process.returncode is None:
            # Ctrl-C first: the demo stops its nodes (each in a session of its own), which a
            # kill would leave running
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()


def test_a_kept_demo_folder_starts_on_the_ports_it_was_made_for(tmp_path: Path) -> None:
    """Its catalog IRIs and events name those ports; other ports get one line, no traceback."""
    folder, base = tmp_path / "demo", three_free_ports()
    assert base_port_for(folder, None) == DEFAULT_BASE_PORT
    prepare(folder, base)
    assert base_port_for(folder, None) == base == base_port_for(folder, base)

    moved = CliRunner().invoke(demo, ["--directory", str(folder), "--base-port", str(base + 3)])
    assert moved.exit_code == 1 and isinstance(moved.exception, SystemExit)
    assert moved.stderr.splitlines() == [
        f"allmende demo: {folder} holds a demo made for ports {base}-{base + 2}: start it with "
        f"--base-port {base}, or give a new --directory for port {base + 3}"
    ]
