"""The operator's console page of the street lights: controllers, segments (with a form to
lock one for maintenance), the latest switchings, push buttons and phone codes.

It shows what the admin API shows and changes only through the same `registry.lock`, so a
lock set here refuses the next press exactly like one set with the API or the CLI. Persons
appear only as the pseudonyms the switchings keep."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.actuation import phone, registry
from allmende.node.actuation.buttons import Bridge, Button
from allmende.node.actuation.models import Segment
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import CSRF, TEXT, describe, form_body
from allmende.node.http.problems import Problem
from allmende.node.runtime import Node
from allmende.node.web import i18n, sessions
from allmende.node.web.console import signed_in
from allmende.node.web.i18n import N_
from allmende.node.web.streetlights import SEGMENT, minutes_text, state_text

PAGE = "/admin/console/streetlights"
SWITCHINGS_SHOWN = 100
NETWORKS = {"tts": "The Things Stack", "chirpstack": "ChirpStack"}
KINDS = {"lamps": N_("lamps"), "segment": N_("street segment"), "circuit": N_("cabinet circuit")}
CHANNELS = {
    "portal": N_("portal"),
    "app": N_("app"),
    "button": N_("push button"),
    "phone": N_("phone"),
    "extension": N_("extension"),
    "api": N_("API"),
}


def _gather(node: Node, room_now: Any, outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Everything the page lists, read in one go off the event loop."""
    controllers = registry.controllers(node)
    segments = registry.segments(node, room_now)
    with Session(node.engine) as session:
        buttons = list(session.exec(select(Button).order_by(col(Button.device_id))))
        rows = {r.id: r for r in session.exec(select(Segment))}
    for segment in segments:  # the public view leaves out the controller and the wattage
        row = rows.get(segment["id"])
        segment["controller"] = row.controller_id if row else None
        segment["watts"] = row.watts if row else None
    for controller in controllers:
        controller["segments"] = [s for s in segments if s["controller"] == controller["id"]]
    names = {s["id"]: s["name"] for s in segments}
    codes = phone.codes(node, list(names)) if names else {}
    return {
        "controllers": controllers,
        "segments": segments,
        "switchings": registry.switchings(node, SWITCHINGS_SHOWN),
        "buttons": [
            {
                "device": b.device_id,
                "segment": names.get(b.segment_id, b.segment_id),
                "label": b.label,
                "last": outcomes.get(b.device_id),
            }
            for b in buttons
        ],
        "codes": sorted(((names[s], code) for code, s in codes.items()), key=lambda r: r[0]),
        "names": names,
    }


async def _context(request: web.Request, error: str | None = None) -> dict[str, Any]:
    node: Node = request.app["node"]
    texts = i18n.texts(i18n.negotiate(request))
    bridge: Bridge | None = request.app.get("actuation_buttons")
    found = await asyncio.to_thread(
        _gather, node, request.app["actuation"].now(), bridge.outcomes if bridge else {}
    )
    for segment in found["segments"]:
        kind = str(segment.get("kind") or "")
        segment["kind_text"] = texts.gettext(KINDS[kind]) if kind in KINDS else kind
        segment["minutes"] = minutes_text(texts, segment["duration_seconds"])
    for controller in found["controllers"]:
        controller["network_text"] = NETWORKS.get(controller["network"], controller["network"])
    for row in found["switchings"]:
        row["state_text"] = state_text(texts, row["state"])
        row["channel_text"] = (
            texts.gettext(CHANNELS[row["channel"]])
            if row["channel"] in CHANNELS
            else row["channel"]
        )
        row["segment_name"] = found["names"].get(row["segment"], row["segment"])
    for button in found["buttons"]:
        last = button["last"]
        if last is not None:
            state = str(last.get("state", ""))
            button["last_text"] = (
                texts.gettext("refused") if state == "refused" else state_text(texts, state)
            )
    return {**found, "csrf": request["csrf"], "error": error, "webhook": phone.PATH}


@describe(
    "Console: street-light controllers, segments with their lock, the latest switchings, "
    "push buttons and phone codes",
    tags=["console"],
)
@signed_in
@aiohttp_jinja2.template("admin/streetlights.html")
async def console_page(request: web.Request) -> dict[str, Any]:
    return await _context(request)


@describe(
    "Console: lock a street-light segment for maintenance (no switching) or unlock it",
    tags=["console"],
    request_body=form_body(
        {**CSRF, "locked": {"type": "string", "enum": ["1", "0"]}, "reason": TEXT},
        ["csrf_token", "locked"],
    ),
)
@signed_in
async def console_lock(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    segment = request.match_info["segment"]
    posted = await read_form(request)
    locked = str(posted.get("locked", ""))
    reason = str(posted.get("reason", "")).strip()
    texts = i18n.texts(i18n.negotiate(request))
    if locked not in ("1", "0"):
        context = await _context(request, texts.gettext("Choose to lock or to unlock."))
        return aiohttp_jinja2.render_template(
            "admin/streetlights.html", request, context, status=422
        )
    body: dict[str, Any] = {"locked": locked == "1"}
    if reason:
        body["reason"] = reason
    try:
        await registry.lock(request.app["node"], segment, body)
    except Problem as problem:
        if problem.status_code == 404:
            raise
        detail = texts.message(problem.body_json.get("detail") or problem.reason)
        context = await _context(request, texts.gettext("Not saved: %(detail)s", detail=detail))
        return aiohttp_jinja2.render_template(
            "admin/streetlights.html", request, context, status=problem.status_code
        )
    raise web.HTTPSeeOther(f"{PAGE}#segment-{segment}")


def setup(app: web.Application) -> None:
    app.router.add_get(PAGE, console_page)
    app.router.add_post(f"{PAGE}/{{segment:{SEGMENT.pattern[1:-1]}}}/lock", console_lock)
