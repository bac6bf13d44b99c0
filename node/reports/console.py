"""The operator's console page of the Mängelmelder: the reports this village handles (its
own and those neighbours forwarded), the moderation queue first, each with a form to set
its status and a note residents read. The forms call the same `change_status` as the
admin API, so a change is published and flows back to the village of origin alike."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.http.forms import read_form
from allmende.node.http.openapi import CSRF, TEXT, describe, form_body
from allmende.node.messages import reason
from allmende.node.reports import lights, service
from allmende.node.reports.handling import change_status
from allmende.node.reports.models import STATUSES, Boundary, Report
from allmende.node.reports.pages import STATUS_WORDS
from allmende.node.runtime import Node
from allmende.node.web import sessions
from allmende.node.web.console import signed_in


def _rows(node: Node) -> dict[str, Any]:
    with Session(node.engine) as session:
        names = {b.node: b.name for b in session.exec(select(Boundary))}
        reports = list(
            session.exec(
                select(Report)
                .where(Report.responsible == node.id)
                .order_by(col(Report.released), col(Report.status), col(Report.requested).desc())
                .limit(500)
            )
        )
        wanted = {r.id: _segment_of(r) for r in reports}
        known = lights.names(session, [s for s in wanted.values() if s])
    segments = {rid: (seg, known.get(seg, seg)) for rid, seg in wanted.items() if seg}
    return {"reports": reports, "villages": names, "segments": segments}


def _segment_of(report: Report) -> str:
    """The street-light segment a report names (a broken lamp), if any."""
    try:
        value = json.loads(report.attributes).get(lights.ATTRIBUTE)
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


@describe("Console: the reports this village handles, the moderation queue first", tags=["console"])
@signed_in
@aiohttp_jinja2.template("reports/console.html")
async def console_page(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    found = await asyncio.to_thread(_rows, node)
    return {
        **found,
        "csrf": request["csrf"],
        "statuses": [(s, STATUS_WORDS[s]) for s in STATUSES],
        "here": node.id,
        "error": None,
    }


@describe(
    "Console: set a report's status and note (releases a held report)",
    tags=["console"],
    request_body=form_body(
        {**CSRF, "status": {"type": "string", "enum": list(STATUSES)}, "note": TEXT},
        ["csrf_token", "status"],
    ),
)
@signed_in
async def console_status(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    node: Node = request.app["node"]
    posted = await read_form(request)
    status, note = str(posted.get("status", "")), str(posted.get("note", "")).strip()
    wanted = request.match_info["report"][:32]
    try:
        answer = await change_status(node, wanted, status, note)
    except service.Invalid as exc:
        found = await asyncio.to_thread(_rows, node)
        context = {
            **found,
            "csrf": request["csrf"],
            "statuses": [(s, STATUS_WORDS[s]) for s in STATUSES],
            "here": node.id,
            "error": reason(exc),
        }
        return aiohttp_jinja2.render_template("reports/console.html", request, context, status=422)
    if answer is None:
        raise web.HTTPNotFound(text="no such report handled here")
    raise web.HTTPSeeOther(f"/admin/console/reports#report-{wanted}")


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/console/reports", console_page)
    app.router.add_post("/admin/console/reports/{report}", console_status)
