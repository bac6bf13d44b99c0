"""HTTP API of street lights on demand: segments, pressing, live state, webhooks, admin."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from allmende.connectors.downlink import InvalidEvent, tts
from allmende.connectors.downlink import chirpstack as cs
from allmende.node.actuation import buttons, phone, registry
from allmende.node.actuation.models import Switching
from allmende.node.actuation.policy import Person
from allmende.node.actuation.service import FINAL, Actuation
from allmende.node.auth import AuthError, verify_token
from allmende.node.http.openapi import component, describe, json_request, query_param
from allmende.node.http.problems import Problem
from allmende.node.http.security import CHALLENGE, admin_only, bearer
from allmende.node.ingest import sources
from allmende.node.messages import say
from allmende.node.runtime import Node

PROBLEM = {"$ref": "#/components/responses/Problem"}
JSON_LIMIT = 256 * 1024
SSE_LIMIT = 15 * 60.0
"""Seconds a live view stays open; a Class A command is decided well within it."""
TTS_DOWNLINKS = ("queued", "sent", "ack", "nack", "failed")
REFUSAL = {
    "description": "refused, with the reason in plain German and English (reason.de, reason.en)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}
SEGMENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "geometry": {"type": "object"},
        "state": {"enum": ["on", "off"]},
        "on_until": {"type": ["string", "null"]},
        "locked": {"type": "boolean"},
        "latency": {"type": "object"},
    },
}
SWITCHING = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "state": {
            "enum": [
                "requested",
                "queued",
                "sent",
                "acked",
                "confirmed",
                "failed",
                "expired",
                "coalesced",
            ]
        },
        "state_de": {"type": "string"},
        "reason": {"type": ["string", "null"]},
        "events": {"type": "string", "description": "server-sent events of this switching"},
    },
}


PRESS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "channel": {"enum": ["portal", "app"], "description": "where the button was pressed"}
    },
}


def room(request: web.Request) -> Actuation:
    actuation: Actuation = request.app["actuation"]
    return actuation


async def read_json(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise Problem(415, "Unsupported Media Type", say("send application/json"))
    body = await request.content.read(JSON_LIMIT + 1)
    if len(body) > JSON_LIMIT:
        raise Problem(
            413, "Content Too Large", say("at most %(JSON_LIMIT)s bytes", JSON_LIMIT=JSON_LIMIT)
        )
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise Problem(400, "Bad Request", say("the body is not valid JSON")) from None


def person(request: web.Request) -> Person:
    """A resident by their token, anyone else by a pseudonym of their address."""
    token = bearer(request)
    node: Node = request.app["node"]
    if token is None:
        return Person(subject=f"anonymous:{request.remote or '-'}")
    try:
        principal = verify_token(token, node.admin_keys(), node.id)
    except AuthError as exc:
        raise Problem(401, "Unauthorized", str(exc), headers=CHALLENGE) from None
    name = principal.subject
    if principal.role == "access" and "app_token" in principal.claims:
        from allmende.node.apps.server import acting_for  # an approved app acting for a resident

        name = acting_for(node, principal.claims, "lights:switch")
    elif principal.role != "resident":
        raise Problem(403, "Forbidden", say("switching takes a resident token (or none)"))
    return Person(
        subject=f"resident:{name}",
        resident=True,
        iri=f"{node.base_url}/residents/{name}",
    )


@describe(
    "Street-light segments with their state (on/off, until when, locked, expected latency)",
    tags=["actuation"],
    responses={
        "200": {
            "description": "segments",
            "content": {"application/json": {"schema": {"type": "array", "items": SEGMENT}}},
        }
    },
)
async def segment_list(request: web.Request) -> web.Response:
    now = room(request).now()
    rows = await asyncio.to_thread(registry.segments, request.app["node"], now)
    return web.json_response({"segments": rows})


@describe(
    "One street-light segment with its state",
    tags=["actuation"],
    responses={"200": {"description": "the segment"}, "404": PROBLEM},
)
async def segment_show(request: web.Request) -> web.Response:
    now = room(request).now()
    rows = await asyncio.to_thread(registry.segments, request.app["node"], now)
    wanted = request.match_info["segment"]
    for row in rows:
        if row["id"] == wanted:
            return web.json_response(row)
    raise Problem(404, "Not Found", say("no segment %(wanted)s", wanted=repr(wanted)))


@describe(
    "Switch a segment on for its duration (residents with their token, or anyone, as the "
    "municipality's policy says); a press while it is on extends once instead",
    tags=["actuation"],
    bearer=True,
    request_body=json_request(PRESS, required=False),
    responses={
        "202": {"description": "accepted: the switching, its state and its event stream"},
        "403": REFUSAL,
        "404": PROBLEM,
        "409": REFUSAL,
    },
)
async def switch(request: web.Request) -> web.Response:
    actuation = room(request)
    channel = "portal"
    if request.can_read_body:
        body = registry.validate(await read_json(request), PRESS)
        channel = body.get("channel", channel)
    row, verdict = await actuation.press(request.match_info["segment"], person(request), channel)
    body = registry.switching_json(row)
    body["message"] = {"de": verdict.reason_de, "en": verdict.reason_en}
    body["remaining_tonight"] = verdict.remaining
    return web.json_response(
        body, status=202, headers={"Location": f"/actuation/switchings/{row.id}"}
    )


def _switching(request: web.Request) -> Switching:
    row = room(request).switching(request.match_info["switching"][:32])
    if row is None:
        raise Problem(404, "Not Found", say("no such switching"))
    return row


@describe(
    "One switching's state (requested, queued, sent, acked, confirmed, failed, expired)",
    tags=["actuation"],
    responses={
        "200": {
            "description": "the switching",
            "content": {"application/json": {"schema": SWITCHING}},
        },
        "404": PROBLEM,
    },
)
async def switching_show(request: web.Request) -> web.Response:
    row = await asyncio.to_thread(_switching, request)
    return web.json_response(registry.switching_json(row))


@describe(
    "Server-sent events of one switching: an event `state` per change until it is final",
    tags=["actuation"],
    responses={
        "200": {
            "description": "text/event-stream",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        "404": PROBLEM,
    },
)
async def switching_events(request: web.Request) -> web.StreamResponse:
    actuation = room(request)
    row = await asyncio.to_thread(_switching, request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + SSE_LIMIT
    last: tuple[str, str | None] | None = None
    shown = 0
    while True:
        waiter = actuation.waiter(row.id)  # before reading: no change slips between
        steps = actuation.changes(row.id)
        if steps is None:  # made before this process started: its current state
            fresh = await asyncio.to_thread(actuation.switching, row.id) or row
            steps, shown = [registry.switching_json(fresh)], 0
        for body in steps[shown:]:
            if (body["state"], body["reason"]) != last:
                await response.write(
                    f"event: state\ndata: {json.dumps(body, ensure_ascii=False)}\n\n".encode()
                )
                last = (body["state"], body["reason"])
        shown = len(steps)
        if (last is not None and last[0] in FINAL) or loop.time() >= give_up:
            break
        try:
            async with asyncio.timeout(min(15.0, give_up - loop.time())):
                await waiter.wait()
        except TimeoutError:
            await response.write(b": still waiting\n\n")
    await response.write_eof()
    return response


@describe(
    "The municipality's signed switching policy (ODRL)",
    tags=["actuation"],
    responses={"200": {"description": "signed policy"}, "404": PROBLEM},
)
async def policy_show(request: web.Request) -> web.Response:
    signed = await asyncio.to_thread(registry.signed_policy, request.app["node"])
    if signed is None:
        raise Problem(404, "Not Found", say("no switching policy installed"))
    return web.json_response(signed)


@describe(
    "Energy per month: switched on demand vs. the same lamps on all night (Wh)",
    tags=["actuation"],
    responses={"200": {"description": "months"}},
)
async def energy(request: web.Request) -> web.Response:
    months = await asyncio.to_thread(registry.energy, request.app["node"])
    return web.json_response(
        {"months": months, "dataset": "/datasets/strassenbeleuchtung-schaltungen"}
    )


# -- webhooks -------------------------------------------------------------------------------

WEBHOOK = {
    "200": {"description": "recorded (or about no switching of this node: ignored)"},
    "401": PROBLEM,
    "404": PROBLEM,
    "409": PROBLEM,
    "422": PROBLEM,
}


def _tts_downlink(message: str) -> Any:
    @describe(
        f"The Things Stack v3 webhook, downlink-{message} path: advances the switching "
        "named in correlation_ids",
        tags=["actuation"],
        request_body=json_request({"type": "object"}),
        responses=WEBHOOK,
    )
    async def handle(request: web.Request) -> web.Response:
        sources.check(request, "ttn", request.app["ingest"]["secrets"])
        body = await read_json(request)
        try:
            event = tts.parse_event(body)
        except InvalidEvent as exc:
            raise Problem(422, "Unprocessable Content", str(exc)) from None
        if event.kind.value != message:
            raise Problem(
                422,
                "Unprocessable Content",
                say(
                    "a %(value)s event on the %(message)s path",
                    value=event.kind.value,
                    message=message,
                ),
            )
        if event.correlation is None:
            raise Problem(404, "Not Found", say("the event carries no correlation id of this node"))
        row = await room(request).on_event("tts", event)
        return web.json_response({"switching": row.id, "state": row.state})

    return handle


@describe(
    "The Things Stack v3 webhook, uplink path: a controller's status report confirms its switching",
    tags=["actuation"],
    request_body=json_request({"type": "object"}),
    responses=WEBHOOK,
)
async def tts_uplink(request: web.Request) -> web.Response:
    sources.check(request, "ttn", request.app["ingest"]["secrets"])
    body = await read_json(request)
    try:
        device, _port, payload, decoded = tts.parse_uplink(body)
    except InvalidEvent as exc:
        raise Problem(422, "Unprocessable Content", str(exc)) from None
    row = await room(request).on_uplink("tts", device, payload, decoded)
    return web.json_response(
        {"switching": row.id if row else None, "state": row.state if row else None}
    )


@describe(
    "ChirpStack v4 HTTP integration (?event=txack|ack|log|up): advances the switching of "
    "the queue item; other event types are acknowledged",
    tags=["actuation"],
    parameters=[query_param("event", "ChirpStack event type")],
    request_body=json_request({"type": "object"}),
    responses=WEBHOOK,
)
async def chirpstack_event(request: web.Request) -> web.Response:
    sources.check(request, "chirpstack", request.app["ingest"]["secrets"])
    body = await read_json(request)
    kind = request.query.get("event")
    try:
        if kind == "up":
            device, _port, payload, decoded = cs.parse_uplink(body)
            row = await room(request).on_uplink("chirpstack", device, payload, decoded)
            return web.json_response({"switching": row.id if row else None})
        event = cs.parse_event(kind, body)
    except InvalidEvent as exc:
        raise Problem(422, "Unprocessable Content", str(exc)) from None
    if event is None:
        return web.json_response({"ignored": kind})
    if event.queue_item is None:
        return web.json_response({"ignored": "names no queue item"})
    row = await room(request).on_event("chirpstack", event)
    return web.json_response({"switching": row.id, "state": row.state})


# -- admin ----------------------------------------------------------------------------------


@describe("Controllers (never their credentials)", tags=["actuation"], admin=True)
@admin_only
async def controller_list(request: web.Request) -> web.Response:
    rows = await asyncio.to_thread(registry.controllers, request.app["node"])
    return web.json_response({"controllers": rows})


@describe(
    "Register a lamp or cabinet controller (DevEUI, network server, class, codec)",
    tags=["actuation"],
    admin=True,
    request_body=json_request(component("ActuationController", registry.CONTROLLER_SCHEMA)),
    responses={"201": {"description": "registered"}, "409": PROBLEM, "422": PROBLEM},
)
@admin_only
async def controller_add(request: web.Request) -> web.Response:
    row = await registry.add_controller(request.app["node"], await read_json(request))
    return web.json_response({"id": row.id}, status=201)


@describe("Segments with their state", tags=["actuation"], admin=True)
@admin_only
async def admin_segments(request: web.Request) -> web.Response:
    return await segment_list(request)


@describe(
    "Register what a controller switches: lamps, a street segment or a circuit",
    tags=["actuation"],
    admin=True,
    request_body=json_request(component("ActuationSegment", registry.SEGMENT_SCHEMA)),
    responses={"201": {"description": "registered"}, "409": PROBLEM, "422": PROBLEM},
)
@admin_only
async def segment_add(request: web.Request) -> web.Response:
    row = await registry.add_segment(request.app["node"], await read_json(request))
    return web.json_response({"id": row.id}, status=201)


@describe(
    "Lock a segment for maintenance (no switching) or unlock it",
    tags=["actuation"],
    admin=True,
    request_body=json_request(component("ActuationLock", registry.LOCK_SCHEMA)),
    responses={"200": {"description": "the segment's lock"}, "404": PROBLEM, "422": PROBLEM},
)
@admin_only
async def segment_lock(request: web.Request) -> web.Response:
    row = await registry.lock(
        request.app["node"], request.match_info["segment"], await read_json(request)
    )
    return web.json_response({"id": row.id, "locked": row.locked, "reason": row.lock_reason})


@describe(
    "The installed switching policy, signed",
    tags=["actuation"],
    admin=True,
    responses={"200": {"description": "signed policy"}, "404": PROBLEM},
)
@admin_only
async def admin_policy(request: web.Request) -> web.Response:
    return await policy_show(request)


@describe(
    "Install the switching policy (ODRL JSON-LD permitting allmende:switch); the node signs it",
    tags=["actuation"],
    admin=True,
    request_body=json_request({"type": "object"}, media_type="application/json"),
    responses={"200": {"description": "the signed policy"}, "422": PROBLEM},
)
@admin_only
async def policy_install(request: web.Request) -> web.Response:
    signed = await registry.install_policy(request.app["node"], await read_json(request))
    return web.json_response(signed)


@describe(
    "Switchings, newest first, the person only as a pseudonym", tags=["actuation"], admin=True
)
@admin_only
async def switching_list(request: web.Request) -> web.Response:
    rows = await asyncio.to_thread(registry.switchings, request.app["node"])
    return web.json_response({"switchings": rows})


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app["actuation"].start()
    yield
    with contextlib.suppress(Exception):
        await app["actuation"].stop()


def setup(app: web.Application) -> None:
    app["actuation"] = Actuation(app["node"])
    app.cleanup_ctx.append(lifecycle)
    router = app.router
    segment = "{segment:[a-z0-9][a-z0-9-]{0,63}}"
    router.add_get("/actuation/segments", segment_list)
    router.add_get(f"/actuation/segments/{segment}", segment_show)
    router.add_post(f"/actuation/segments/{segment}/switch", switch)
    router.add_get("/actuation/switchings/{switching}", switching_show)
    router.add_get("/actuation/switchings/{switching}/events", switching_events)
    router.add_get("/actuation/policy", policy_show)
    router.add_get("/actuation/energy", energy)
    for message in TTS_DOWNLINKS:
        router.add_post(f"/actuation/ttn/downlink/{message}", _tts_downlink(message))
    router.add_post("/actuation/ttn/uplink", tts_uplink)
    router.add_post("/actuation/chirpstack", chirpstack_event)
    router.add_get("/admin/actuation/controllers", controller_list)
    router.add_post("/admin/actuation/controllers", controller_add)
    router.add_get("/admin/actuation/segments", admin_segments)
    router.add_post("/admin/actuation/segments", segment_add)
    router.add_post(f"/admin/actuation/segments/{segment}/lock", segment_lock)
    router.add_get("/admin/actuation/policy", admin_policy)
    router.add_put("/admin/actuation/policy", policy_install)
    router.add_get("/admin/actuation/switchings", switching_list)
    phone.setup(app)
    buttons.setup(app)
