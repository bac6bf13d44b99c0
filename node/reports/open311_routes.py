"""Open311 GeoReport v2 under /open311/v2: discovery, services, requests, tokens, updates,
areas, and the photos of reports.

Answers come as JSON or XML by the path's suffix, and so do errors (`errors[]` of
{code, description}, 404 unknown, 403 api_key, 400 the rest), so that Open311 apps
understand them.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.db import transaction
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import describe, form_body, query_param
from allmende.node.http.problems import Problem
from allmende.node.reports import geo, lights, photos, service
from allmende.node.reports.app_tokens import AuthProblem, app_caller, own_reports_of
from allmende.node.reports.common import PROBLEM, node_of, read
from allmende.node.reports.filing import RateLimit, read_photo, submit, text_of
from allmende.node.reports.handling import add_support
from allmende.node.reports.models import Boundary, Category, Report, Reporter, Update
from allmende.node.reports.open311 import (
    FORMATS,
    MEDIA,
    SPEC,
    Open311Error,
    error_response,
    parse_w3c,
    respond,
    w3c,
)
from allmende.node.web import i18n

PREFIX = "/open311/v2"
log = logging.getLogger(__name__)
FMT = "{format:json|xml}"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JURISDICTION = query_param("jurisdiction_id", "the municipality's AGS (optional: one is served)")
ACCOUNT = query_param(
    "account_id",
    "extension: `me` with an app's bearer token (scope reports:read) answers the reports the "
    "app filed for its resident instead of the public ones, held ones too, each with token, "
    "released and updates",
)
OPEN311_ERROR = {
    "description": "errors[] of {code, description}, in the format the suffix asks for",
    "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        "text/xml": {"schema": {"type": "string"}},
    },
}


def _answers(ok: str, *codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "200": {
            "description": ok,
            "content": {
                MEDIA["json"]: {"schema": {}},
                MEDIA["xml"]: {"schema": {"type": "string"}},
            },
        }
    }
    for code in codes:
        out[code] = OPEN311_ERROR
    return out


def _said(request: web.Request, error: Open311Error) -> Open311Error:
    """The error in the language the app asked for (English unless it asked)."""
    language = i18n.api_language(request)
    return Open311Error(error.status, i18n.texts(language).message(error.description))


def open311(handler: Handler) -> Handler:
    """Errors of an Open311 route in the spec's format (JSON or XML as the suffix says)."""

    @functools.wraps(handler)
    async def answered(request: web.Request) -> web.StreamResponse:
        fmt = request.match_info.get("format", "json")
        fmt = fmt if fmt in FORMATS else "json"
        try:
            return await handler(request)
        except Open311Error as exc:
            return error_response(fmt, [_said(request, exc)])
        except AuthProblem:
            raise  # an app's token refused: RFC 9457, as OAuth clients expect
        except Problem as exc:
            detail = exc.body_json.get("detail") or exc.body_json.get("title", "")
            return error_response(fmt, [_said(request, Open311Error(exc.status_code, detail))])

    return answered


def _jurisdiction(request: web.Request) -> None:
    given = request.query.get("jurisdiction_id", "").strip()
    ags = node_of(request).settings.node.ags
    if given and given != ags:
        raise Open311Error(404, f"jurisdiction_id {given!r} is not served here ({ags})")


# -- Open311 ---------------------------------------------------------------------------------


@describe(
    "Open311 service discovery: where the GeoReport v2 endpoint is and what it speaks",
    tags=["reports"],
    responses=_answers("the discovery document"),
)
@open311
async def discovery(request: web.Request) -> web.Response:
    node = node_of(request)
    changeset = await read(request, _changeset)
    body = {
        "changeset": changeset,
        "contact": f"{node.settings.node.name}: {node.base_url}/reports",
        "key_service": "API-Schlüssel für Apps vergibt die Gemeinde (allmende reports client add)",
        "jurisdiction_id": node.settings.node.ags,
        "endpoints": [
            {
                "specification": SPEC,
                "url": f"{node.base_url}{PREFIX}",
                "changeset": changeset,
                "type": "production",
                "formats": [MEDIA["json"], MEDIA["xml"]],
            }
        ],
    }
    return respond(request.match_info["format"], "discovery", body)


