"""Console pages of usage control: grant, list and revoke agreements; read the audit log.

The forms call the usage room's own functions, so the console grants exactly what the
admin API would, signed and checked against the dataset's policy in the same way.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.catalog.access import is_open
from allmende.node.catalog.models import PUBLISHED, CatalogDataset
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import CSRF, TEXT, describe, form_body, query_param
from allmende.node.messages import reason, say
from allmende.node.runtime import Node
from allmende.node.usage import audit
from allmende.node.usage.agreements import AgreementError, access_token, grant, revoke
from allmende.node.usage.models import Agreement
from allmende.node.web import sessions
from allmende.node.web.console import signed_in
from allmende.policies.explain import VALUES, term_label
from allmende.policies.terms import ALLMENDE

AUDIT_PAGE = 100


def restricted_datasets(node: Node) -> list[tuple[str, str]]:
    with Session(node.engine) as session:
        rows = session.exec(select(CatalogDataset).where(CatalogDataset.status == PUBLISHED))
        return [
            (row.id, row.title)
            for row in rows
            if not is_open({"license": row.license, "access_rights": row.access_rights})
        ]


def agreement_rows(node: Node) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    with Session(node.engine) as session:
        rows = session.exec(select(Agreement).order_by(col(Agreement.created).desc())).all()
    listed = []
    for row in rows:
        expires = row.expires.replace(tzinfo=row.expires.tzinfo or UTC) if row.expires else None
        state = "revoked" if row.revoked else "expired" if expires and expires <= now else "active"
        listed.append({"row": row, "state": state})
    return listed


async def _page(request: web.Request, **extra: Any) -> dict[str, Any]:
    node: Node = request.app["node"]
    language = request.get("lang", "de")
    datasets, agreements = await asyncio.gather(
        asyncio.to_thread(restricted_datasets, node), asyncio.to_thread(agreement_rows, node)
    )
    return {
        "csrf": request["csrf"],
        "datasets": datasets,
        "agreements": agreements,
        "purposes": [(ALLMENDE + name, term_label(ALLMENDE + name, language)) for name in VALUES],
        "label": lambda iri: term_label(iri, language) if iri else "",
        "form": {},
        "error": None,
        "token": None,
        **extra,
    }


async def _render(request: web.Request, status: int, **extra: Any) -> web.Response:
    context = await _page(request, **extra)
    return aiohttp_jinja2.render_template("admin/agreements.html", request, context, status=status)


@describe("Console: agreements, and the form to grant one", tags=["console"])
@signed_in
@aiohttp_jinja2.template("admin/agreements.html")
async def agreements_page(request: web.Request) -> dict[str, Any]:
    return await _page(request)


def _until(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None
    except ValueError:
        raise AgreementError(say("The end date is not a date.")) from None


@describe(
    "Console: grant an agreement from the form",
    tags=["console"],
    request_body=form_body(
        {**CSRF, **dict.fromkeys(("dataset", "assignee", "purpose", "until"), TEXT)},
        ["csrf_token"],
    ),
)
@signed_in
async def grant_from_form(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    node: Node = request.app["node"]
    posted = await read_form(request)
    form = {k: str(posted.get(k, "")).strip() for k in ("dataset", "assignee", "purpose", "until")}
    try:
        until = _until(form["until"])
        if not form["assignee"]:
            raise AgreementError(say("Name who receives the agreement (an IRI or URL)."))
        await asyncio.to_thread(
            grant,
            node,
            form["dataset"],
            form["assignee"][:300],
            purpose=form["purpose"] or None,
            expires=until,
        )
    except (AgreementError, ValueError) as exc:
        return await _render(request, 422, form=form, error=reason(exc))
    raise web.HTTPSeeOther("/admin/console/agreements")


@describe(
    "Console: revoke an agreement, or issue a token for it",
    tags=["console"],
    request_body=form_body(
        {**CSRF, "id": TEXT, "action": {"type": "string", "enum": ["revoke", "token"]}},
        ["csrf_token"],
    ),
)
@signed_in
async def agreement_action(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    node: Node = request.app["node"]
    posted = await read_form(request)
    agreement_id, action = str(posted.get("id", "")), str(posted.get("action", ""))
    if action == "revoke":
        await asyncio.to_thread(revoke, node, agreement_id)
        raise web.HTTPSeeOther("/admin/console/agreements")
    with Session(node.engine) as session:
        agreement = session.get(Agreement, agreement_id)
    if action != "token" or agreement is None or agreement.revoked is not None:
        return await _render(request, 422, error=say("There is no such active agreement."))
    token = {"agreement": agreement.id, "value": access_token(node, agreement)}
    return await _render(request, 200, token=token)


@describe(
    "Console: the audit log with filters",
    tags=["console"],
    parameters=[
        *(query_param(name, f"only entries with this {name}") for name in audit.FILTERS),
        query_param("before", "entries with a smaller id (paging)", {"type": "integer"}),
    ],
)
@signed_in
@aiohttp_jinja2.template("admin/audit.html")
async def audit_page(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    filters = {k: request.query[k][:300] for k in audit.FILTERS if request.query.get(k)}
    before = request.query.get("before", "")
    entries = await asyncio.to_thread(
        audit.entries,
        node,
        filters,
        before=int(before) if before.isdigit() else None,
        limit=AUDIT_PAGE,
    )
    language = request.get("lang", "de")
    return {
        "csrf": request["csrf"],
        "entries": entries,
        "filters": filters,
        "more": len(entries) == AUDIT_PAGE,
        "label": lambda iri: term_label(iri, language) if iri else "",
    }


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/console/agreements", agreements_page)
    app.router.add_post("/admin/console/agreements", grant_from_form)
    app.router.add_post("/admin/console/agreements/action", agreement_action)
    app.router.add_get("/admin/console/audit", audit_page)
