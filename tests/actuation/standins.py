"""Loopback stand-ins of The Things Stack v3 and ChirpStack v4 for downlinks.

Built from the published API documentation (lorawan-stack-docs: integrations/webhooks/
scheduling-downlinks, data-formats "Downlink Messages" / "Downlink Events Messages";
chirpstack api/proto/api/device.proto and integration.proto, chirpstack-rest-api): each
request is checked against the documented path, headers and body, and anything else is
recorded in `violations` and answered as the real server would refuse it. After accepting
a downlink they send the documented events back to the node's webhook, as configured per
message type (The Things Stack) or with `?event=` (ChirpStack's HTTP integration), and
then the controller's status uplink with its relay on.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import binascii
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

TTS_PRIORITIES = {"LOWEST", "LOW", "BELOW_NORMAL", "NORMAL", "ABOVE_NORMAL", "HIGH", "HIGHEST"}
TTS_DOWNLINK_KEYS = {
    "f_port",
    "frm_payload",
    "decoded_payload",
    "confirmed",
    "priority",
    "correlation_ids",
    "class_b_c",
}
CS_ITEM_KEYS = {
    "id",
    "devEui",
    "confirmed",
    "fPort",
    "data",
    "object",
    "isPending",
    "fCntDown",
    "isEncrypted",
    "expiresAt",
}
WS558_ON = bytes.fromhex("08310101")
"""WS558 uplink channel 08 31: change mask 1, state 1 (switch 1 on)."""


@dataclass
class Behaviour:
    """What the stand-in does next: fail the next `fail` requests with `status`, stay
    silent (no events), leave out the ack or the status uplink."""

    fail: int = 0
    status: int = 503
    events: bool = True
    ack: bool = True
    uplink: bool = True
    delay: float = 0.0


@dataclass
class StandIn(abc.ABC):
    webhook: str  # the node's base URL
    secret: str
    key: str = "NNSXS.STANDIN-KEY"
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    replies: list[tuple[str, int, Any]] = field(default_factory=list)
    arrivals: dict[str, float] = field(default_factory=dict)
    """perf_counter() when a downlink was taken, by its first correlation id (benchmarks)."""
    devices: set[str] | None = None
    """The device ids known to the server (default: the one sample device)."""
    url: str = ""
    _runner: web.AppRunner | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> str:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    async def settle(self) -> None:
        """Wait until every event the stand-in is sending has been answered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @abc.abstractmethod
    def routes(self, app: web.Application) -> None:
        """The network server's documented paths, each checking what it receives."""

    def later(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post(self, path: str, body: dict[str, Any], *, headers: dict[str, str]) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook.rstrip("/") + path, json=body, headers=headers) as answer,
        ):
            self.replies.append((path, answer.status, await answer.json(content_type=None)))

    def failing(self) -> web.Response | None:
        if self.behaviour.fail > 0:
            self.behaviour.fail -= 1
            return web.json_response(
                {"code": 14, "message": "unavailable"}, status=self.behaviour.status
            )
        return None


def _bearer(request: web.Request, header: str) -> str | None:
    scheme, _, token = request.headers.get(header, "").partition(" ")
    return token if scheme == "Bearer" and token else None


