"""Token checks for restricted routes: `@admin_only` on a handler, nothing else to remember."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from allmende.node.auth import AuthError, Principal, verify_token
from allmende.node.http.problems import Problem
from allmende.node.messages import say
from allmende.node.runtime import Node

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="allmende"'}


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_admin(request: web.Request) -> Principal:
    token = bearer(request)
    if token is None:
        raise Problem(
            401, "Unauthorized", say("an admin bearer token is required"), headers=CHALLENGE
        )
    node: Node = request.app["node"]
    try:
        principal = verify_token(token, node.admin_keys(), node.id)
    except AuthError as exc:
        raise Problem(401, "Unauthorized", str(exc), headers=CHALLENGE) from exc
    if principal.role != "admin":
        raise Problem(403, "Forbidden", say("this route needs the admin role"))
    return principal


def admin_only(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        request["principal"] = require_admin(request)
        return await handler(request)

    return checked
