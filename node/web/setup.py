"""Wire the web room: templates, static files, console sessions, portal and console routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from allmende.node.http.problems import problem_middleware
from allmende.node.runtime import Node
from allmende.node.web import (
    agreements_console,
    console,
    dataset_page,
    dataspace_console,
    devices_console,
    errors,
    i18n,
    portal,
    publishing,
    sessions,
    streetlights,
)
from allmende.node.web.i18n import N_

HERE = Path(__file__).parent
NAV = [
    ("/", N_("Home")),
    ("/map", N_("Map")),
    ("/licht", N_("Street lights")),
    ("/meldungen", N_("Reports")),
    ("/data", N_("Datasets")),
    ("/region", N_("Region")),
    ("/usage", N_("Usage")),
    ("/sparql", N_("SPARQL")),
    ("/admin/", N_("Console")),
]


class _OtherLanguage:
    """The same page in the other language, its other query parameters kept: written
    out only when a template shows it. Every request passes through `page_context` (a
    webhook's too), and building this address was most of its cost. No `__html__`: the
    template escapes it like any text."""

    __slots__ = ("language", "request")

    def __init__(self, request: web.Request, language: str) -> None:
        self.request = request
        self.language = language

    def __str__(self) -> str:
        return str(self.request.rel_url.update_query(lang=self.language))


async def page_context(request: web.Request) -> dict[str, Any]:
    """What every template sees: language, node name, navigation (the texts come from the
    catalogs through `_()` and `{% trans %}`, see `node.web.i18n.install`)."""
    node: Node = request.app["node"]
    language = i18n.negotiate(request)
    request["lang"] = language
    other = "en" if language == "de" else "de"
    return {
        "lang": language,
        "other_lang": other,
        "other_lang_url": _OtherLanguage(request, other),
        "node_name": node.settings.node.name,
        "nav": request.app.get("web_nav") or _nav(request.app),
        "current": request.path,
    }


def _nav(app: web.Application) -> list[tuple[str, str]]:
    return [(href, key) for href, key in NAV if href in app["web_paths"]]


@web.middleware
async def remember_language(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    wanted = request.query.get("lang")
    if wanted in i18n.LANGUAGES and request.cookies.get(i18n.COOKIE) != wanted:
        response.set_cookie(i18n.COOKIE, wanted, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


async def _known_paths(app: web.Application) -> None:
    """Navigation shows only pages this node has: rooms plug in and out."""
    app["web_paths"] = {resource.canonical for resource in app.router.resources()}
    app["web_nav"] = _nav(app)


def setup(app: web.Application) -> None:
    node: Node = app["node"]
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        context_processors=[page_context],
    )
    i18n.install(environment)
    app.middlewares.append(remember_language)
    # Outside the problem middleware, so it sees finished problems and can re-render them.
    app.middlewares.insert(app.middlewares.index(problem_middleware), errors.html_errors)
    sessions.install(app, node)
    app.router.add_static("/static/", HERE / "static", name="static", append_version=True)
    portal.setup(app)
    streetlights.setup(app)
    console.setup(app)
    app.on_startup.append(_known_paths)
    publishing.setup(app)
    agreements_console.setup(app)
    devices_console.setup(app)
    dataspace_console.setup(app)
    dataset_page.setup(app)
