"""The operator's console page of the report categories: list, add, edit and retire them,
and say which department (or office mailbox) each goes to. Plain forms (no JavaScript), one
per category, CSRF-checked, stored through the same checks as the admin API
(`service.checked_category`), so a category saved here is the one Open311 apps see.

A category tied to the street-light registry (link `/actuation/segments`) lets residents
pick the broken lamp's segment on the report form when one is near."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlmodel import Session

from allmende.node.db import transaction
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import CSRF, describe, form_body
from allmende.node.messages import reason, say
from allmende.node.reports import service
from allmende.node.reports.models import Category
from allmende.node.runtime import Node
from allmende.node.web import sessions
from allmende.node.web.console import signed_in

PAGE = "/admin/console/reports/categories"
FIELDS: dict[str, dict[str, Any]] = {
    **CSRF,
    **service.CATEGORY_SCHEMA,
    "existing": {"type": "string", "description": "true when an existing category is edited"},
    "streetlights": {"type": "string", "description": "true: residents pick the street light"},
    "active": {"type": "string", "description": "true: offered to residents and apps"},
}


def _rows(node: Node) -> list[Category]:
    with Session(node.engine) as session:
        return service.categories(session, active_only=False)


async def _page(
    request: web.Request, *, error: str | None = None, values: dict[str, str] | None = None
) -> web.Response:
    node: Node = request.app["node"]
    context = {
        "categories": await asyncio.to_thread(_rows, node),
        "csrf": request["csrf"],
        "error": error,
        "values": values or {},
        "streetlights": service.STREETLIGHT_LINK,
    }
    status = 200 if error is None else 422
    return aiohttp_jinja2.render_template(
        "reports/categories.html", request, context, status=status
    )


@describe("Console: the report categories and who handles each", tags=["console"])
@signed_in
async def categories_page(request: web.Request) -> web.Response:
    return await _page(request)


def _body(posted: Any, old: Category | None) -> dict[str, Any]:
    """The admin API's JSON body from the form; attributes stay as they were."""
    text = {k: str(v).strip() for k, v in posted.items() if isinstance(v, str)}
    link = text.get("link", "")
    if text.get("streetlights") == "true":
        link = service.STREETLIGHT_LINK
    elif link == service.STREETLIGHT_LINK:
        link = ""
    return {
        "code": text.get("code", ""),
        "name": text.get("name", ""),
        "name_en": text.get("name_en", ""),
        "description": text.get("description", ""),
        "group": text.get("group", ""),
        "keywords": text.get("keywords", ""),
        "department": text.get("department", ""),
        "contact": text.get("contact", ""),
        "link": link,
        "active": text.get("active") == "true",
        "attributes": json.loads(old.attributes) if old is not None else [],
    }


@describe(
    "Console: add a report category or change one (the same checks as the admin API)",
    tags=["console"],
    request_body=form_body(FIELDS, ["csrf_token", "code", "name"]),
)
@signed_in
async def save_category(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    node: Node = request.app["node"]
    posted = await read_form(request)
    values = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf_token"}
    code = values.get("code", "").strip()
    existing = values.get("existing") == "true"

    def work() -> None:
        with transaction(node.engine) as session:
            old = session.get(Category, code)
            if old is not None and not existing:
                raise service.Invalid(
                    say("code: '%(code)s' is taken; change that category instead", code=code)
                )
            if old is None and existing:
                raise service.Invalid(say("code: no category '%(code)s'", code=code))
            service.save_category(session, service.checked_category(_body(posted, old)))

    try:
        await node.write(work)
    except service.Invalid as exc:
        return await _page(request, error=reason(exc), values=values)
    raise web.HTTPSeeOther(f"{PAGE}#category-{code}")


@describe(
    "Console: retire a report category (no longer offered; its reports stay)",
    tags=["console"],
    request_body=form_body({**CSRF}, ["csrf_token"]),
)
@signed_in
async def retire_category(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    node: Node = request.app["node"]
    code = request.match_info["code"][:64]

    def work() -> bool:
        with transaction(node.engine) as session:
            return service.retire_category(session, code)

    if not await node.write(work):
        raise web.HTTPNotFound(text="no such category")
    raise web.HTTPSeeOther(f"{PAGE}#category-{code}")


def setup(app: web.Application) -> None:
    app.router.add_get(PAGE, categories_page)
    app.router.add_post(PAGE, save_category)
    app.router.add_post(PAGE + "/{code}/retire", retire_category)
