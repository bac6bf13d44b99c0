"""/openapi.json describes every route of the router, so the fuzzer (test_fuzz.py) reaches all.

Generated from `app.router.routes()`: a new route fails here until it carries a `@describe`
with its parameters and, if it takes one, its request body.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from allmende.node.http.app import create_app
from allmende.node.http.openapi import described
from tests.support import make_node

# routes that are deliberately not operations in the document, and why
NOT_OPERATIONS = {
    "HEAD": "aiohttp adds HEAD beside every GET; it answers like the GET without a body",
}
STATIC = "static files (CSS, scripts, images) under /static are files, not API operations"
# state-changing operations that take no body at all, and why
WITHOUT_BODY = {
    ("POST", "/admin/agreements/{id}/revoke"): "the agreement in the path is all it needs",
    ("POST", "/admin/ingest/sources/{source}/secret"): "the source in the path is all it needs",
    ("DELETE", "/admin/ingest/sources/{source}/secret"): "the source in the path is all it needs",
    ("DELETE", "/admin/datasets/{dataset}"): "a retraction names only the dataset",
    ("DELETE", "/admin/datasets/{dataset}/distributions/{distribution}"): "by path only",
    ("DELETE", "/admin/devices/{device}"): "by path only",
    ("DELETE", "/admin/devices/{device}/codec"): "by path only",
    ("DELETE", "/admin/federation/peers"): "the peer is a query parameter",
    ("DELETE", "/rdf-graphs"): "the graph is a query parameter",
    ("DELETE", "/admin/reports/categories/{code}"): "by path only",
    ("POST", "/admin/projections/quarantine/retry"): "tries every quarantined event again",
}


def operations(app: web.Application) -> list[tuple[str, str, Any]]:
    found = []
    for route in app.router.routes():
        if route.method in NOT_OPERATIONS or isinstance(route.resource, web.StaticResource):
            continue
        assert route.resource is not None
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.resource.canonical)
        found.append((route.method, path, route.handler))
    return found


async def test_every_route_is_described_with_its_parameters_and_body(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    app = create_app(make_node(tmp_path / "village"))
    client = await aiohttp_client(app)
    document = await (await client.get("/openapi.json")).json()
    routes = operations(app)
    assert len(routes) > 50

    missing = [
        f"{method} {path}"
        for method, path, _ in routes
        if method.lower() not in document["paths"].get(path, {})
    ]
    assert not missing, f"routes missing from /openapi.json: {missing}"
    undescribed = [f"{m} {p}" for m, p, handler in routes if not described(handler)]
    assert not undescribed, f"routes without @describe: {undescribed}"

    no_body = [
        f"{method} {path}"
        for method, path, _ in routes
        if method in {"POST", "PUT", "PATCH", "DELETE"}
        and (method, path) not in WITHOUT_BODY
        and "requestBody" not in document["paths"][path][method.lower()]
    ]
    assert not no_body, f"state-changing routes without a described body: {no_body}"
    for method, path in WITHOUT_BODY:
        assert method.lower() in document["paths"].get(path, {}), f"stale: {method} {path}"

    for path, methods in document["paths"].items():
        in_path = set(re.findall(r"\{(\w+)\}", path))
        for method, spec in methods.items():
            declared = {p["name"] for p in spec.get("parameters", []) if p["in"] == "path"}
            assert declared == in_path, (method, path)
            for content in spec.get("requestBody", {}).get("content", {}).values():
                assert "schema" in content, f"{method} {path}: a body without a schema"


async def test_static_files_and_head_are_the_only_exceptions(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    app = create_app(make_node(tmp_path / "village"))
    client = await aiohttp_client(app)
    document = await (await client.get("/openapi.json")).json()
    static = [r for r in app.router.routes() if isinstance(r.resource, web.StaticResource)]
    assert static, STATIC
    assert not [p for p in document["paths"] if p.startswith("/static")], STATIC
    routes = [(r.method, r.resource.canonical) for r in app.router.routes() if r.resource]
    gets = {path for method, path in routes if method == "GET"}
    heads = [path for method, path in routes if method == "HEAD"]
    assert heads and set(heads) <= gets, NOT_OPERATIONS["HEAD"]


QUERY_READ = re.compile(
    r'request\.query(?:\.get|\.getall)?[\[(]\s*"(\w+)"|int_param\(\s*request,\s*"(\w+)"'
)


async def test_query_parameters_a_handler_reads_are_described(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    """A handler that reads `request.query["x"]` itself declares `x` (helpers are not read)."""
    app = create_app(make_node(tmp_path / "village"))
    client = await aiohttp_client(app)
    document = await (await client.get("/openapi.json")).json()
    undeclared = []
    checked = 0
    for method, path, handler in operations(app):
        while hasattr(handler, "__wrapped__"):
            handler = handler.__wrapped__
        read = {
            name for groups in QUERY_READ.findall(inspect.getsource(handler)) for name in groups
        }
        read.discard("")
        spec = document["paths"][path][method.lower()]
        declared = {p["name"] for p in spec.get("parameters", []) if p["in"] == "query"}
        undeclared += [f"{method} {path} ?{name}" for name in sorted(read - declared)]
        checked += bool(read)
    assert checked > 15
    assert not undeclared, f"query parameters read but not described: {undeclared}"
