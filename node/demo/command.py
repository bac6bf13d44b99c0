"""`allmende demo`: start three village nodes, make them trust each other, feed them
simulated sensors, print where to look, and stop everything cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import click

from allmende.node import db
from allmende.node.auth import mint_token
from allmende.node.config import load_settings
from allmende.node.demo import streetlights
from allmende.node.demo.simulator import uplink
from allmende.node.demo.villages import VILLAGES, Village
from allmende.node.federation.trust import add_peer, checked_peer
from allmende.node.keys import load_key
from allmende.node.setup_files import init_directory

START_TIMEOUT = 90.0
ADMIN_TTL = 7 * 24 * 3600
DEFAULT_BASE_PORT = 8701


class DemoError(Exception):
    pass


def base_port_for(folder: Path, asked: int | None) -> int:
    """The port of the first village: the one a kept demo folder was made for, else `asked`.

    Catalog IRIs and the event log carry each node's address, so a kept folder cannot move
    to other ports; asking for other ones gets one line saying what to do instead."""
    made_for = _first_port(folder)
    if made_for is None:
        return asked or DEFAULT_BASE_PORT
    if asked is not None and asked != made_for:
        raise DemoError(
            f"{folder} holds a demo made for ports {made_for}-{made_for + len(VILLAGES) - 1}: "
            f"start it with --base-port {made_for}, or give a new --directory for port {asked}"
        )
    return made_for


def _first_port(folder: Path) -> int | None:
    config = folder / VILLAGES[0].slug / "allmende.toml"
    return load_settings(config.parent).http.port if config.exists() else None


def prepare(folder: Path, base_port: int) -> list[tuple[Village, Path, int]]:
    """Create (once) each village's node folder and pin the others as trusted peers."""
    placed = []
    for offset, village in enumerate(VILLAGES):
        directory = folder / village.slug
        port = base_port + offset
        if not (directory / "allmende.toml").exists():
            init_directory(directory, name=village.name, node_id=village.node_id, port=port)
        placed.append((village, directory, port))
    for village, directory, _port in placed:
        engine = db.make_engine(load_settings(directory).database_url)
        db.upgrade(engine)
        for other, other_directory, other_port in placed:
            if other is village:
                continue
            body = {
                "id": other.node_id,
                "name": other.name,
                "jwk": load_key(other_directory / "node-key.pem").jwk(),
                "base_url": f"http://127.0.0.1:{other_port}",
            }
            add_peer(engine, checked_peer(body, village.node_id))
        engine.dispose()
    return placed


def start(directory: Path, port: int, kafka: str, lights: bool = False) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ALLMENDE_HTTP_PORT": str(port), "ALLMENDE_HTTP_HOST": "127.0.0.1"}
    if lights:  # the street lights run on a winter night's clock (node.demo.streetlights)
        env[streetlights.ENVIRONMENT] = "night"
    env["ALLMENDE_NODE_BASE_URL"] = f"http://127.0.0.1:{port}"
    if kafka:
        env["ALLMENDE_KAFKA_BOOTSTRAP_SERVERS"] = kafka
    log = (directory / "node.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "allmende.node", "serve", str(directory)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches the demo, which stops the nodes in order
    )


async def wait_ready(
    session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    while asyncio.get_running_loop().time() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise DemoError(f"the node at {url} stopped:\n{tail}")
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(
                f"{url}/health", timeout=aiohttp.ClientTimeout(total=3)
            ) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise DemoError(f"the node at {url} did not become ready within {START_TIMEOUT:.0f} s")


async def _send(
    session: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], body: Any
) -> Any:
    async with session.request(method, url, json=body, headers=headers) as response:
        if response.status >= 400 and response.status != 409:
            raise DemoError(f"{method} {url}: {response.status} {await response.text()}")
        return await response.json() if response.content_type == "application/json" else None


def _admin_token(village: Village, directory: Path) -> str:
    return mint_token(load_key(directory / "node-key.pem"), village.node_id, ttl=ADMIN_TTL)


