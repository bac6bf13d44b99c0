"""Admin routes of the foundation (reading the node's own event log) and the helpers
every room's admin API shares."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from sqlmodel import Session

from allmende.node import logs
from allmende.node.events import EventLog, quarantine
from allmende.node.http.forms import read_json
from allmende.node.http.openapi import describe, query_param
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.logs import retry_counts
from allmende.node.metrics import RetryMetrics
from allmende.node.runtime import Node

MAX_PAGE = 1000


async def json_body(request: web.Request, validator: Draft202012Validator) -> dict[str, Any]:
    """An admin API body that fits its schema, or a 400/422 problem naming each field."""
    body = await read_json(request) if request.can_read_body else {}
    errors = [
        {"field": "/" + "/".join(map(str, e.absolute_path)), "message": e.message}
        for e in validator.iter_errors(body)
    ]
    if errors:
        raise Problem(422, "Unprocessable Content", "the body does not fit", errors=errors)
    return dict(body)


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(400, "Bad Request", f"query parameter {name!r} must be an integer") from None
    if not low <= value <= high:
        raise Problem(400, "Bad Request", f"query parameter {name!r} must be in {low}..{high}")
    return value


@describe(
    "A page of the event log with signatures",
    tags=["events"],
    admin=True,
    parameters=[
        query_param("after", "sequence number to start after", {"type": "integer"}),
        query_param("limit", f"page size, at most {MAX_PAGE}", {"type": "integer"}),
    ],
)
@admin_only
async def events(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    after = int_param(request, "after", 0, 0, 2**62)
    limit = int_param(request, "limit", 100, 1, MAX_PAGE)

    def page() -> list[dict[str, object]]:
        with Session(node.engine) as session:
            return [signed.to_json() for signed in EventLog.read(session, after, limit)]

    items = await asyncio.to_thread(page)
    return web.json_response({"items": items, "next_after": items[-1]["seq"] if items else after})


@describe(
    "Events whose projection failed and that the store therefore does not show: position, "
    "event id and type, projection, error class and message, attempts (no event content)",
    tags=["events"],
    admin=True,
)
@admin_only
async def quarantined(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    items = await asyncio.to_thread(quarantine.listing, node.engine, MAX_PAGE)
    counts = await asyncio.to_thread(quarantine.counts, node.engine)
    return web.json_response({"items": items, "by_projection": counts})


@describe(
    "Try the quarantined events again, in log order; those that now project leave the list",
    tags=["events"],
    admin=True,
    responses={"200": {"description": "how many now show and how many are still quarantined"}},
)
@admin_only
async def retry_quarantined(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    shown = await node.retry_quarantined_soon()
    left = sum((await asyncio.to_thread(quarantine.counts, node.engine)).values())
    return web.json_response({"projected": shown, "quarantined": left})


def setup(app: web.Application) -> None:
    app["metrics"].registry.register(RetryMetrics(retry_counts(app["node"]), logs.HELD))
    app.router.add_get("/admin/events", events)
    app.router.add_get("/admin/projections/quarantine", quarantined)
    app.router.add_post("/admin/projections/quarantine/retry", retry_quarantined)
