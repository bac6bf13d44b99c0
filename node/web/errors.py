"""Browsers get an HTML page for an error, API clients keep their problem+json."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from node.http.problems import Handler, Problem


def wants_html(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "json" not in accept.split(",")[0]


@web.middleware
async def html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as problem:
        if not wants_html(request) or request.method != "GET":
            raise
        return aiohttp_jinja2.render_template(
            "error.html", request, {"problem": problem.body_json}, status=problem.status_code
        )
