"""OpenAPI 3.1 built from the router itself, so the document lists exactly the routes that exist.

Handlers describe themselves with `@describe(...)`, with their parameters and request bodies
(`json_request`, `form_body`, `multipart_body`), so that a schema-based fuzzer reaches every route;
tests/foundation/test_openapi_coverage.py fails for a route without one. Static files are left
out: they are files, not operations.
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
    bearer: bool = False,
    parameters: list[dict[str, Any]] | None = None,
    request_body: dict[str, Any] | None = None,
    responses: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    def attach(handler: F) -> F:
        spec: dict[str, Any] = {"summary": summary}
        if tags:
            spec["tags"] = tags
        if admin or bearer:
            spec["security"] = ADMIN
        if parameters:
            spec["parameters"] = parameters
        if request_body:
            spec["requestBody"] = request_body
        spec["responses"] = responses or {"200": {"description": "OK"}}
        if admin or bearer:
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


def json_request(
    schema: dict[str, Any], *, media_type: str = "application/json", required: bool = True
) -> dict[str, Any]:
    """A JSON request body that fits `schema` (the same schema the handler validates with)."""
    return {"required": required, "content": {media_type: {"schema": schema}}}


def form_body(
    fields: dict[str, dict[str, Any]], required: list[str] | None = None
) -> dict[str, Any]:
    """An HTML form's body, urlencoded or multipart, as browsers send it."""
    schema: dict[str, Any] = {"type": "object", "properties": fields}
    if required:
        schema["required"] = required
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": schema},
            "multipart/form-data": {"schema": schema},
        },
    }


def multipart_body(
    fields: dict[str, dict[str, Any]], required: list[str] | None = None
) -> dict[str, Any]:
    """A multipart/form-data upload; a file part is `{"type": "string", "format": "binary"}`."""
    schema: dict[str, Any] = {"type": "object", "properties": fields}
    if required:
        schema["required"] = required
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


_COMPONENTS: dict[str, dict[str, Any]] = {}


def component(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A reference to `schema` kept once under components/schemas, its `$defs` beside it.

    Standalone schemas (with `$id` and `#/$defs/...` references) would otherwise resolve their
    references against the OpenAPI document, where those definitions do not exist.
    """

    def moved(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: (
                    "#/components/schemas/" + name + "." + value.removeprefix("#/$defs/")
                    if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                    else moved(value)
                )
                for key, value in node.items()
                if key not in {"$schema", "$id", "$defs"}
            }
        if isinstance(node, list):
            return [moved(item) for item in node]
        return node

    for definition, inner in schema.get("$defs", {}).items():
        _COMPONENTS[f"{name}.{definition}"] = moved(inner)
    _COMPONENTS[name] = moved(schema)
    return {"$ref": f"#/components/schemas/{name}"}


FILE = {"type": "string", "format": "binary"}
TEXT = {"type": "string"}
# every console form carries the session's CSRF token (node/web/sessions.py)
CSRF = {"csrf_token": {"type": "string", "description": "the CSRF token of the console page"}}


def described(handler: Any) -> bool:
    """Whether the handler (or the one a decorator wraps) carries a `@describe`."""
    while handler is not None:
        if hasattr(handler, "__openapi__"):
            return True
        handler = getattr(handler, "__wrapped__", None)
    return False


def build(app: web.Application, title: str, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        method = route.method.lower()
        if method in {"head", "*"} or route.resource is None:
            continue
        if isinstance(route.resource, web.StaticResource):
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
            "schemas": dict(sorted(_COMPONENTS.items())),
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