def _changeset(session: Session) -> str | None:
    rows = session.exec(select(Category.created).order_by(col(Category.created).desc())).first()
    return w3c(service.aware(rows)) if rows else None


@describe(
    "Open311 service list: the categories residents may report",
    tags=["reports"],
    parameters=[JURISDICTION],
    responses=_answers("services", "404"),
)
@open311
async def services(request: web.Request) -> web.Response:
    _jurisdiction(request)

    def work(session: Session) -> list[dict[str, Any]]:
        moderated = bool(service.settings(session)["moderation"])
        return [service.service_json(c, moderated) for c in service.categories(session)]

    return respond(request.match_info["format"], "services", await read(request, work))


@describe(
    "Open311 service definition: the extra questions (attributes) of a category",
    tags=["reports"],
    parameters=[JURISDICTION],
    responses=_answers("the definition", "404"),
)
@open311
async def definition(request: web.Request) -> web.Response:
    _jurisdiction(request)
    code = request.match_info["service_code"]

    def work(session: Session) -> dict[str, Any] | None:
        row = session.get(Category, code)
        if row is None or not row.active:
            return None
        body = service.definition_json(row)
        if lights.tied(row):  # apps name the broken lamp's segment
            body["attributes"] = [lights.attribute(session), *body["attributes"]]
        return body

    body = await read(request, work)
    if body is None:
        raise Open311Error(404, f"service_code {code!r} is not offered here")
    return respond(request.match_info["format"], "service_definition", body)


REQUEST_FIELDS: dict[str, dict[str, Any]] = {
    "api_key": {"type": "string", "description": "the app's key from the municipality"},
    "jurisdiction_id": {"type": "string"},
    "service_code": {"type": "string"},
    "lat": {"type": "string", "description": "WGS 84 latitude"},
    "long": {"type": "string", "description": "WGS 84 longitude"},
    "address_string": {"type": "string"},
    "address_id": {"type": "string"},
    "description": {"type": "string", "maxLength": 4000},
    "media_url": {"type": "string"},
    "email": {"type": "string"},
    "first_name": {"type": "string"},
    "last_name": {"type": "string"},
    "phone": {"type": "string"},
    "device_id": {"type": "string"},
    "account_id": {"type": "string"},
    "media": {"type": "string", "format": "binary", "description": "a photo (multipart)"},
    "acknowledge_duplicate": {
        "type": "string",
        "description": "true: file even though an open report of the category is near",
    },
}


@describe(
    "Open311: file a report (urlencoded form as the spec says; api_key of a client app, or an "
    "app's OAuth bearer token with the scope reports:write)",
    tags=["reports"],
    request_body=form_body(REQUEST_FIELDS, ["service_code"]),
    responses={
        **_answers(
            "the new request's id (or token, while reports are moderated)", "400", "403", "404"
        ),
        "401": PROBLEM,
        "429": OPEN311_ERROR,
        "503": OPEN311_ERROR,
    },
)
@open311
async def create(request: web.Request) -> web.Response:
    caller = app_caller(request)  # before the body: a refused token reads nothing
    form = await read_form(request)
    fmt = request.match_info["format"]
    photo = await read_photo(form.get("media"))
    acknowledged = (
        str(form.get("acknowledge_duplicate", "")).lower() == "true"
        or request.headers.get("X-Acknowledge-Duplicate", "").lower() == "true"
    )

    answer = await submit(
        request,
        form,
        photo,
        acknowledged,
        portal=False,
        client=caller.client if caller is not None else None,
        resident=caller.resident if caller is not None else "",
    )
    return respond(fmt, "service_requests", [answer], status=201 if fmt == "json" else 200)


