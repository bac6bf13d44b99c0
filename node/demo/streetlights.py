"""Lütjenholm's street lights in the demo (sample data): two segments whose controllers are
simulated behind a stand-in of The Things Stack v3 that runs in the demo's own process.

The stand-in takes downlinks where The Things Stack takes them (the webhook's
`.../down/replace` with the downlink API key as Bearer token) and, after a simulated
latency, sends the documented events back to the node's webhook (downlink_queued,
downlink_sent, downlink_ack) followed by the controller's status uplink with its relay on
(Milesight WS558 channel 08 31), as a real controller would. The node then shows the
lamps on and, after the switching's duration, off again.

The demo node runs its street lights on the clock of a winter night (the variable
`ENVIRONMENT` set to "night"), so that pressing works whatever the time of day; the page
says so. Durations are the shortest the registry allows (60 s)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

ENVIRONMENT = "ALLMENDE_DEMO_STREETLIGHTS"
APPLICATION = "luetjenholm-licht"
WEBHOOK = "allmende"
KEY = "NNSXS.SAMPLE-DEMO-DOWNLINK-KEY"
RELAY_ON = bytes.fromhex("08310101")
"""WS558 uplink channel 08 31: switch 1 changed, switch 1 on."""
LATENCY = {"C": 1.5, "A": 8.0}
"""Seconds from queued to sent (on air): a Class A device hears only after its next uplink."""
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Light:
    controller: str
    device: str
    dev_eui: str
    lorawan_class: str
    segment: str
    name: str
    kind: str
    geometry: dict[str, Any]
    lamps: int
    watts: float


LIGHTS = (
    Light(
        "sample-ws558-dorfstrasse",
        "ws558-dorfstrasse",
        "24E124468D0A0001",
        "C",
        "dorfstrasse",
        "Dorfstraße (Beispiel)",
        "segment",
        {
            "type": "LineString",
            "coordinates": [[8.9630, 54.6462], [8.9656, 54.6467], [8.9690, 54.6471]],
        },
        12,
        40.0,
    ),
    Light(
        "sample-ws558-bushaltestelle",
        "ws558-bushaltestelle",
        "24E124468D0A0002",
        "A",
        "bushaltestelle",
        "Weg zur Bushaltestelle (Beispiel)",
        "lamps",
        {
            "type": "MultiPoint",
            "coordinates": [[8.9661, 54.6452], [8.9664, 54.6447], [8.9667, 54.6442]],
        },
        3,
        25.0,
    ),
)
POLICY: dict[str, Any] = {
    "@context": ["http://www.w3.org/ns/odrl.jsonld", {"allmende": "https://w3id.org/allmende/ns#"}],
    "@type": "Set",
    "uid": "https://luetjenholm.example/policies/licht-nach-bedarf-beispiel",
    "permission": [
        {
            "action": "allmende:switch",
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


def enabled() -> bool:
    return os.environ.get(ENVIRONMENT) == "night"


def night_clock(room: Any, start: datetime | None = None) -> None:
    """Run the actuation room on a winter night's clock: 01:00 in Lütjenholm when the node
    starts, then as fast as real time. Extensions go out 20 s before a window ends."""
    now = datetime.now(UTC)
    target = start or datetime(now.year, 12, 8, 1, 0, tzinfo=BERLIN)
    offset = target.astimezone(UTC) - now
    room.clock = lambda: datetime.now(UTC) + offset
    room.settings.extension_lead = 20.0


@dataclass
class Network:
    """The Things Stack stand-in with the simulated controllers behind it."""

    node: str  # the node's base URL, where events go
    secret: str  # the node's webhook secret for source "ttn"
    url: str = ""
    downlinks: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post(
            "/api/v3/as/applications/{app}/webhooks/{webhook}/devices/{device}/down/{op}",
            self.down,
        )
        app.router.add_get("/sample/downlinks", self.status)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{bound}"
        return self.url

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    def count(self, device: str) -> int:
        return sum(1 for d in self.downlinks if d["device"] == device)

    async def status(self, _request: web.Request) -> web.Response:
        """The stand-in's own page (not The Things Stack's): downlinks taken per device."""
        return web.json_response({light.device: self.count(light.device) for light in LIGHTS})

    async def down(self, request: web.Request) -> web.Response:
        info = request.match_info
        light = next((x for x in LIGHTS if x.device == info["device"]), None)
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            self.refused.append("unauthenticated")
            return web.json_response({"code": 16, "message": "unauthenticated"}, status=401)
        if (
            light is None
            or info["app"] != APPLICATION
            or info["webhook"] != WEBHOOK
            or info["op"] not in ("push", "replace")
        ):
            self.refused.append(request.path)
            return web.json_response({"code": 5, "message": "entity not found"}, status=404)
        body = await request.json()
        downlink = (body.get("downlinks") or [{}])[0]
        self.downlinks.append({"device": light.device, "downlink": downlink})
        task = asyncio.create_task(self._events(light, downlink))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({})

    async def _events(self, light: Light, downlink: dict[str, Any]) -> None:
        step = LATENCY[light.lorawan_class]
        inner = {
            "session_key_id": "AXBSH1Pk6Z0G166==",
            "f_port": downlink.get("f_port", 85),
            "f_cnt": len(self.downlinks),
            "frm_payload": downlink.get("frm_payload", ""),
            "confirmed": downlink.get("confirmed", False),
            "priority": downlink.get("priority", "NORMAL"),
            "correlation_ids": downlink.get("correlation_ids", []),
        }
        sequence = [("queued", "downlink_queued"), ("sent", "downlink_sent")]
        if inner["confirmed"]:
            sequence.append(("ack", "downlink_ack"))
        async with aiohttp.ClientSession() as session:
            for path, key in sequence:
                await asyncio.sleep(step if path == "sent" else 0.5)
                await self._post(session, f"/actuation/ttn/downlink/{path}", light, {key: inner})
            await asyncio.sleep(0.5)
            uplink = {
                "uplink_message": {
                    "f_port": 85,
                    "f_cnt": len(self.downlinks),
                    "frm_payload": base64.b64encode(RELAY_ON).decode(),
                    "rx_metadata": [{"gateway_ids": {"gateway_id": "sample-feuerwehr"}}],
                }
            }
            await self._post(session, "/actuation/ttn/uplink", light, uplink)

    async def _post(
        self, session: aiohttp.ClientSession, path: str, light: Light, body: dict[str, Any]
    ) -> None:
        base = f"{self.url}/api/v3/as/applications/{APPLICATION}/webhooks/{WEBHOOK}"
        inner = next(iter(body.values()))
        inner_ids = list(inner.get("correlation_ids", [])) if "downlink" in next(iter(body)) else []
        message = {
            "end_device_ids": {
                "device_id": light.device,
                "application_ids": {"application_id": APPLICATION},
                "dev_eui": light.dev_eui,
            },
            "correlation_ids": [f"as:demo:{uuid.uuid4().hex[:12]}", *inner_ids],
            "received_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            **body,
        }
        headers = {
            "X-Allmende-Webhook-Secret": self.secret,
            "X-Downlink-Apikey": KEY,
            "X-Downlink-Push": f"{base}/devices/{light.device}/down/push",
            "X-Downlink-Replace": f"{base}/devices/{light.device}/down/replace",
        }
        with contextlib.suppress(aiohttp.ClientError):
            async with session.post(self.node + path, json=message, headers=headers):
                pass


async def seed(
    session: aiohttp.ClientSession, node: str, admin: dict[str, str], network: str
) -> None:
    """Register the sample controllers and segments and install the sample policy."""
    for light in LIGHTS:
        controller = {
            "id": light.controller,
            "dev_eui": light.dev_eui,
            "network": "tts",
            "server": network,
            "application_id": APPLICATION,
            "device_id": light.device,
            "webhook_id": WEBHOOK,
            "credential": KEY,
            "class": light.lorawan_class,
            "uplink_interval": 30,
            "codec": "milesight-ws558",
            "label": f"{light.name}: Schaltgerät (Beispiel)",
        }
        segment = {
            "id": light.segment,
            "name": light.name,
            "controller": light.controller,
            "kind": light.kind,
            "geometry": light.geometry,
            "lamps": light.lamps,
            "watts": light.watts,
            "duration": 60,
            "dark_from": "00:30",
            "dark_until": "05:30",
        }
        for path, body in (
            ("/admin/actuation/controllers", controller),
            ("/admin/actuation/segments", segment),
        ):
            async with session.post(node + path, json=body, headers=admin) as answer:
                if answer.status not in (201, 409):
                    raise RuntimeError(f"{path}: {answer.status} {await answer.text()}")
    async with session.put(node + "/admin/actuation/policy", json=POLICY, headers=admin) as answer:
        if answer.status != 200:
            raise RuntimeError(f"policy: {answer.status} {await answer.text()}")
