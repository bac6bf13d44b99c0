"""OpenAPI 3.1 built from the router itself, so the document lists exactly the routes that exist.

Handlers describe themselves with `@describe(...)`; a route without a description still
appears, with its docstring's first line as summary.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

F = TypeVar("F", bound=Callable[..., Any])
ADMIN: list[dict[str, list[str]]] = [{"bearer": []}]


def describe(
    summary: str,
    *,
    tags: list[str] | None = None,
    admin: bool = False,
    parameters: list[dict[str, Any]] | None = None,
    request_body: dict[str, Any] | None = None,
    responses: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    def attach(handler: F) -> F:
        spec: dict[str, Any] = {"summary": summary}
        if tags:
            spec["tags"] = tags
        if admin:
            spec["security"] = ADMIN
        if parameters:
            spec["parameters"] = parameters
        if request_body:
            spec["requestBody"] = request_body
        spec["responses"] = responses or {"200": {"description": "OK"}}
        if admin:
            spec["responses"].setdefault("401", {"$ref": "#/components/responses/Problem"})
        handler.__openapi__ = spec  # type: ignore[attr-defined]
        return handler

    return attach


def query_param(
    name: str, description: str, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def build(app: web.Application, title: str, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        method = route.method.lower()
        if method in {"head", "*"} or route.resource is None:
            continue
        info = route.resource.get_info()
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if not path:
            continue
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)
        spec = dict(_spec(route.handler))
        names = re.findall(r"\{(\w+)\}", path)
        if names:
            spec["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in names
            ] + list(spec.get("parameters", []))
        paths.setdefault(path, {})[method] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "responses": {
                "Problem": {
                    "description": "RFC 9457 problem details",
                    "content": {"application/problem+json": {"schema": {"type": "object"}}},
                }
            },
        },
    }


def _spec(handler: Any) -> dict[str, Any]:
    """The handler's own description, looking through decorators such as `admin_only`."""
    while handler is not None:
        if hasattr(handler, "__openapi__"):
            return dict(handler.__openapi__)
        inner = getattr(handler, "__wrapped__", None)
        if inner is None:
            return _from_docstring(handler)
        handler = inner
    return {}


def _from_docstring(handler: Any) -> dict[str, Any]:
    doc = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
    return {"summary": doc, "responses": {"200": {"description": "OK"}}}