@describe(
    "A report's photo (re-encoded, without metadata)",
    tags=["reports"],
    responses={
        "200": {"description": "JPEG", "content": {"image/jpeg": {"schema": {}}}},
        "404": PROBLEM,
    },
)
async def photo(request: web.Request) -> web.StreamResponse:
    node = node_of(request)
    wanted = request.match_info["report"][:32]
    row = await read(request, lambda s: s.get(Report, wanted))
    path = photos.path_of(Path(node.settings.directory), wanted)
    if row is None or not row.released or path is None:
        raise Problem(404, "Not Found", f"no photo of report {wanted!r}")
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg"})


@describe(
    "Open311: reports, by status, category and date (default the last 90 days, at most 1000)",
    tags=["reports"],
    parameters=[
        JURISDICTION,
        query_param("service_request_id", "ids, comma-separated; overrides the other filters"),
        query_param("service_code", "categories, comma-separated"),
        query_param("start_date", "earliest requested_datetime (W3C, with zone)"),
        query_param("end_date", "latest requested_datetime (W3C, with zone)"),
        query_param("status", "open or closed, comma-separated"),
        query_param("lat", "with long and radius: open reports near a point", {"type": "number"}),
        query_param("long", "WGS 84 longitude", {"type": "number"}),
        query_param("radius", "metres around lat/long (at most 5000)", {"type": "number"}),
        ACCOUNT,
    ],
    responses={**_answers("requests", "400", "404"), "401": PROBLEM, "403": PROBLEM},
)
@open311
async def requests(request: web.Request) -> web.Response:
    _jurisdiction(request)
    resident = own_reports_of(request)
    q = request.query
    start = parse_w3c(q["start_date"], "start_date") if q.get("start_date") else None
    end = parse_w3c(q["end_date"], "end_date") if q.get("end_date") else None
    if start and end and (end < start or end - start > timedelta(days=90)):
        raise Open311Error(400, "start_date to end_date must span 0 to 90 days")
    query = service.Query(
        ids=service.listed(q.get("service_request_id", ""), "service_request_id"),
        codes=service.listed(q.get("service_code", ""), "service_code"),
        start=start,
        end=end,
        statuses=service.statuses_of(q.get("status", "")),
        resident=resident or "",
    )
    if resident is not None:
        if q.get("lat") or q.get("long") or q.get("radius"):
            raise Open311Error(400, "account_id=me is not combined with lat, long and radius")
        rows = await read(request, lambda s: _own_json(s, service.find_reports(s, query), resident))
    elif q.get("lat") or q.get("long") or q.get("radius"):
        lat = service._coordinate(q.get("lat", ""), "lat", -90, 90)
        long = service._coordinate(q.get("long", ""), "long", -180, 180)
        radius = service._coordinate(q.get("radius", "250"), "radius", 1, 5000)

        def near(s: Session) -> list[dict[str, Any]]:
            found = service.nearby(s, lat, long, radius, query.codes)
            return _requests_json(s, [r for _, r in found])

        rows = await read(request, near)
    else:
        rows = await read(request, lambda s: _requests_json(s, service.find_reports(s, query)))
    return respond(request.match_info["format"], "service_requests", rows)