class TheThingsStack(StandIn):
    """POST /api/v3/as/applications/{app}/webhooks/{webhook}/devices/{device}/down/push|replace."""

    application = "luetjenholm-licht"
    webhook_id = "allmende"
    device = "ws558-dorfstrasse"
    dev_eui = "24E124468D011111"

    def routes(self, app: web.Application) -> None:
        app.router.add_post(
            "/api/v3/as/applications/{app}/webhooks/{webhook}/devices/{device}/down/{op}",
            self.down,
        )
        app.router.add_route("*", "/{tail:.*}", self.unknown)

    async def unknown(self, request: web.Request) -> web.Response:
        self.violations.append(f"undocumented path {request.method} {request.path}")
        return web.json_response({"code": 5, "message": "not found"}, status=404)

    async def down(self, request: web.Request) -> web.Response:
        info = request.match_info
        record = {"path": request.path, "headers": dict(request.headers), "body": None}
        self.requests.append(record)
        if info["op"] not in ("push", "replace"):
            self.violations.append(f"unknown operation {info['op']}")
            return web.json_response({"code": 5, "message": "not found"}, status=404)
        if _bearer(request, "Authorization") != self.key:
            return web.json_response({"code": 16, "message": "unauthenticated"}, status=401)
        if request.content_type != "application/json":
            self.violations.append(f"content type {request.content_type}")
        if not request.headers.get("User-Agent"):
            self.violations.append("no User-Agent")
        wrong = [
            (info["app"], self.application),
            (info["webhook"], self.webhook_id),
            (info["device"], self.device),
        ]
        if self.devices is not None:
            wrong = [(info["app"], self.application), (info["webhook"], self.webhook_id)]
            if info["device"] not in self.devices:
                wrong.append((info["device"], ""))
        if any(a != b for a, b in wrong):
            return web.json_response({"code": 5, "message": "entity not found"}, status=404)
        body = await request.json()
        record["body"] = body
        problems = self.check_body(body)
        if problems:
            self.violations += problems
            return web.json_response({"code": 3, "message": "; ".join(problems)}, status=400)
        failure = self.failing()
        if failure is not None:
            return failure
        self.accepted.append(body)
        ids = body["downlinks"][0].get("correlation_ids") or ["-"]
        self.arrivals[ids[0]] = time.perf_counter()
        if self.behaviour.events:
            self.later(self.events(body["downlinks"][0], info["device"]))
        return web.json_response({})

    @staticmethod
    def check_body(body: Any) -> list[str]:
        if not isinstance(body, dict) or set(body) != {"downlinks"}:
            return ["the body is {downlinks: [...]} and nothing else"]
        downlinks = body["downlinks"]
        if not isinstance(downlinks, list) or not downlinks:
            return ["downlinks: a non-empty list"]
        found = []
        for index, item in enumerate(downlinks):
            if not isinstance(item, dict):
                found.append(f"downlinks[{index}] is not an object")
                continue
            extra = set(item) - TTS_DOWNLINK_KEYS
            if extra:
                found.append(f"downlinks[{index}]: unknown fields {sorted(extra)}")
            port = item.get("f_port")
            if not isinstance(port, int) or not 1 <= port <= 223:
                found.append(f"downlinks[{index}].f_port: 1..223")
            if ("frm_payload" in item) == ("decoded_payload" in item):
                found.append(f"downlinks[{index}]: frm_payload or decoded_payload")
            if "frm_payload" in item:
                try:
                    base64.b64decode(item["frm_payload"], validate=True)
                except (binascii.Error, TypeError, ValueError):
                    found.append(f"downlinks[{index}].frm_payload: base64")
            if "decoded_payload" in item and not isinstance(item["decoded_payload"], dict):
                found.append(f"downlinks[{index}].decoded_payload: an object")
            if not isinstance(item.get("confirmed", False), bool):
                found.append(f"downlinks[{index}].confirmed: a boolean")
            if item.get("priority", "NORMAL") not in TTS_PRIORITIES:
                found.append(f"downlinks[{index}].priority: {item.get('priority')!r}")
            ids = item.get("correlation_ids", [])
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                found.append(f"downlinks[{index}].correlation_ids: a list of strings")
        return found

    def ids(self) -> dict[str, Any]:
        return {
            "device_id": self.device,
            "application_ids": {"application_id": self.application},
            "dev_eui": self.dev_eui,
            "join_eui": "24E124C0002A0001",
            "dev_addr": "260B1234",
        }

    def message(self, body: dict[str, Any], key: str, inner: dict[str, Any]) -> dict[str, Any]:
        ids = ["as:downlink:01HZX" + uuid.uuid4().hex[:8], *inner.get("correlation_ids", [])]
        return {
            "end_device_ids": self.ids(),
            "correlation_ids": ids,
            "received_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            key: body,
        }

    def headers(self) -> dict[str, str]:
        return {
            "X-Allmende-Webhook-Secret": self.secret,
            "X-Downlink-Apikey": self.key,
            "X-Downlink-Push": f"{self.url}/api/v3/as/applications/{self.application}/webhooks/"
            f"{self.webhook_id}/devices/{self.device}/down/push",
            "X-Downlink-Replace": f"{self.url}/api/v3/as/applications/{self.application}/"
            f"webhooks/{self.webhook_id}/devices/{self.device}/down/replace",
        }

    async def events(self, downlink: dict[str, Any], device: str | None = None) -> None:
        if device is not None and device != self.device:
            return  # events only for the sample device (benchmarks send none)
        if self.behaviour.delay:
            await asyncio.sleep(self.behaviour.delay)
        inner = {
            "session_key_id": "AXBSH1Pk6Z0G166==",
            "f_port": downlink["f_port"],
            "f_cnt": 7,
            "frm_payload": downlink.get("frm_payload", ""),
            "confirmed": downlink.get("confirmed", False),
            "priority": downlink.get("priority", "NORMAL"),
            "correlation_ids": downlink.get("correlation_ids", []),
        }
        headers = self.headers()
        for path, key in (
            ("/actuation/ttn/downlink/queued", "downlink_queued"),
            ("/actuation/ttn/downlink/sent", "downlink_sent"),
        ):
            await self.post(path, self.message(inner, key, inner), headers=headers)
        if self.behaviour.ack and inner["confirmed"]:
            await self.post(
                "/actuation/ttn/downlink/ack",
                self.message(inner, "downlink_ack", inner),
                headers=headers,
            )
        if self.behaviour.uplink:
            await self.post("/actuation/ttn/uplink", self.uplink(WS558_ON), headers=headers)

    def uplink(self, payload: bytes) -> dict[str, Any]:
        return {
            "end_device_ids": self.ids(),
            "correlation_ids": ["as:up:01HZX" + uuid.uuid4().hex[:8]],
            "received_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "uplink_message": {
                "f_port": 85,
                "f_cnt": 42,
                "frm_payload": base64.b64encode(payload).decode(),
                "rx_metadata": [{"gateway_ids": {"gateway_id": "gw-feuerwehr"}, "rssi": -97}],
            },
        }

    def failed_event(self, downlink: dict[str, Any]) -> dict[str, Any]:
        return {
            "end_device_ids": self.ids(),
            "correlation_ids": downlink.get("correlation_ids", []),
            "received_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "downlink_failed": {
                "downlink": {
                    "f_port": downlink["f_port"],
                    "frm_payload": downlink.get("frm_payload", ""),
                    "confirmed": True,
                    "priority": "HIGH",
                    "correlation_ids": downlink.get("correlation_ids", []),
                },
                "error": {
                    "namespace": "pkg/applicationserver",
                    "name": "application_downlink_too_long",
                    "message_format": "application downlink payload too long",
                    "correlation_id": uuid.uuid4().hex,
                    "code": 3,
                },
            },
        }


