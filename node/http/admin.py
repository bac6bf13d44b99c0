"""Admin routes of the foundation (reading the node's own event log) and the helpers
every room's admin API shares."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from sqlmodel import Session

from allmende.node import logs
from allmende.node.events import EventLog
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


def setup(app: web.Application) -> None:
    app["metrics"].registry.register(RetryMetrics(retry_counts(app["node"]), logs.HELD))
    app.router.add_get("/admin/events", events)