@describe(
    "Support an open report instead of filing the same again (api_key of a client app); each "
    "person counts once: account_id, device_id or email name them, else the client address",
    tags=["reports"],
    request_body=form_body(
        {
            "api_key": {"type": "string"},
            "account_id": {"type": "string", "maxLength": 200},
            "device_id": {"type": "string", "maxLength": 200},
            "email": {"type": "string", "maxLength": 320},
        },
        [],
    ),
    responses={
        **_answers("the request with its supporters", "403", "404"),
        "401": PROBLEM,
        "429": OPEN311_ERROR,
    },
)
@open311
async def support(request: web.Request) -> web.Response:
    node = node_of(request)
    caller = app_caller(request)
    form = await read_form(request)
    wanted = request.match_info["service_request_id"][:32]
    named = [
        (text_of(form.get(name)) or "").strip()[:320]
        for name in ("account_id", "device_id", "email")
    ]
    person = next(
        (
            f"{kind}:{value.lower()}"
            for kind, value in zip(("account", "device", "email"), named, strict=True)
            if value
        ),
        f"address:{request.remote or '-'}",
    )

    def work() -> list[dict[str, Any]]:
        with transaction(node.engine) as session:
            client = (
                caller.client
                if caller is not None
                else service.client_for(session, text_of(form.get("api_key"))).id
            )
            config = service.settings(session)
            row = session.get(Report, wanted)
            if row is None or not row.released:
                raise Open311Error(404, f"no request {wanted!r}")
            if not request.app["reports_rate"].admit(
                request.remote or "-", int(config["rate_per_hour"])
            ):
                raise Open311Error(429, "too many reports from this address; try again later")
            who = f"resident:{caller.resident}" if caller is not None else person
            add_support(session, node, row, f"{client}\n{who}")
            return _requests_json(session, [row])

    rows = await node.write(work)
    node.project_soon()  # a forwarded report's support travels on to its village
    return respond(request.match_info["format"], "service_requests", rows)


def _requests_json(session: Session, rows: list[Report]) -> list[dict[str, Any]]:
    names = {b.node: b.name for b in session.exec(select(Boundary))}
    return [service.request_json(r, names.get(r.responsible, "")) for r in rows]


def _own_json(session: Session, rows: list[Report], resident: str) -> list[dict[str, Any]]:
    """A resident's own reports for their app: as the public sees them once released, and
    the token the filing answered, whether released, and every update (still nothing of
    the reporter). The rows are checked to be theirs once more, whoever selected them."""
    mine = {
        r.report_id
        for r in session.exec(
            select(Reporter).where(
                col(Reporter.report_id).in_([r.id for r in rows]), Reporter.resident == resident
            )
        )
    }
    rows = [r for r in rows if r.id in mine]
    updates: dict[str, list[dict[str, Any]]] = {r.id: [] for r in rows}
    for update in session.exec(
        select(Update).where(col(Update.report_id).in_(list(updates))).order_by(col(Update.time))
    ):
        updates[update.report_id].append(service.update_json(update))
    out = _requests_json(session, rows)
    for row, body in zip(rows, out, strict=True):
        body.update(token=row.token, released=row.released, updates=updates[row.id])
    return out


@describe(
    "Open311: one report",
    tags=["reports"],
    parameters=[JURISDICTION, ACCOUNT],
    responses={
        **_answers("the request (as a list of one)", "400", "404"),
        "401": PROBLEM,
        "403": PROBLEM,
    },
)
@open311
async def one_request(request: web.Request) -> web.Response:
    _jurisdiction(request)
    resident = own_reports_of(request)
    wanted = request.match_info["service_request_id"][:32]

    def work(session: Session) -> list[dict[str, Any]] | None:
        row = session.get(Report, wanted)
        if resident is not None:
            own = _own_json(session, [row], resident) if row is not None else []
            return own or None
        if row is None or not row.released:
            return None
        return _requests_json(session, [row])

    rows = await read(request, work)
    if rows is None:
        raise Open311Error(404, f"no request {wanted!r}")
    return respond(request.match_info["format"], "service_requests", rows)


@describe(
    "Open311: the request id of a token (for reports that waited in moderation)",
    tags=["reports"],
    parameters=[JURISDICTION],
    responses=_answers("service_request_id and token", "404"),
)
@open311
async def token(request: web.Request) -> web.Response:
    _jurisdiction(request)
    wanted = request.match_info["token"][:32]

    def work(session: Session) -> Report | None:
        return session.exec(select(Report).where(Report.token == wanted)).first()

    row = await read(request, work)
    if row is None:
        raise Open311Error(404, f"no token {wanted!r}")
    body = [{"service_request_id": row.id if row.released else None, "token": row.token}]
    return respond(request.match_info["format"], "service_requests", body)


