"""A village with two street-light segments: one behind The Things Stack, one behind
ChirpStack (both loopback stand-ins), a signed policy, and a clock set to a winter night."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from allmende.node.actuation.service import Actuation
from allmende.node.auth import mint_token
from allmende.node.http.app import create_app
from allmende.node.ingest.sources import new_secret
from allmende.node.runtime import Node
from tests.actuation.standins import ChirpStack, TheThingsStack
from tests.support import admin_headers, make_node

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = datetime(2026, 12, 8, 0, 45, tzinfo=BERLIN)
"""Lütjenholm switches its lights off from 00:30 to 05:30; in December it is dark then."""
POLICY: dict[str, Any] = {
    "@context": ["http://www.w3.org/ns/odrl.jsonld", {"allmende": "https://w3id.org/allmende/ns#"}],
    "@type": "Set",
    "uid": "https://luetjenholm.example/policies/licht-nach-bedarf",
    "permission": [
        {
            "action": "allmende:switch",
            "assignee": "allmende:residents",
            "constraint": [
                {
                    "leftOperand": "allmende:timeOfDay",
                    "operator": "isPartOf",
                    "rightOperand": "22:00/06:00",
                },
                {"leftOperand": "count", "operator": "lteq", "rightOperand": 2},
            ],
        }
    ],
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Lights:
    node: Node
    client: Any
    room: Actuation
    clock: Clock
    tts: TheThingsStack
    chirpstack: ChirpStack
    admin: dict[str, str]

    def resident(self, name: str) -> dict[str, str]:
        token = mint_token(self.node.key, self.node.id, role="resident", subject=name)
        return {"Authorization": f"Bearer {token}"}

    async def press(self, segment: str, who: str | None = "anna") -> Any:
        headers = self.resident(who) if who else {}
        return await self.client.post(f"/actuation/segments/{segment}/switch", headers=headers)

    async def states(self, switching: str) -> list[str]:
        """Read the switching's server-sent events until it is final."""
        seen = []
        async with self.client.get(f"/actuation/switchings/{switching}/events") as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            async for line in response.content:
                if line.startswith(b"data: "):
                    seen.append(json.loads(line[6:])["state"])
        return seen

    async def settled(self) -> None:
        """Every command task and every event the stand-ins send has finished."""
        for _ in range(3):
            await self.room.settle()
            await self.tts.settle()
            await self.chirpstack.settle()

    async def state(self, switching: str) -> str:
        row = self.room.switching(switching)
        assert row is not None
        return row.state

    def events(self) -> list[dict[str, Any]]:
        from sqlmodel import Session

        from allmende.node.events.log import EventLog

        with Session(self.node.engine) as session:
            return [signed.event for signed in EventLog.read(session, 0, 10_000)]


async def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await check():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def register(
    client: Any, headers: dict[str, str], tts: TheThingsStack, cs: ChirpStack
) -> None:
    controllers = [
        {
            "id": "ws558-dorfstrasse",
            "dev_eui": tts.dev_eui,
            "network": "tts",
            "server": tts.url,
            "application_id": tts.application,
            "device_id": tts.device,
            "webhook_id": tts.webhook_id,
            "credential": tts.key,
            "class": "C",
            "codec": "milesight-ws558",
            "label": "Schaltschrank Dorfstraße (Beispiel)",
        },
        {
            "id": "ws558-kirchweg",
            "dev_eui": cs.dev_eui.upper(),
            "network": "chirpstack",
            "server": cs.url,
            "credential": cs.key,
            "class": "A",
            "uplink_interval": 120,
            "codec": "milesight-ws558",
        },
    ]
    segments = [
        {
            "id": "dorfstrasse",
            "name": "Dorfstraße (Beispiel)",
            "controller": "ws558-dorfstrasse",
            "kind": "segment",
            "geometry": {
                "type": "LineString",
                "coordinates": [[8.9650, 54.6455], [8.9672, 54.6462]],
            },
            "lamps": 12,
            "watts": 40,
            "duration": 900,
            "dark_from": "00:30",
            "dark_until": "05:30",
        },
        {
            "id": "kirchweg",
            "name": "Kirchweg (Beispiel)",
            "controller": "ws558-kirchweg",
            "kind": "circuit",
            "geometry": {
                "type": "MultiPoint",
                "coordinates": [[8.9630, 54.6440], [8.9633, 54.6443]],
            },
            "lamps": 4,
            "watts": 25,
            "duration": 720,
            "dark_from": "00:30",
            "dark_until": "05:30",
        },
    ]
    for body in controllers:
        answer = await client.post("/admin/actuation/controllers", json=body, headers=headers)
        assert answer.status == 201, await answer.text()
    for body in segments:
        answer = await client.post("/admin/actuation/segments", json=body, headers=headers)
        assert answer.status == 201, await answer.text()


@pytest.fixture
async def lights(
    tmp_path: Path, aiohttp_client: Any, database_url: str | None
) -> AsyncIterator[Lights]:
    """Runs on SQLite and on a real PostgreSQL server (tests/conftest.py)."""
    node = make_node(
        tmp_path,
        name="Lütjenholm",
        node_id="https://luetjenholm.example/",
        database_url=database_url,
    )
    secrets = {source: new_secret(node, source) for source in ("ttn", "chirpstack")}
    app = create_app(node)
    room: Actuation = app["actuation"]
    clock = Clock(NIGHT)
    room.clock = clock
    room.settings.retry_delays = (0.05, 0.05, 0.05)
    client = await aiohttp_client(app)
    base = str(client.make_url("/")).rstrip("/")
    tts = TheThingsStack(base, secrets["ttn"])
    cs = ChirpStack(base, secrets["chirpstack"])
    await tts.start()
    await cs.start()
    headers = admin_headers(node)
    await register(client, headers, tts, cs)
    answer = await client.put("/admin/actuation/policy", json=POLICY, headers=headers)
    assert answer.status == 200, await answer.text()
    yield Lights(node, client, room, clock, tts, cs, headers)
    await tts.stop()
    await cs.stop()
