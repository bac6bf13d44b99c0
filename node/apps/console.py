"""Console page of the app directory: the operator reads each app's manifest and approves,
rejects with a reason, or suspends, and takes an app a neighbouring village approved into
this village's own review (adopt) — the same registry steps as the admin API and CLI."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from allmende.node.apps import manifest as manifests
from allmende.node.apps.registry import Registry, ReviewError, public
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import CSRF, TEXT, describe, form_body
from allmende.node.messages import reason as reason_of
from allmende.node.messages import say
from allmende.node.runtime import Node
from allmende.node.web import sessions
from allmende.node.web.console import signed_in
from allmende.policies.explain import term_label

PAGE = "/admin/console/apps"


async def _render(
    request: web.Request, status: int = 200, error: str | None = None
) -> web.Response:
    node: Node = request.app["node"]
    language = "en" if request.get("lang") == "en" else "de"
    registry = Registry(node)
    rows = await asyncio.to_thread(registry.apps)
    neighbours = await asyncio.to_thread(registry.neighbours)
    for listed in neighbours:
        listed["actions"] = [
            manifests.ACTIONS[s][language]
            for s in listed["manifest"].get("actions", [])
            if s in manifests.ACTIONS
        ]
    apps = []
    for row in rows:
        entry = public(row)
        entry["actions"] = [
            manifests.ACTIONS[s][language]
            for s in entry["requested_scopes"]
            if s in manifests.ACTIONS
        ]
        apps.append(entry)
    context: dict[str, Any] = {
        "csrf": request["csrf"],
        "apps": apps,
        "neighbours": neighbours,
        "error": error,
        "purpose": lambda value: term_label(manifests_purpose(value), language),
    }
    return aiohttp_jinja2.render_template("apps/console.html", request, context, status=status)


def manifests_purpose(value: str) -> str:
    from allmende.node.usage.agreements import purpose_iri

    return purpose_iri(value) or ""


@describe(
    "Console: the registered apps, to review, and the apps neighbouring villages approved",
    tags=["console"],
)
@signed_in
async def apps_page(request: web.Request) -> web.Response:
    return await _render(request)


@describe(
    "Console: approve, reject (with a reason) or suspend an app, or adopt a neighbour's "
    "approved app into this village's review (source: the neighbour's node id)",
    tags=["console"],
    request_body=form_body(
        {
            **CSRF,
            "client_id": TEXT,
            "version": TEXT,
            "reason": TEXT,
            "source": TEXT,
            "action": {"type": "string", "enum": ["approve", "reject", "suspend", "adopt"]},
        },
        ["csrf_token"],
    ),
)
@signed_in
async def app_action(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    node: Node = request.app["node"]
    posted = await read_form(request)
    client_id = str(posted.get("client_id", ""))
    action = str(posted.get("action", ""))
    reason = str(posted.get("reason", "")).strip()[:1000]
    registry = Registry(node)
    try:
        if action == "approve":
            version = str(posted.get("version", "")) or None
            await asyncio.to_thread(registry.approve, client_id, version)
        elif action in ("reject", "suspend"):
            if not reason:
                raise ReviewError(say("give the reason the developer will read"))
            step = registry.reject if action == "reject" else registry.suspend
            await asyncio.to_thread(step, client_id, reason)
        elif action == "adopt":
            source = str(posted.get("source", ""))
            await asyncio.to_thread(registry.adopt, source, client_id)
        else:
            raise ReviewError(say("choose approve, reject or suspend"))
    except (LookupError, ReviewError) as exc:
        return await _render(request, 422, error=reason_of(exc))
    raise web.HTTPSeeOther(PAGE)


def setup(app: web.Application) -> None:
    app.router.add_get(PAGE, apps_page)
    app.router.add_post(PAGE, app_action)