@describe(
    "Open311 servicerequestupdates (mySociety extension): status changes and notes in a span",
    tags=["reports"],
    parameters=[
        JURISDICTION,
        query_param("start_date", "earliest update (W3C, with zone); default 2 hours ago"),
        query_param("end_date", "latest update (W3C, with zone); default now"),
    ],
    responses=_answers("request updates", "400", "404"),
)
@open311
async def request_updates(request: web.Request) -> web.Response:
    _jurisdiction(request)
    q = request.query
    end = parse_w3c(q["end_date"], "end_date") if q.get("end_date") else service.now()
    start = (
        parse_w3c(q["start_date"], "start_date")
        if q.get("start_date")
        else end - timedelta(hours=2)
    )
    if end < start or end - start > timedelta(days=90):
        raise Open311Error(400, "start_date to end_date must span 0 to 90 days")
    rows = await read(
        request,
        lambda s: [service.update_json(u) for u, _ in service.updates_between(s, start, end)],
    )
    return respond(request.match_info["format"], "service_request_updates", rows)


@describe(
    "The municipality's area (its boundary as GeoJSON, or WKT in XML)",
    tags=["reports"],
    parameters=[JURISDICTION],
    responses=_answers("areas"),
)
@open311
async def areas(request: web.Request) -> web.Response:
    _jurisdiction(request)
    node = node_of(request)
    row = await read(request, lambda s: s.get(Boundary, node.id))
    fmt = request.match_info["format"]
    if row is None:
        return respond(fmt, "areas", [])
    document = json.loads(row.geometry)
    area: dict[str, Any] = {
        "id": row.ags or node.settings.node.ags,
        "name": row.name,
        "sample": row.sample,
    }
    if fmt == "xml":
        from shapely.geometry import shape  # with the module: slower start (reports.geo)

        area["grenze"] = shape(document).wkt
    else:
        area["geometry"] = document
    return respond(fmt, "areas", [area])


@describe(
    "Whether a point lies in this municipality (`result`), and which known village it is in",
    tags=["reports"],
    parameters=[
        JURISDICTION,
        query_param("lat", "WGS 84 latitude", {"type": "number"}),
        query_param("long", "WGS 84 longitude", {"type": "number"}),
    ],
    responses=_answers("coverage", "400"),
)
@open311
async def coverage(request: web.Request) -> web.Response:
    _jurisdiction(request)
    node = node_of(request)
    lat = service._coordinate(request.query.get("lat", ""), "lat", -90, 90)
    long = service._coordinate(request.query.get("long", ""), "long", -180, 180)

    def work(session: Session) -> dict[str, Any]:
        inside = geo.containing(geo.areas(session), lat, long)
        return {
            "result": any(a.node == node.id for a in inside),
            "villages": [{"node": a.node, "name": a.name} for a in inside],
        }

    return respond(request.match_info["format"], "coverage", await read(request, work))


def setup(app: web.Application) -> None:
    """The Open311 routes and the photos."""
    app["reports_rate"] = RateLimit()
    add = app.router
    add.add_get(f"{PREFIX}/discovery.{FMT}", discovery)
    add.add_get(f"{PREFIX}/services.{FMT}", services)
    add.add_get(f"{PREFIX}/services/{{service_code}}.{FMT}", definition)
    add.add_get(f"{PREFIX}/requests.{FMT}", requests)
    add.add_post(f"{PREFIX}/requests.{FMT}", create)
    add.add_get(f"{PREFIX}/requests/{{service_request_id}}.{FMT}", one_request)
    add.add_post(f"{PREFIX}/requests/{{service_request_id}}/support.{FMT}", support)
    add.add_get(f"{PREFIX}/tokens/{{token}}.{FMT}", token)
    add.add_get(f"{PREFIX}/servicerequestupdates.{FMT}", request_updates)
    add.add_get(f"{PREFIX}/areas.{FMT}", areas)
    add.add_get(f"{PREFIX}/coverage.{FMT}", coverage)
    add.add_get("/reports/photos/{report}.jpg", photo)
