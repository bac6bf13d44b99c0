"""Three village nodes served in-process on loopback ports, trusting each other."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlmodel import Session, col, func, select

from allmende.node.demo.command import seed as demo_seed
from allmende.node.demo.simulator import uplink
from allmende.node.demo.villages import VILLAGES, Sensor, Village
from allmende.node.federation.trust import add_peer, checked_peer
from allmende.node.http.app import create_app
from allmende.node.models import EventRecord
from allmende.node.runtime import Node
from tests.services.ports import free_port
from tests.support import admin_headers, make_node

OBSERVATION = "http://www.w3.org/ns/sosa/Observation"
JSON_ACCEPT = {"Accept": "application/json"}


@dataclass
class Running:
    village: Village
    node: Node
    url: str
    runner: web.AppRunner | None = None
    secret: str = ""
    acknowledged: dict[str, int] = field(default_factory=dict)
    """Observations acknowledged per dataset."""

    @property
    def app(self) -> web.Application:
        assert self.runner is not None
        return self.runner.app

    def admin(self) -> dict[str, str]:
        return admin_headers(self.node)

    def sensors(self, dataset: str) -> list[Sensor]:
        return [s for s in self.village.sensors() if s.dataset == dataset]

    def graph(self, dataset: str) -> str:
        return f"{self.node.base_url}/graphs/datasets/{dataset}"

    def observations_in(self, graph: str) -> int:
        """Distinct observations in a graph of this node's store, as the store holds them."""
        query = f"SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?o a <{OBSERVATION}> }} }}"
        return int(next(iter(self.node.store.query(query)))["n"].value)

    def events_from(self, source: str, type_suffix: str = "") -> tuple[int, int]:
        """(rows, distinct ids) of events from `source` in this node's log."""
        with Session(self.node.engine) as session:
            query = select(func.count(), func.count(func.distinct(EventRecord.id))).where(
                EventRecord.source == source
            )
            if type_suffix:
                query = query.where(col(EventRecord.type).endswith(type_suffix))
            rows, distinct = session.exec(query).one()
        return int(rows), int(distinct)


def make_villages(
    root: Path, environ: dict[str, str] | None = None, *, pin: str = "jwk"
) -> list[Running]:
    """Create three nodes on free ports and pin each other (before they start), by public
    key (`pin="jwk"`) or by JWKS URL (`pin="jwks_url"`)."""
    placed: list[Running] = []
    for village in VILLAGES:
        port = free_port()
        node = make_node(
            root / village.slug,
            name=village.name,
            node_id=village.node_id,
            port=port,
            environ=environ,
        )
        placed.append(Running(village, node, f"http://127.0.0.1:{port}"))
    for running in placed:
        for other in placed:
            if other is not running:
                body: dict[str, Any] = {
                    "id": other.node.id,
                    "name": other.village.name,
                    "base_url": other.url,
                }
                if pin == "jwk":
                    body["jwk"] = other.node.key.jwk()
                else:
                    body["jwks_url"] = f"{other.url}/.well-known/jwks.json"
                add_peer(running.node.engine, checked_peer(body, running.node.id))
    return placed


def reopen_villages(root: Path, environ: dict[str, str] | None = None) -> list[Running]:
    placed = []
    for village in VILLAGES:
        node = make_node(root / village.slug, environ=environ)
        placed.append(Running(village, node, node.base_url))
    return placed


async def serve(running: Running) -> None:
    running.runner = web.AppRunner(create_app(running.node))
    await running.runner.setup()
    port = int(running.url.rsplit(":", 1)[1])
    await web.TCPSite(running.runner, "127.0.0.1", port).start()
    await running.node.write(running.node.project)


async def seed(session: aiohttp.ClientSession, running: Running) -> None:
    """The demo's datasets and sensors, and a TTN secret, through the admin API."""
    directory = Path(running.node.settings.directory)
    running.secret = await demo_seed(session, running.village, directory, running.url)


async def send_uplinks(
    session: aiohttp.ClientSession, running: Running, dataset: str, count: int, *, start: int = 0
) -> int:
    """Post `count` uplinks per sensor of `dataset`; count what was acknowledged."""
    rng = random.Random(start)
    acknowledged = 0
    for n in range(start, start + count):
        for sensor in running.sensors(dataset):
            async with session.post(
                f"{running.url}/ingest/ttn",
                json=uplink(sensor, n, rng),
                headers={"X-Allmende-Webhook-Secret": running.secret},
            ) as response:
                if response.status == 202:
                    body = await response.json()
                    acknowledged += int(body.get("accepted", 0))
    running.acknowledged[dataset] = running.acknowledged.get(dataset, 0) + acknowledged
    return acknowledged


async def eventually(
    check: Callable[[], Any], timeout: float = 30.0, what: str = "condition"
) -> Any:
    """Wait until `check()` is truthy (it may be async or sync); fail with `what` after timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


async def federated(
    session: aiohttp.ClientSession, running: Running, query: str = ""
) -> dict[str, Any]:
    path = "/federation/catalog/search" if query else "/federation/catalog"
    params = {"q": query} if query else {}
    async with session.get(f"{running.url}{path}", params=params, headers=JSON_ACCEPT) as r:
        assert r.status == 200, await r.text()
        return json.loads(await r.text())


def listed(catalog: dict[str, Any]) -> set[tuple[str, str]]:
    return {(item["origin"], item["id"]) for item in catalog["items"]}


@asynccontextmanager
async def federation(
    root: Path, environ: dict[str, str] | None = None, *, pin: str = "jwk", reopen: bool = False
) -> AsyncIterator[list[Running]]:
    """Three villages served until the block ends; `reopen` serves those made before in
    `root` again (same ports, keys, data), with `environ` as their new settings."""
    villages = reopen_villages(root, environ) if reopen else make_villages(root, environ, pin=pin)
    try:
        for running in villages:
            await serve(running)
        yield villages
    finally:
        for running in villages:
            if running.runner is not None:
                await running.runner.cleanup()  # closes the node too