class ChirpStack(StandIn):
    """POST /api/devices/{devEui}/queue (chirpstack-rest-api), events via ?event=."""

    dev_eui = "24e124468d022222"
    key = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.standin.token"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/devices/{devEui}/queue", self.enqueue)
        app.router.add_route("*", "/{tail:.*}", self.unknown)

    async def unknown(self, request: web.Request) -> web.Response:
        self.violations.append(f"undocumented path {request.method} {request.path}")
        return web.json_response({"code": 5, "message": "Not Found"}, status=404)

    async def enqueue(self, request: web.Request) -> web.Response:
        record = {"path": request.path, "headers": dict(request.headers), "body": None}
        self.requests.append(record)
        token = _bearer(request, "Grpc-Metadata-Authorization") or _bearer(request, "Authorization")
        if token != self.key:
            return web.json_response({"code": 16, "message": "authentication failed"}, status=401)
        if request.content_type != "application/json":
            self.violations.append(f"content type {request.content_type}")
        eui = request.match_info["devEui"]
        body = await request.json()
        record["body"] = body
        problems = self.check_body(eui, body)
        if problems:
            self.violations += problems
            return web.json_response({"code": 3, "message": "; ".join(problems)}, status=400)
        if eui != self.dev_eui:
            return web.json_response({"code": 5, "message": "Object does not exist"}, status=404)
        failure = self.failing()
        if failure is not None:
            return failure
        item_id = str(uuid.uuid4())
        self.accepted.append(body)
        if self.behaviour.events:
            self.later(self.events(item_id, body["queueItem"]))
        return web.json_response({"id": item_id})

    @staticmethod
    def check_body(eui: str, body: Any) -> list[str]:
        if not isinstance(body, dict) or not set(body) <= {"queueItem", "flushQueue"}:
            return ["the body is {queueItem, flushQueue}"]
        item = body.get("queueItem")
        if not isinstance(item, dict):
            return ["queueItem: an object"]
        found = []
        extra = set(item) - CS_ITEM_KEYS
        if extra:
            found.append(f"queueItem: unknown fields {sorted(extra)}")
        if item.get("devEui") not in (None, eui):
            found.append("queueItem.devEui differs from the path")
        port = item.get("fPort")
        if not isinstance(port, int) or port < 1:
            found.append("queueItem.fPort: > 0")
        if "data" in item:
            try:
                base64.b64decode(item["data"], validate=True)
            except (binascii.Error, TypeError, ValueError):
                found.append("queueItem.data: base64")
        if "object" in item and not isinstance(item["object"], dict):
            found.append("queueItem.object: an object")
        if "expiresAt" in item:
            try:
                datetime.fromisoformat(str(item["expiresAt"]).replace("Z", "+00:00"))
            except ValueError:
                found.append("queueItem.expiresAt: RFC 3339")
        if not isinstance(body.get("flushQueue", False), bool):
            found.append("flushQueue: a boolean")
        return found

    def info(self) -> dict[str, Any]:
        return {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "tenantName": "Gemeinde",
            "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97",
            "applicationName": "licht",
            "deviceProfileId": "14855bf7-d10d-4aee-b618-ebfcb64dc7ad",
            "deviceProfileName": "WS558",
            "deviceName": "ws558-kirchweg",
            "devEui": self.dev_eui,
            "tags": {},
        }

    async def events(self, item_id: str, item: dict[str, Any]) -> None:
        if self.behaviour.delay:
            await asyncio.sleep(self.behaviour.delay)
        headers = {"X-Allmende-Webhook-Secret": self.secret}
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        txack = {
            "downlinkId": 3479136,
            "time": now,
            "deviceInfo": self.info(),
            "queueItemId": item_id,
            "fCntDown": 12,
            "gatewayId": "0016c001f153a14c",
            "txInfo": {
                "frequency": 869525000,
                "power": 27,
                "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 9}},
                "timing": {"immediately": {}},
                "context": "AAAAAAAAAAAAAA==",
            },
        }
        await self.post("/actuation/chirpstack?event=txack", txack, headers=headers)
        if self.behaviour.ack and item.get("confirmed"):
            ack = {
                "deduplicationId": str(uuid.uuid4()),
                "time": now,
                "deviceInfo": self.info(),
                "queueItemId": item_id,
                "acknowledged": True,
                "fCntDown": 12,
            }
            await self.post("/actuation/chirpstack?event=ack", ack, headers=headers)
        if self.behaviour.uplink:
            up = {
                "deduplicationId": str(uuid.uuid4()),
                "time": now,
                "deviceInfo": self.info(),
                "devAddr": "01fb3e4b",
                "dr": 5,
                "fCnt": 43,
                "fPort": 85,
                "confirmed": False,
                "data": base64.b64encode(WS558_ON).decode(),
                "rxInfo": [],
            }
            await self.post("/actuation/chirpstack?event=up", up, headers=headers)
