"""Browsers get an HTML page for an error, API clients keep their problem+json."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from allmende.node.http.problems import Handler, Problem, wants_html
from allmende.node.web.i18n import N_, negotiate, texts

# What people read for the statuses an error page shows, in the page's language.
TITLES = {
    400: N_("The request cannot be answered"),
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("This address cannot be used like that"),
    409: N_("Conflict with the current state"),
    413: N_("Too large"),
    415: N_("Unsupported format"),
    422: N_("The input cannot be used"),
    429: N_("Too many requests – please try again shortly"),
    500: N_("Something went wrong on the server"),
    503: N_("Unavailable for a moment – please try again shortly"),
}


@web.middleware
async def html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as problem:
        if not wants_html(request) or request.method != "GET":
            raise
        body = dict(problem.body_json)
        if problem.status_code in TITLES:
            body["title"] = texts(negotiate(request)).gettext(TITLES[problem.status_code])
        return aiohttp_jinja2.render_template(
            "error.html", request, {"problem": body}, status=problem.status_code
        )
