"""The operator's admin API of the Mängelmelder (JSON and RFC 9457 problems like the rest of
the node): categories, client apps, settings, the boundary, reports and their status, the
retention and the open dataset."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.db import transaction
from allmende.node.http.forms import read_json
from allmende.node.http.openapi import describe, json_request, query_param
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.messages import reason
from allmende.node.reports import geo, mail, service
from allmende.node.reports.common import PROBLEM, node_of, read
from allmende.node.reports.handling import boundary_changed, change_status, purge, retention
from allmende.node.reports.models import STATUSES, Report
from allmende.node.reports.open311 import (
    w3c,
)
from allmende.node.runtime import Node

# -- the operator's admin API ------------------------------------------------------------------


CATEGORY = {
    "type": "object",
    "properties": {
        **service.CATEGORY_SCHEMA,
        "active": {"type": "boolean"},
        "attributes": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["code", "name"],
}


@describe("The report categories, inactive ones too", tags=["reports"], admin=True)
@admin_only
async def admin_categories(request: web.Request) -> web.Response:
    rows = await read(
        request,
        lambda s: [service.category_json(c) for c in service.categories(s, active_only=False)],
    )
    return web.json_response({"categories": rows})


@describe(
    "Add or replace a report category (an Open311 service) and who handles it",
    tags=["reports"],
    admin=True,
    request_body=json_request(CATEGORY),
    responses={"200": {"description": "replaced"}, "201": {"description": "added"}, "400": PROBLEM},
)
@admin_only
async def admin_save_category(request: web.Request) -> web.Response:
    body = await read_json(request)
    try:
        row = service.checked_category(body)
    except service.Invalid as exc:
        raise Problem(400, "Bad Request", reason(exc)) from None
    node = node_of(request)

    def work() -> bool:
        with transaction(node.engine) as session:
            return service.save_category(session, row)

    created = await node.write(work)
    return web.json_response(service.category_json(row), status=201 if created else 200)


@describe(
    "Retire a report category: apps no longer offer it, its reports stay",
    tags=["reports"],
    admin=True,
    responses={"204": {"description": "retired"}, "404": PROBLEM},
)
@admin_only
async def admin_retire_category(request: web.Request) -> web.Response:
    node = node_of(request)
    code = request.match_info["code"]

    def work() -> bool:
        with transaction(node.engine) as session:
            return service.retire_category(session, code)

    if not await node.write(work):
        raise Problem(404, "Not Found", f"no category {code!r}")
    return web.Response(status=204)


@describe("Client apps allowed to file reports (without their keys)", tags=["reports"], admin=True)
@admin_only
async def admin_clients(request: web.Request) -> web.Response:
    rows = await read(request, service.clients)
    return web.json_response(
        {
            "clients": [
                {"id": r.id, "name": r.name, "created": w3c(r.created), "revoked": r.revoked}
                for r in rows
            ]
        }
    )


@describe(
    "Register a client app; its API key is in the answer, once",
    tags=["reports"],
    admin=True,
    request_body=json_request(
        {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}},
            "required": ["name"],
        }
    ),
    responses={"201": {"description": "id, name and api_key"}, "400": PROBLEM},
)
@admin_only
async def admin_add_client(request: web.Request) -> web.Response:
    body = await read_json(request)
    name = body.get("name") if isinstance(body, dict) else None
    node = node_of(request)

    def work() -> tuple[str, str, str]:
        with transaction(node.engine) as session:
            row, key = service.new_client(session, name)
            return row.id, row.name, key

    try:
        client_id, client_name, key = await node.write(work)
    except service.Invalid as exc:
        raise Problem(400, "Bad Request", reason(exc)) from None
    return web.json_response({"id": client_id, "name": client_name, "api_key": key}, status=201)


@describe("The Mängelmelder's settings", tags=["reports"], admin=True)
@admin_only
async def admin_settings(request: web.Request) -> web.Response:
    return web.json_response(await read(request, service.settings))


@describe(
    "Change settings: moderation, retention_days, rate_per_hour, duplicate_radius, "
    "border_buffer, notify, smtp_host, smtp_port, mail_from",
    tags=["reports"],
    admin=True,
    request_body=json_request({"type": "object"}),
    responses={"200": {"description": "the settings"}, "400": PROBLEM},
)
@admin_only
async def admin_change_settings(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise Problem(400, "Bad Request", "body: a JSON object of settings")
    node = node_of(request)

    def work() -> dict[str, Any]:
        with transaction(node.engine) as session:
            return service.change_settings(session, body)

    try:
        return web.json_response(await node.write(work))
    except service.Invalid as exc:
        raise Problem(400, "Bad Request", reason(exc)) from None


@describe(
    "Set the municipality's boundary from GeoJSON (Polygon, MultiPolygon, a Feature or a "
    "collection of one); `sample` marks sample data",
    tags=["reports"],
    admin=True,
    parameters=[
        query_param("name", "the municipality's name (default: the feature's GEN or name)"),
        query_param("sample", "true for sample data", {"type": "boolean"}),
        query_param("source", "where the polygon is from, e.g. BKG VG250 2024"),
    ],
    request_body=json_request({"type": "object"}, media_type="application/geo+json"),
    responses={"200": {"description": "stored"}, "400": PROBLEM},
)
@admin_only
async def admin_set_boundary(request: web.Request) -> web.Response:
    document = await read_json(request)
    try:
        geometry = geo.geometry_of(document)
    except geo.BadBoundary as exc:
        raise Problem(400, "Bad Request", f"boundary: {exc}") from None
    node = node_of(request)
    found_name, found_ags = geo.feature_name(document)
    row = geo.boundary_row(
        node.id,
        request.query.get("name", "")[:200] or found_name or node.settings.node.name,
        found_ags or node.settings.node.ags,
        geometry,
        sample=request.query.get("sample", "").lower() == "true",
        source=request.query.get("source", "")[:500],
    )
    await boundary_changed(node, row)
    return web.json_response(
        {"node": row.node, "name": row.name, "ags": row.ags, "sample": row.sample}
    )


@describe(
    "Reports of this village for the console, the moderation queue first",
    tags=["reports"],
    admin=True,
    parameters=[query_param("status", "offen, in_bearbeitung or erledigt")],
)
@admin_only
async def admin_reports(request: web.Request) -> web.Response:
    node = node_of(request)
    wanted = request.query.get("status", "")

    def work(session: Session) -> list[dict[str, Any]]:
        query = select(Report).where(Report.responsible == node.id)
        if wanted in STATUSES:
            query = query.where(Report.status == wanted)
        rows = session.exec(
            query.order_by(col(Report.released), col(Report.requested).desc()).limit(500)
        )
        return [
            {**service.request_json(r), "released": r.released, "origin": r.origin} for r in rows
        ]

    return web.json_response({"reports": await read(request, work)})


@describe(
    "Set a report's status (offen, in_bearbeitung, erledigt) with a note residents may read",
    tags=["reports"],
    admin=True,
    request_body=json_request(
        {
            "type": "object",
            "properties": {
                "status": {"enum": list(STATUSES)},
                "note": {"type": "string", "maxLength": 2000},
            },
            "required": ["status"],
        }
    ),
    responses={"200": {"description": "the report"}, "400": PROBLEM, "404": PROBLEM},
)
@admin_only
async def admin_set_status(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise Problem(400, "Bad Request", "body: {status, note}")
    status, note = body.get("status"), body.get("note", "")
    if status not in STATUSES or not isinstance(note, str):
        raise Problem(400, "Bad Request", f"status: one of {', '.join(STATUSES)}; note: text")
    node = node_of(request)
    wanted = request.match_info["report"][:32]
    try:
        answer = await change_status(node, wanted, status, note)
    except service.Invalid as exc:
        raise Problem(400, "Bad Request", reason(exc)) from None
    if answer is None:
        raise Problem(404, "Not Found", f"no report {wanted!r} handled here")
    return web.json_response(answer)


@describe(
    "Erase now the reporters whose reports were closed longer ago than the retention period",
    tags=["reports"],
    admin=True,
    request_body=json_request({"type": "object"}, required=False),
    responses={"200": {"description": "how many reporters were erased"}},
)
@admin_only
async def admin_purge(request: web.Request) -> web.Response:
    return web.json_response({"erased": await purge(node_of(request))})


DATASET_ID = "maengelmeldungen"


def dataset_description(node: Node, contact: str) -> dict[str, Any]:
    """The open dataset of the reports as the catalog lists it (DCAT-AP.de)."""
    name = node.settings.node.name
    return {
        "id": DATASET_ID,
        "title": {"de": f"Mängelmeldungen {name}", "en": f"Defect reports {name}"},
        "description": {
            "de": "Meldungen von Einwohnerinnen und Einwohnern (Müll, Vandalismus, defekte "
            "Straßenbeleuchtung ...) mit Kategorie, Ort, Stand und Hinweisen der Gemeinde, "
            "ohne Angaben zu den meldenden Personen. Abrufbar über Open311 GeoReport v2 und "
            "als Linked Data über SPARQL.",
            "en": "Residents' reports (rubbish, vandalism, broken street lights ...) with "
            "category, place, status and the municipality's notes, without anything about "
            "the people who reported. Available over Open311 GeoReport v2 and as linked "
            "data over SPARQL.",
        },
        "license": "dl-de/by-2-0",
        "frequency": "CONT",
        "themes": ["GOVE"],
        "keywords": {"de": ["Mängelmelder", "Open311"], "en": ["defect reports", "Open311"]},
        "landing_page": f"{node.base_url}/meldungen",
        "contact": {"email": contact},
    }


@describe(
    "Publish the reports as an open dataset in the catalog (or bring its entry up to date)",
    tags=["reports"],
    admin=True,
    request_body=json_request(
        {
            "type": "object",
            "properties": {"contact": {"type": "string", "format": "email"}},
            "required": ["contact"],
        }
    ),
    responses={"200": {"description": "the catalog entry"}, "400": PROBLEM},
)
@admin_only
async def admin_publish_dataset(request: web.Request) -> web.Response:
    from allmende.node.catalog import service as catalog

    body = await read_json(request)
    contact = body.get("contact") if isinstance(body, dict) else None
    if not isinstance(contact, str) or "@" not in contact or len(contact) > 320:
        raise Problem(400, "Bad Request", "contact: the office's e-mail address for the dataset")
    node = node_of(request)
    description = dataset_description(node, contact)
    try:
        row, _ = await asyncio.to_thread(catalog.load, node, DATASET_ID)
        if row is not None and row.status == "published":
            outcome = await catalog.update(node, DATASET_ID, description, patch=False)
        else:
            outcome = await catalog.create(node, description)
    except catalog.CatalogError as exc:
        raise Problem(exc.status, exc.title, exc.detail, errors=exc.errors) from None
    return web.json_response(outcome.to_json())


def setup(app: web.Application) -> None:
    """The admin API, with the retention and the status mails running beside it."""
    app.cleanup_ctx.append(retention)
    app.cleanup_ctx.append(mail.notifier)
    add = app.router
    add.add_post("/admin/reports/dataset", admin_publish_dataset)
    add.add_post("/admin/reports/purge", admin_purge)
    add.add_get("/admin/reports", admin_reports)
    add.add_post("/admin/reports/{report}/status", admin_set_status)
    add.add_get("/admin/reports/categories", admin_categories)
    add.add_post("/admin/reports/categories", admin_save_category)
    add.add_delete("/admin/reports/categories/{code}", admin_retire_category)
    add.add_get("/admin/reports/clients", admin_clients)
    add.add_post("/admin/reports/clients", admin_add_client)
    add.add_get("/admin/reports/settings", admin_settings)
    add.add_put("/admin/reports/settings", admin_change_settings)
    add.add_put("/admin/reports/boundary", admin_set_boundary)
