"""Cross-origin reading of the node's public, read-only endpoints.

A SPARQL editor such as YASGUI, a dashboard or a map on another site reads the node
from a browser: that needs `Access-Control-Allow-Origin` on the answer and an answer to
the browser's preflight (`OPTIONS`) for requests that carry a Content-Type, Accept or
Authorization header. Everything here can be read without a session (a token travels in
Authorization, never in a cookie), so `*` gives away nothing a script on any page could
not fetch anyway. The console and the admin API never get these headers: there a session
cookie is the credential, and another origin has no business there.
"""

from __future__ import annotations

from aiohttp import web

from allmende.node.http.problems import Handler

PUBLIC_PREFIXES = (
    "/sparql",
    "/catalog",
    "/federation/catalog",
    "/federation/events",
    "/.well-known/",
    "/map/sensors.geojson",
    "/sensors/latest",
    "/datasets/",
    "/oauth/token",  # apps in browsers exchange codes and give tokens back (no cookie)
    "/oauth/revoke",
    "/oauth/introspect",
)
"""Paths (and what lies below them) that any origin may read; one place for all rooms."""
READ_METHODS = ("GET", "HEAD", "POST")
"""POST only where the route has it: /sparql takes queries by POST, and reads with them."""
ALLOWED_HEADERS = "Content-Type, Accept, Authorization"
EXPOSED_HEADERS = "Content-Type, Content-Length, Link, Location, Retry-After"
MAX_AGE = "86400"


def public(path: str) -> bool:
    return any(
        path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/")
        for prefix in PUBLIC_PREFIXES
    )


def _methods(request: web.Request) -> list[str] | None:
    """The read methods the path's routes answer, as the router knows them; None when
    no route has the path."""
    exception = getattr(request.match_info, "http_exception", None)
    if isinstance(exception, web.HTTPMethodNotAllowed):
        allowed = set(exception.allowed_methods)
    elif exception is None:
        allowed = {request.match_info.route.method}
    else:
        return None
    return [method for method in READ_METHODS if method in allowed]


@web.middleware
async def preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`OPTIONS` on a public path: the methods it answers, and what a browser may send."""
    methods = _methods(request) if request.method == "OPTIONS" else None
    if methods is None or not public(request.path):
        return await handler(request)
    allow = ", ".join([*methods, "OPTIONS"])
    return web.Response(
        status=204,
        headers={
            "Allow": allow,
            "Access-Control-Allow-Methods": allow,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": MAX_AGE,
        },
    )


async def _allow_origin(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer on a public path, streamed results and problems too, just before
    its headers go out."""
    if public(request.path):
        response.headers["Access-Control-Allow-Origin"] = "*"
        if request.headers.get("Origin"):
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS


def setup(app: web.Application) -> None:
    app.middlewares.append(preflight)
    app.on_response_prepare.append(_allow_origin)
