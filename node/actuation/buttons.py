"""Physical push buttons (at a bus stop, in the village pub): a press is a switching request.

A button is a LoRaWAN device registered in the ingest registry like any sensor, with a
model whose mapping has a field for `allmende:buttonPress` (e.g. Milesight WS101, field
`press`); its uplinks come in through the ingest webhooks as readings. The operator ties a
button to a segment (`POST /admin/actuation/buttons`). After each commit this bridge looks
at the buttons' newest `buttonPress` reading (`ingest_latest_value`); a newer one than
seen before is a press, handed to the same `Actuation.press` as the portal's, under the
same signed policy, channel `button`.

The button is one person for the policy: `button:<device>` for counting, with the IRI
`{base}/buttons/<device>`, so the municipality can give buttons a permission of their own
(e.g. without a count per night) by naming that IRI as assignee. Presses of one button
that arrive in one commit count once (the lit window coalesces them anyway); presses made
while the node was down are not replayed, so nobody switches lights on hours later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlmodel import Field, Session, SQLModel, col, select

from allmende.node import db
from allmende.node.actuation.models import Segment
from allmende.node.actuation.policy import Person
from allmende.node.actuation.service import Actuation, Refused, utc
from allmende.node.http.openapi import describe, json_request
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.ingest.models import Device, LatestValue
from allmende.node.messages import say
from allmende.node.runtime import Node

PRESS = "https://w3id.org/allmende/ns#buttonPress"
BUTTON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["device", "segment"],
    "properties": {
        "device": {"type": "string", "minLength": 1, "maxLength": 128},
        "segment": {"type": "string", "minLength": 1, "maxLength": 64},
        "label": {"type": "string", "maxLength": 200},
    },
}
log = logging.getLogger(__name__)


class Button(SQLModel, table=True):
    """A registered push button and the segment it switches."""

    __tablename__ = "actuation_button"

    device_id: str = Field(primary_key=True, max_length=128)
    segment_id: str = Field(max_length=64, index=True)
    label: str | None = Field(default=None, max_length=200)
    registered: datetime


def press_fields(profile: str) -> set[str]:
    """The fields of a device's mapping that carry a button press."""
    try:
        fields = json.loads(profile).get("fields", {})
    except (ValueError, AttributeError):
        return set()
    return {
        name
        for name, spec in fields.items()
        if isinstance(spec, dict) and spec.get("observableProperty") == PRESS
    }


def latest_presses(node: Node) -> dict[str, tuple[str, datetime]]:
    """Button device -> (segment, time of its newest press reading)."""
    with Session(node.engine) as session:
        buttons = {b.device_id: b for b in session.exec(select(Button))}
        if not buttons:
            return {}
        devices = session.exec(select(Device).where(col(Device.id).in_(list(buttons))))
        fields = {d.id: press_fields(d.profile) for d in devices}
        found: dict[str, tuple[str, datetime]] = {}
        rows = session.exec(
            select(LatestValue).where(col(LatestValue.device_id).in_(list(buttons)))
        )
        for row in rows:
            if row.field not in fields.get(row.device_id, set()):
                continue
            moment = utc(row.time)
            seen = found.get(row.device_id)
            if seen is None or moment > seen[1]:
                found[row.device_id] = (buttons[row.device_id].segment_id, moment)
        return found


