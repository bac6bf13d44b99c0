"""The operator console under /admin: sign in with an admin token, then a session cookie
backed by a server-side session (node.web.sessions) the operator can list and end."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
import jwt
from aiohttp import web
from aiohttp_session import get_session
from sqlmodel import Session, select

from allmende.node.auth import AuthError, verify_token
from allmende.node.catalog.models import CatalogDataset
from allmende.node.events import EventLog
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import CSRF, TEXT, describe, form_body, query_param
from allmende.node.http.problems import Problem
from allmende.node.messages import say
from allmende.node.runtime import Node
from allmende.node.web import health, sessions

Page = Callable[[web.Request], Awaitable[web.StreamResponse]]


def signed_in(handler: Page) -> Page:
    """Console pages need a session; without one the browser goes to the sign-in form."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        row = await sessions.current(request)
        if row is None:
            raise web.HTTPSeeOther("/admin/login")
        request["operator"] = row.operator
        request["csrf"] = sessions.csrf_token(await get_session(request))
        return await handler(request)

    return checked


@describe("Console sign-in form", tags=["console"])
@aiohttp_jinja2.template("admin/login.html")
async def login_form(request: web.Request) -> dict[str, Any]:
    await sessions.current(request)  # an ended session's cookie is cleared, not reused
    session = await get_session(request)
    return {"csrf": sessions.csrf_token(session), "error": None}


@describe(
    "Sign in to the console with an admin token",
    tags=["console"],
    request_body=form_body({**CSRF, "token": TEXT}, ["csrf_token", "token"]),
)
async def login(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    form = await read_form(request)
    token = str(form.get("token", "")).strip()
    node: Node = request.app["node"]
    try:
        principal = verify_token(token, node.admin_keys(), node.id)
        if principal.role != "admin":
            raise AuthError("this token has no admin role")
    except AuthError as exc:
        session = await get_session(request)
        context = {"csrf": sessions.csrf_token(session), "error": str(exc)}
        return aiohttp_jinja2.render_template("admin/login.html", request, context, status=401)
    kid = str(jwt.get_unverified_header(token).get("kid"))  # verified above
    await sessions.begin(request, principal.subject, kid)
    raise web.HTTPSeeOther("/admin/")


@describe("Sign out of the console", tags=["console"], request_body=form_body(CSRF, ["csrf_token"]))
async def logout(request: web.Request) -> web.StreamResponse:
    if await sessions.current(request) is not None:  # an ended one needs no token to leave
        await sessions.check_csrf(request)
        await sessions.sign_out(request)
    raise web.HTTPSeeOther("/admin/login")


@describe(
    "Console overview: sensors, ingest problems, peers, datasets, agreements, audit",
    tags=["console"],
)
@signed_in
@aiohttp_jinja2.template("admin/index.html")
async def overview(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]

    def facts() -> dict[str, Any]:
        with Session(node.engine) as session:
            return {
                "last_seq": EventLog.last_seq(session),
                "graphs": len(node.store.graphs()),
                "devices": health.device_states(session),
                "problems": health.recent_problems(session),
                # datasets by their titles, not their ids
                "dataset_titles": dict(
                    session.exec(select(CatalogDataset.id, CatalogDataset.title)).all()
                ),
            }

    federation = request.app.get("federation_status")
    return {
        "operator": request["operator"],
        "csrf": request["csrf"],
        "federation": await asyncio.to_thread(federation, request.app) if federation else None,
        **await asyncio.to_thread(facts),
    }


@describe(
    "Console sessions that are signed in now: who, since, last seen, from where",
    tags=["console"],
    parameters=[query_param("ended", "1 after a session was ended (a notice)")],
)
@signed_in
@aiohttp_jinja2.template("admin/sessions.html")
async def session_list(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    own = await sessions.current(request)
    return {
        "csrf": request["csrf"],
        "sessions": await asyncio.to_thread(sessions.active, node),
        "own": own.id if own else None,
        "ended": request.query.get("ended") == "1",
    }


@describe(
    "End a console session (its cookie stops working at once)",
    tags=["console"],
    request_body=form_body(CSRF, ["csrf_token"]),
)
@signed_in
async def end_session(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    try:
        row_id = int(request.match_info["id"])
    except ValueError:
        raise Problem(404, "Not Found", say("no such session")) from None
    if not await sessions.end(request.app["node"], row_id):
        raise Problem(404, "Not Found", say("no such session (it may have ended already)"))
    own = await sessions.current(request)
    if own is not None and own.id == row_id:
        (await get_session(request)).invalidate()
        raise web.HTTPSeeOther("/admin/login")
    raise web.HTTPSeeOther("/admin/console/sessions?ended=1")


@describe("The console's address without its slash: redirects to /admin/", tags=["console"])
async def admin_root(request: web.Request) -> web.StreamResponse:
    """Operators type /admin; the console lives at /admin/ (its cookie's path)."""
    target = "/admin/" + (f"?{request.query_string}" if request.query_string else "")
    raise web.HTTPPermanentRedirect(target)


def setup(app: web.Application) -> None:
    app.router.add_get("/admin", admin_root)
    app.router.add_get("/admin/login", login_form)
    app.router.add_post("/admin/login", login)
    app.router.add_post("/admin/logout", logout)
    app.router.add_get("/admin/", overview)
    app.router.add_get("/admin/console/sessions", session_list)
    app.router.add_post(r"/admin/console/sessions/{id:\d{1,18}}/end", end_session)
