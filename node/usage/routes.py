"""HTTP side of usage control: agreements and the audit log for the operator, aggregated
use for the public, and the hooks through which downloads, observations and SPARQL ask."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from jsonschema import Draft202012Validator
from sqlmodel import Session, col, select

from allmende.node.catalog.access import USAGE_GUARD
from allmende.node.http.admin import int_param, json_body
from allmende.node.http.openapi import describe, json_request, query_param
from allmende.node.http.problems import Problem, wants_html
from allmende.node.http.security import admin_only
from allmende.node.messages import say
from allmende.node.runtime import Node
from allmende.node.usage import audit
from allmende.node.usage.agreements import (
    MAX_TOKEN_TTL,
    TOKEN_TTL,
    AgreementError,
    access_token,
    grant,
    revoke,
)
from allmende.node.usage.enforcement import authorize
from allmende.node.usage.models import Agreement
from allmende.policies.explain import term_label

MAX_AUDIT_PAGE = 500
GRANT = Draft202012Validator(
    {
        "type": "object",
        "required": ["dataset", "assignee"],
        "additionalProperties": False,
        "properties": {
            "dataset": {"type": "string", "minLength": 1, "maxLength": 64},
            "assignee": {"type": "string", "minLength": 1, "maxLength": 300},
            "purpose": {"type": "string", "minLength": 1, "maxLength": 300},
            "attributes": {"type": "object", "maxProperties": 20},
            "expires": {"type": "string", "format": "date-time", "maxLength": 40},
        },
    },
    format_checker=Draft202012Validator.FORMAT_CHECKER,
)
TOKEN = Draft202012Validator(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "purpose": {"type": "string", "minLength": 1, "maxLength": 300},
            "ttl": {"type": "integer", "minimum": 60, "maximum": MAX_TOKEN_TTL},
        },
    }
)


@describe(
    "Grant an agreement: a dataset's offer bound to one assignee, signed by this node",
    tags=["usage"],
    admin=True,
    request_body=json_request(GRANT.schema),
    responses={"201": {"description": "the signed agreement"}},
)
@admin_only
async def admin_grant(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    body = await json_body(request, GRANT)
    expires = datetime.fromisoformat(body["expires"]) if "expires" in body else None
    try:
        agreement = await asyncio.to_thread(
            grant,
            node,
            body["dataset"],
            body["assignee"],
            purpose=body.get("purpose"),
            attributes=body.get("attributes"),
            expires=expires,
        )
    except AgreementError as exc:
        raise Problem(409, "Conflict", str(exc), dataset=body["dataset"]) from None
    return web.json_response(agreement.public(), status=201)


def _agreements(node: Node, dataset: str | None) -> list[dict[str, Any]]:
    query = select(Agreement).order_by(col(Agreement.created).desc())
    if dataset:
        query = query.where(Agreement.dataset_id == dataset)
    with Session(node.engine) as session:
        return [row.public() for row in session.exec(query)]


@describe(
    "The agreements this node granted",
    tags=["usage"],
    admin=True,
    parameters=[query_param("dataset", "only this dataset's")],
)
@admin_only
async def admin_agreements(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    rows = await asyncio.to_thread(_agreements, node, request.query.get("dataset"))
    return web.json_response({"agreements": rows})


def _find(node: Node, agreement_id: str) -> Agreement:
    with Session(node.engine) as session:
        agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise Problem(
            404,
            "Not Found",
            say("there is no agreement '%(agreement_id)s'", agreement_id=agreement_id),
        )
    return agreement


@describe("Revoke an agreement: every use stops at once", tags=["usage"], admin=True)
@admin_only
async def admin_revoke(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    agreement = await asyncio.to_thread(revoke, node, request.match_info["id"])
    if agreement is None:
        raise Problem(
            404,
            "Not Found",
            say("there is no agreement '%(agreement_id)s'", agreement_id=request.match_info["id"]),
        )
    return web.json_response(agreement.public())


@describe(
    "A short-lived access token for an agreement (Bearer JWT, EdDSA)",
    tags=["usage"],
    admin=True,
    request_body=json_request(TOKEN.schema, required=False),
)
@admin_only
async def admin_token(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    body = await json_body(request, TOKEN)
    agreement = await asyncio.to_thread(_find, node, request.match_info["id"])
    if agreement.revoked is not None:
        raise Problem(409, "Conflict", say("the agreement was revoked"))
    ttl = int(body.get("ttl", TOKEN_TTL))
    token = access_token(node, agreement, purpose=body.get("purpose"), ttl=ttl)
    return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": ttl})


@describe(
    "The audit log, newest first: every access decision on restricted data",
    tags=["usage"],
    admin=True,
    parameters=[
        query_param("dataset", "only this dataset"),
        query_param("decision", "permit or deny"),
        query_param("channel", "download, observations, sparql or transfer"),
        query_param("subject", "only this assignee"),
        query_param("agreement", "only this agreement"),
        query_param("before", "entries with a smaller id (paging)", {"type": "integer"}),
        query_param("limit", f"at most {MAX_AUDIT_PAGE}", {"type": "integer"}),
    ],
)
@admin_only
async def admin_audit(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    filters = {name: request.query[name] for name in audit.FILTERS if request.query.get(name)}
    before = int_param(request, "before", 0, 0, 2**62)
    limit = int_param(request, "limit", 100, 1, MAX_AUDIT_PAGE)
    rows = await asyncio.to_thread(audit.entries, node, filters, before=before, limit=limit)
    return web.json_response({"entries": [row.public() for row in rows]})


@describe(
    "How often each restricted dataset was used, and for what (aggregated), and the "
    "agreements in force with links to their signed documents; a page for browsers, JSON "
    "otherwise",
    tags=["usage"],
    parameters=[query_param("format", "json for JSON whatever the Accept header says")],
)
async def public_usage(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    counts = await asyncio.to_thread(audit.usage_counts, node)
    agreements = await asyncio.to_thread(audit.agreements_in_force, node)
    if wants_html(request) and request.query.get("format") != "json":
        language = request.get("lang", "de")
        context = {
            "datasets": counts,
            "agreements": agreements,
            "label": lambda iri: term_label(iri, language),
        }
        return aiohttp_jinja2.render_template("usage.html", request, context)
    return web.json_response({"datasets": counts, "agreements": agreements})


async def guard(request: web.Request, dataset: dict[str, Any], channel: str) -> None:
    await authorize(request, dataset, channel)


def setup(app: web.Application) -> None:
    app[USAGE_GUARD] = guard
    app.router.add_post("/admin/agreements", admin_grant)
    app.router.add_get("/admin/agreements", admin_agreements)
    app.router.add_post("/admin/agreements/{id}/revoke", admin_revoke)
    app.router.add_post("/admin/agreements/{id}/token", admin_token)
    app.router.add_get("/admin/audit", admin_audit)
    app.router.add_get("/usage", public_usage)