class Bridge:
    """Turns new button readings into presses; `outcomes` keeps the last one per button."""

    def __init__(self, node: Node, room: Actuation) -> None:
        self.node = node
        self.room = room
        self.seen: dict[str, datetime] = {}
        self.outcomes: dict[str, dict[str, Any]] = {}
        self.wake = asyncio.Event()
        self.started = False

    def poke(self) -> None:
        self.wake.set()

    async def scan(self) -> None:
        """Press for every button whose newest reading is newer than the one seen."""
        found = await asyncio.to_thread(latest_presses, self.node)
        if not self.started:  # what was pressed before the node started stays unpressed
            self.seen = {device: moment for device, (_s, moment) in found.items()}
            self.started = True
            return
        for device, (segment, moment) in found.items():
            if device in self.seen and moment <= self.seen[device]:
                continue
            self.seen[device] = moment
            person = Person(
                subject=f"button:{device}", iri=f"{self.node.base_url}/buttons/{device}"
            )
            outcome: dict[str, Any]
            try:
                row, verdict = await self.room.press(segment, person, "button")
                outcome = {"state": row.state, "switching": row.id, "reason": verdict.reason_de}
            except Refused as refused:
                reason = refused.body_json.get("reason") or {}
                outcome = {"state": "refused", "reason": reason.get("de")}
            except Problem as problem:
                outcome = {"state": "refused", "reason": problem.body_json.get("detail")}
            outcome["time"] = moment.isoformat()
            self.outcomes[device] = outcome
            log.info("button press", extra={"device": device, "outcome": outcome["state"]})

    async def run(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception:  # one bad scan must not end the bridge
                log.exception("button scan failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30):
                    await self.wake.wait()
            self.wake.clear()


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    node: Node = app["node"]
    bridge = app["actuation_buttons"] = Bridge(node, app["actuation"])
    node.commit_listeners.append(bridge.poke)
    task = asyncio.create_task(bridge.run())
    yield
    node.commit_listeners.remove(bridge.poke)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _register(node: Node, body: dict[str, Any]) -> Button:
    from allmende.node.actuation import registry

    data = registry.validate(body, BUTTON_SCHEMA)
    device = data["device"].strip().replace("-", "").replace(":", "").lower()
    with db.transaction(node.engine) as session:
        found = session.get(Device, device) or session.get(Device, data["device"].strip())
        if found is None:
            raise Problem(
                422,
                "Unprocessable Content",
                say("device: %(value)s is not registered", value=repr(data["device"])),
            )
        if not press_fields(found.profile):
            raise Problem(
                422,
                "Unprocessable Content",
                say(
                    "device: %(id)s has no field for a button press (allmende:buttonPress)",
                    id=repr(found.id),
                ),
            )
        if session.get(Segment, data["segment"]) is None:
            raise Problem(
                422,
                "Unprocessable Content",
                say("segment: no segment %(value)s", value=repr(data["segment"])),
            )
        row = session.get(Button, found.id) or Button(
            device_id=found.id, segment_id=data["segment"], registered=datetime.now(UTC)
        )
        row.segment_id, row.label = data["segment"], data.get("label")
        session.add(row)
    return row


@describe(
    "Tie a registered push button (a device whose model has a button-press field) to the "
    "segment it switches",
    tags=["actuation"],
    admin=True,
    request_body=json_request(BUTTON_SCHEMA),
    responses={
        "201": {"description": "registered"},
        "422": {"$ref": "#/components/responses/Problem"},
    },
)
@admin_only
async def button_add(request: web.Request) -> web.Response:
    from allmende.node.actuation.routes import read_json

    row = await asyncio.to_thread(_register, request.app["node"], await read_json(request))
    return web.json_response({"device": row.device_id, "segment": row.segment_id}, status=201)


@describe("Push buttons, their segments and each one's last press", tags=["actuation"], admin=True)
@admin_only
async def button_list(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    bridge: Bridge = request.app["actuation_buttons"]

    def rows() -> list[Button]:
        with Session(node.engine) as session:
            return list(session.exec(select(Button).order_by(col(Button.device_id))))

    return web.json_response(
        {
            "buttons": [
                {
                    "device": b.device_id,
                    "segment": b.segment_id,
                    "label": b.label,
                    "last": bridge.outcomes.get(b.device_id),
                }
                for b in await asyncio.to_thread(rows)
            ]
        }
    )


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/admin/actuation/buttons", button_add)
    app.router.add_get("/admin/actuation/buttons", button_list)