async def seed(session: aiohttp.ClientSession, village: Village, directory: Path, url: str) -> str:
    """Datasets, devices and a TTN webhook secret; returns the secret."""
    admin = {"Authorization": f"Bearer {_admin_token(village, directory)}"}
    for dataset in village.datasets(url):
        await _send(session, "POST", f"{url}/admin/datasets", admin, dataset)
    for sensor in village.sensors():
        device = {
            "device": sensor.device_id,
            "dataset": sensor.dataset,
            "profile": sensor.profile,
            "lat": sensor.lat,
            "lon": sensor.lon,
            "label": f"{sensor.label} (Beispiel)",
        }
        await _send(session, "POST", f"{url}/admin/devices", admin, device)
    answer = await _send(session, "POST", f"{url}/admin/ingest/sources/ttn/secret", admin, None)
    return str(answer["secret"])


async def simulate(
    session: aiohttp.ClientSession,
    targets: list[tuple[Village, str, str]],
    interval: float,
    stop: asyncio.Event,
) -> None:
    rng = random.Random(7)
    counter = 0
    while not stop.is_set():
        counter += 1
        for village, url, secret in targets:
            headers = {"X-Allmende-Webhook-Secret": secret}
            for sensor in village.sensors():
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.post(
                        f"{url}/ingest/ttn", json=uplink(sensor, counter, rng), headers=headers
                    ):
                        pass
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await stop.wait()


def banner(placed: list[tuple[Village, Path, int]], kafka: str, folder: Path) -> str:
    lines = [
        "",
        "Allmende demo: three sample villages on loopback (all data here is sample data).",
        "",
    ]
    for village, directory, port in placed:
        url = f"http://127.0.0.1:{port}"
        lines += [
            f"  {village.name:<11} {url}/",
            f"  {'':<11} federated catalog  {url}/federation/catalog",
            f"  {'':<11} SPARQL             {url}/sparql",
            f"  {'':<11} console token      allmende token {directory}",
        ]
        if village is VILLAGES[0]:
            lines.append(f"  {'':<11} street lights      {url}/licht  (simulated controllers)")
    via = f"Kafka at {kafka}" if kafka else "the embedded HTTP event feed"
    lines += [
        "",
        f"The villages share their open datasets over {via}; the street lights stay at home.",
        f"Node folders and logs: {folder}",
        "Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def run(folder: Path, base_port: int, kafka: str, interval: float) -> None:
    placed = prepare(folder, base_port)
    processes = [
        start(directory, port, kafka, lights=village is VILLAGES[0])
        for village, directory, port in placed
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    network: streetlights.Network | None = None
    try:
        async with aiohttp.ClientSession() as session:
            targets = []
            for (village, directory, port), process in zip(placed, processes, strict=True):
                url = f"http://127.0.0.1:{port}"
                await wait_ready(session, url, process, directory / "node.log")
                targets.append((village, url, await seed(session, village, directory, url)))
            village, directory, _port = placed[0]
            url, secret = targets[0][1], targets[0][2]
            network = streetlights.Network(url, secret)
            await network.start()
            admin = {"Authorization": f"Bearer {_admin_token(village, directory)}"}
            await streetlights.seed(session, url, admin, network.url)
            click.echo(banner(placed, kafka, folder), nl=False)
            sys.stdout.flush()
            await simulate(session, targets, interval, stop)
    finally:
        if network is not None:
            await network.stop()
        await asyncio.to_thread(stop_all, processes)


@click.command()
@click.option(
    "--base-port",
    type=int,
    default=None,
    help=f"The nodes listen here and on the two ports after it (default: {DEFAULT_BASE_PORT}, "
    "or the ports a kept --directory was made for).",
)
@click.option(
    "--kafka",
    default="",
    metavar="HOST:PORT",
    help="Federate over this Kafka broker instead of the HTTP feed.",
)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the node folders here (default: a temporary folder, removed at the end).",
)
@click.option(
    "--interval", default=5.0, show_default=True, help="Seconds between two readings of a sensor."
)
def demo(base_port: int | None, kafka: str, directory: Path | None, interval: float) -> None:
    """Three sample villages (Lütjenholm, Bredstedt, Struckum) federating on loopback."""
    folder = directory or Path(tempfile.mkdtemp(prefix="allmende-demo-"))
    try:
        asyncio.run(run(folder, base_port_for(folder, base_port), kafka, interval))
    except DemoError as exc:
        click.echo(f"allmende demo: {exc}", err=True)
        sys.exit(1)
    finally:
        if directory is None:
            shutil.rmtree(folder, ignore_errors=True)
    click.echo("demo stopped: all three nodes shut down.")
