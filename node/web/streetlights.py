"""The portal's street-light page ("Licht nach Bedarf"): a map of the segments, one big
button each, the state of one's own switching live, and the energy per month.

Plain HTML first: each button is a form that posts and lands on the switching's page, so
the page works without JavaScript; static/js/licht.js adds the live state (server-sent
events of /actuation/switchings/{id}/events) and lamps on the map. Pressing goes through
the same `Actuation.press` as the JSON API, under the municipality's signed policy."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from allmende.node.actuation import registry
from allmende.node.actuation.routes import person
from allmende.node.actuation.service import FINAL, Actuation, Refused
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import describe, form_body
from allmende.node.http.problems import Problem
from allmende.node.messages import say
from allmende.node.web import i18n

SEGMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
SWITCHING = re.compile(r"^[0-9a-f]{32}$")
STEPS = ("queued", "sent", "confirmed")
STATES = ("requested", "queued", "sent", "acked", "confirmed", "failed", "expired", "coalesced")


def _room(request: web.Request) -> Actuation:
    room: Actuation = request.app["actuation"]
    return room


def latency_text(texts: i18n.Texts, latency: dict[str, Any]) -> str:
    """What to expect, honestly: a Class A controller hears commands only after it reports."""
    if latency.get("class") == "A":
        minutes = max(1, round(int(latency.get("expected_seconds", 600)) / 60))
        return texts.gettext(
            "This controller receives commands only after its next report: the light comes on "
            "within about %(minutes)s minutes.",
            minutes=texts.number(minutes),
        )
    return texts.gettext("The light usually comes on within a few seconds.")


def minutes_text(texts: i18n.Texts, seconds: int) -> str:
    minutes = max(1, seconds // 60)
    return texts.ngettext("%(num)s minute", "%(num)s minutes", minutes)


def energy_rows(texts: i18n.Texts, months: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The months as the page's language writes them, in kWh."""
    rows = []
    for month in months:
        year, number = month["month"].split("-")
        rows.append(
            {
                "month": texts.month_text(int(year), int(number)),
                "switchings": texts.number(month["switchings"]),
                "on_demand": texts.number(month["on_demand_wh"] / 1000, 1),
                "all_night": texts.number(month["all_night_wh"] / 1000, 1),
                "saved": texts.number(month["saved_wh"] / 1000, 1),
                # a CSS width, not a text: written with a decimal point in every language
                "share": f"{100 * month['on_demand_wh'] / month['all_night_wh']:.1f}"
                if month["all_night_wh"]
                else "0",
            }
        )
    return rows


async def _page(request: web.Request, refusal: str | None = None) -> dict[str, Any]:
    node = request.app["node"]
    texts = i18n.texts(i18n.negotiate(request))
    now = _room(request).clock()
    segments, months = await asyncio.gather(
        asyncio.to_thread(registry.segments, node, now),
        asyncio.to_thread(registry.energy, node),
    )
    for segment in segments:
        segment["latency_text"] = latency_text(texts, segment["latency"])
        segment["minutes"] = minutes_text(texts, segment["duration_seconds"])
        segment["until_text"] = texts.datetime_text(segment["on_until"] or "")
    return {
        "segments": segments,
        "energy": energy_rows(texts, months),
        "tiles": request.app["web_tiles"],
        "refusal": refusal,
        "demo_night": request.app.get("licht_demo_night", False),
        "now_text": texts.datetime_text(now),
    }


@describe("Street lights on demand: the segments on a map, one button each", tags=["portal"])
@aiohttp_jinja2.template("licht.html")
async def licht(request: web.Request) -> dict[str, Any]:
    return await _page(request)


@describe(
    "Press a segment's button from the portal's form (no JavaScript needed): on success a "
    "redirect to the switching's page, a refusal is shown on the page with its reason",
    tags=["portal"],
    request_body=form_body({"press": {"type": "string", "description": "the button (ignored)"}}),
    responses={
        "303": {"description": "see the switching's page"},
        "403": {"description": "refused by the policy, the reason on the page"},
        "404": {"description": "no such segment"},
        "409": {"description": "not now (locked, daylight, outside hours), the reason shown"},
    },
)
async def licht_press(request: web.Request) -> web.StreamResponse:
    segment = request.match_info["segment"]
    if not SEGMENT.match(segment):
        raise Problem(404, "Not Found", say("no such segment"))
    await read_form(request)  # the button sends nothing; reading keeps the connection clean
    try:
        row, _verdict = await _room(request).press(segment, person(request), "portal")
    except Refused as refused:
        reason = refused.body_json.get("reason") or {}
        language = i18n.negotiate(request)
        text = str(reason.get(language) or reason.get("de") or refused.body_json.get("detail"))
        context = await _page(request, refusal=text)
        return aiohttp_jinja2.render_template(
            "licht.html", request, context, status=refused.status_code
        )
    raise web.HTTPSeeOther(f"/licht/schaltungen/{row.id}")


@describe("One switching as a page: its state, live with JavaScript", tags=["portal"])
@aiohttp_jinja2.template("licht_switching.html")
async def licht_switching(request: web.Request) -> dict[str, Any]:
    wanted = request.match_info["switching"]
    room = _room(request)
    row = await asyncio.to_thread(room.switching, wanted) if SWITCHING.match(wanted) else None
    if row is None:
        raise Problem(404, "Not Found", say("no such switching"))
    texts = i18n.texts(i18n.negotiate(request))
    now = room.clock()
    segments = await asyncio.to_thread(registry.segments, request.app["node"], now)
    segment = next((s for s in segments if s["id"] == row.segment_id), None)
    if segment is None:
        raise Problem(404, "Not Found", say("no such switching"))
    shown = registry.switching_json(row)
    return {
        "switching": shown,
        "state_text": state_text(texts, row.state),
        "final": row.state in FINAL,
        "steps": [(step, state_text(texts, step)) for step in STEPS],
        "state_texts": {state: state_text(texts, state) for state in STATES},
        "segment": segment,
        "latency_text": latency_text(texts, segment["latency"]),
        "minutes": minutes_text(texts, segment["duration_seconds"]),
        "tiles": request.app["web_tiles"],
    }


def state_text(texts: i18n.Texts, state: str) -> str:
    words = {
        "requested": texts.gettext("requested"),
        "queued": texts.gettext("queued at the network server"),
        "sent": texts.gettext("sent to the controller"),
        "acked": texts.gettext("received by the controller"),
        "confirmed": texts.gettext("confirmed: the light is on"),
        "failed": texts.gettext("failed"),
        "expired": texts.gettext("expired without confirmation"),
        "coalesced": texts.gettext("the light is already on: extended"),
    }
    return words.get(state, state)


async def _demo_night(app: web.Application) -> None:
    """`allmende demo` runs the street lights on a winter night's clock (see node.demo)."""
    from allmende.node.demo import streetlights

    if streetlights.enabled():
        streetlights.night_clock(app["actuation"])
        app["licht_demo_night"] = True


def setup(app: web.Application) -> None:
    app.router.add_get("/licht", licht)
    app.router.add_post("/licht/{segment}", licht_press)
    app.router.add_get("/licht/schaltungen/{switching}", licht_switching)
    app.on_startup.append(_demo_night)
