"""HTTP of the Mängelmelder: Open311 GeoReport v2 under /open311/v2, the operator's admin API.

Open311 answers come as JSON or XML by the path's suffix, and so do its errors (`errors[]`
of {code, description}, 404 unknown, 403 api_key, 400 the rest), so that Open311 apps
understand them; the admin API speaks JSON and RFC 9457 problems like the rest of the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from shapely.geometry import shape
from sqlmodel import Session, col, select

from allmende.node.db import transaction
from allmende.node.http.forms import read_form, read_json
from allmende.node.http.openapi import describe, form_body, json_request, query_param
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.reports import events, geo, mail, photos, rdf, service
from allmende.node.reports.models import STATUSES, Boundary, Category, Report
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
from allmende.node.runtime import Node

PREFIX = "/open311/v2"
log = logging.getLogger(__name__)
FMT = "{format:json|xml}"
PROBLEM = {"$ref": "#/components/responses/Problem"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JURISDICTION = query_param("jurisdiction_id", "the municipality's AGS (optional: one is served)")
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


def node_of(request: web.Request) -> Node:
    node: Node = request.app["node"]
    return node


def open311(handler: Handler) -> Handler:
    """Errors of an Open311 route in the spec's format (JSON or XML as the suffix says)."""

    @functools.wraps(handler)
    async def answered(request: web.Request) -> web.StreamResponse:
        fmt = request.match_info.get("format", "json")
        fmt = fmt if fmt in FORMATS else "json"
        try:
            return await handler(request)
        except Open311Error as exc:
            return error_response(fmt, [exc])
        except Problem as exc:
            detail = exc.body_json.get("detail") or exc.body_json.get("title", "")
            return error_response(fmt, [Open311Error(exc.status_code, str(detail))])

    return answered


def _jurisdiction(request: web.Request) -> None:
    given = request.query.get("jurisdiction_id", "").strip()
    ags = node_of(request).settings.node.ags
    if given and given != ags:
        raise Open311Error(404, f"jurisdiction_id {given!r} is not served here ({ags})")


def _read(request: web.Request, work: Callable[[Session], Any]) -> Awaitable[Any]:
    engine = node_of(request).engine

    def run() -> Any:
        with Session(engine) as session:
            return work(session)

    return asyncio.to_thread(run)


# -- Open311 ---------------------------------------------------------------------------------


@describe(
    "Open311 service discovery: where the GeoReport v2 endpoint is and what it speaks",
    tags=["reports"],
    responses=_answers("the discovery document"),
)
@open311
async def discovery(request: web.Request) -> web.Response:
    node = node_of(request)
    changeset = await _read(request, _changeset)
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

    return respond(request.match_info["format"], "services", await _read(request, work))


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
    row = await _read(request, lambda s: s.get(Category, code))
    if row is None or not row.active:
        raise Open311Error(404, f"service_code {code!r} is not offered here")
    return respond(request.match_info["format"], "service_definition", service.definition_json(row))


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


class RateLimit:
    """At most `per_hour` reports per client address in any hour (kept in memory only)."""

    def __init__(self) -> None:
        self.seen: dict[str, deque[float]] = {}

    def admit(self, who: str, per_hour: int) -> bool:
        moment = time.monotonic()
        times = self.seen.setdefault(who, deque())
        while times and times[0] < moment - 3600:
            times.popleft()
        if len(times) >= per_hour:
            return False
        times.append(moment)
        if len(self.seen) > 100_000:  # forget the oldest addresses, not the limit
            self.seen.pop(next(iter(self.seen)))
        return True


@describe(
    "Open311: file a report (urlencoded form as the spec says; api_key of a client app)",
    tags=["reports"],
    request_body=form_body(REQUEST_FIELDS, ["api_key", "service_code"]),
    responses={
        **_answers(
            "the new request's id (or token, while reports are moderated)", "400", "403", "404"
        ),
        "429": OPEN311_ERROR,
        "503": OPEN311_ERROR,
    },
)
@open311
async def create(request: web.Request) -> web.Response:
    form = await read_form(request)
    fmt = request.match_info["format"]
    photo = await _photo(form.get("media"))
    acknowledged = (
        str(form.get("acknowledge_duplicate", "")).lower() == "true"
        or request.headers.get("X-Acknowledge-Duplicate", "").lower() == "true"
    )

    answer = await submit(request, form, photo, acknowledged, portal=False)
    return respond(fmt, "service_requests", [answer], status=201 if fmt == "json" else 200)


async def submit(
    request: web.Request, form: Any, photo: bytes | None, acknowledged: bool, *, portal: bool
) -> dict[str, Any]:
    """File a report from an Open311 app (its api_key) or the portal's own form: checked,
    routed, kept with its reporter apart, forwarded if another village is responsible."""
    node = node_of(request)
    trust = request.app.get("federation_trust")

    def work() -> dict[str, Any]:
        peer_keys = {p.id: p.keys for p in trust.peers()} if trust is not None else {}
        with transaction(node.engine) as session:
            client = (
                "portal" if portal else service.client_for(session, _text(form.get("api_key"))).id
            )
            config = service.settings(session)
            filing = service.checked_filing(session, form, node.settings.node.ags)
            if not request.app["reports_rate"].admit(
                request.remote or "-", int(config["rate_per_hour"])
            ):
                raise Open311Error(429, "too many reports from this address; try again later")
            responsible, routing = route(
                session,
                node,
                filing,
                buffer=float(config["border_buffer"]) if portal else 0.0,
                chosen=str(form.get("village") or ""),
            )
            if filing.lat is not None and filing.long is not None and not acknowledged:
                close = service.nearby(
                    session,
                    filing.lat,
                    filing.long,
                    float(config["duplicate_radius"]),
                    [filing.category.code],
                )
                if close:
                    raise Duplicate(
                        "100 - Duplicate: an open report of this category is "
                        f"{close[0][0]:.0f} m away ({', '.join(r.id for _, r in close)}); "
                        "support it, or send acknowledge_duplicate=true to file anyway",
                        [r.id for _, r in close],
                    )
            released = not config["moderation"]
            report, reporter = service.new_report(
                filing,
                origin=node.id,
                responsible=responsible,
                routing=routing,
                # a forwarded report is shown here once the village responsible released it
                released=released and routing != "forwarded",
                client=client,
            )
            if photo is not None:
                photos.store(Path(node.settings.directory), report.id, photo)
                report.media_url = f"{node.base_url}/reports/photos/{report.id}.jpg"
            session.add(report)
            session.add(reporter)
            if routing == "forwarded":
                keys = peer_keys.get(responsible)
                if not keys:
                    raise Open311Error(
                        503, "the village responsible cannot be reached yet; try again later"
                    )
                sealed = events.forwarded(node.id, report, keys, held=not released)
                node.log.append(session, [sealed])
            elif released:  # the open dataset: published by the village responsible
                node.log.append(session, [rdf.published(node.id, node.base_url, report)])
            answer: dict[str, Any] = {
                "service_notice": notice(session, responsible, node),
                "account_id": None,
                "_token": report.token,
            }
            if released:
                answer["service_request_id"] = report.id
            else:
                answer["token"] = report.token
            return answer

    answer = await node.write(work)
    node.project_soon()  # wakes the feed and the relay for a forwarded report
    if not portal:
        answer.pop("_token")
    return answer


class Duplicate(Open311Error):
    """Open reports of the same category nearby (their ids in `ids`)."""

    def __init__(self, description: str, ids: list[str]) -> None:
        super().__init__(409, description)
        self.ids = ids


async def _photo(media: Any) -> bytes | None:
    """The uploaded photo (`media`, as Open311 apps and Klarschiff send it), re-encoded."""
    if media is None or isinstance(media, str):
        return None
    data = media.file.read(photos.MAX_BYTES + 1)
    try:
        return await asyncio.to_thread(photos.reencode, data)
    except photos.BadPhoto as exc:
        raise Open311Error(400, f"media: {exc}") from None


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
    row = await _read(request, lambda s: s.get(Report, wanted))
    path = photos.path_of(Path(node.settings.directory), wanted)
    if row is None or not row.released or path is None:
        raise Problem(404, "Not Found", f"no photo of report {wanted!r}")
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg"})


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class NearBorder(Open311Error):
    """The spot is near a border: the reporter says which village (`villages`: node, name)."""

    def __init__(self, villages: list[tuple[str, str]]) -> None:
        super().__init__(409, "the place is near a village border: say which village")
        self.villages = villages


def route(
    session: Session,
    node: Node,
    filing: service.Filing,
    *,
    buffer: float = 0,
    chosen: str = "",
) -> tuple[str, str]:
    """Who handles a report: here when no boundary is known or the point is ours; near a
    border (within `buffer` metres of another village) the reporter's `chosen` village,
    which must be one of those near, or NearBorder to ask."""
    if filing.lat is None or filing.long is None:
        return node.id, "here"
    known = geo.areas(session)
    if not known:
        return node.id, "here"
    if buffer > 0:
        near = geo.candidates(known, filing.lat, filing.long, buffer)
        if len(near) > 1:
            if chosen not in {area.node for area in near}:
                raise NearBorder([(area.node, area.name) for area in near])
            return chosen, "here" if chosen == node.id else "forwarded"
    inside = geo.containing(known, filing.lat, filing.long)
    if not inside:
        raise Open311Error(
            400,
            "the place lies outside every village this node knows; "
            "der Ort liegt außerhalb aller bekannten Gemeinden",
        )
    if any(area.node == node.id for area in inside):
        return node.id, "here"
    return inside[0].node, "forwarded"


def notice(session: Session, responsible: str, node: Node) -> str:
    if responsible == node.id:
        return f"Ihre Meldung ist bei der Gemeinde {node.settings.node.name} eingegangen."
    row = session.get(Boundary, responsible)
    name = row.name if row is not None else responsible
    return f"Ihre Meldung wird an die zuständige Gemeinde {name} weitergeleitet."


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
    ],
    responses=_answers("requests", "400", "404"),
)
@open311
async def requests(request: web.Request) -> web.Response:
    _jurisdiction(request)
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
    )
    if q.get("lat") or q.get("long") or q.get("radius"):
        lat = service._coordinate(q.get("lat", ""), "lat", -90, 90)
        long = service._coordinate(q.get("long", ""), "long", -180, 180)
        radius = service._coordinate(q.get("radius", "250"), "radius", 1, 5000)

        def near(s: Session) -> list[dict[str, Any]]:
            found = service.nearby(s, lat, long, radius, query.codes)
            return _requests_json(s, [r for _, r in found])

        rows = await _read(request, near)
    else:
        rows = await _read(request, lambda s: _requests_json(s, service.find_reports(s, query)))
    return respond(request.match_info["format"], "service_requests", rows)


@describe(
    "Support an open report instead of filing the same again (api_key of a client app)",
    tags=["reports"],
    request_body=form_body({"api_key": {"type": "string"}}, ["api_key"]),
    responses={**_answers("the request with its supporters", "403", "404"), "429": OPEN311_ERROR},
)
@open311
async def support(request: web.Request) -> web.Response:
    node = node_of(request)
    form = await read_form(request)
    wanted = request.match_info["service_request_id"][:32]

    def work() -> list[dict[str, Any]]:
        with transaction(node.engine) as session:
            service.client_for(session, _text(form.get("api_key")))
            config = service.settings(session)
            row = session.get(Report, wanted)
            if row is None or not row.released:
                raise Open311Error(404, f"no request {wanted!r}")
            if not request.app["reports_rate"].admit(
                request.remote or "-", int(config["rate_per_hour"])
            ):
                raise Open311Error(429, "too many reports from this address; try again later")
            row.supporters += 1
            session.add(row)
            return _requests_json(session, [row])

    rows = await node.write(work)
    return respond(request.match_info["format"], "service_requests", rows)


def _requests_json(session: Session, rows: list[Report]) -> list[dict[str, Any]]:
    names = {b.node: b.name for b in session.exec(select(Boundary))}
    return [service.request_json(r, names.get(r.responsible, "")) for r in rows]


@describe(
    "Open311: one report",
    tags=["reports"],
    parameters=[JURISDICTION],
    responses=_answers("the request (as a list of one)", "404"),
)
@open311
async def one_request(request: web.Request) -> web.Response:
    _jurisdiction(request)
    wanted = request.match_info["service_request_id"][:32]

    def work(session: Session) -> list[dict[str, Any]] | None:
        row = session.get(Report, wanted)
        if row is None or not row.released:
            return None
        return _requests_json(session, [row])

    rows = await _read(request, work)
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

    row = await _read(request, work)
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
    rows = await _read(
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
    row = await _read(request, lambda s: s.get(Boundary, node.id))
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

    return respond(request.match_info["format"], "coverage", await _read(request, work))


# -- the operator's admin API ------------------------------------------------------------------


CATEGORY = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "name_en": {"type": "string", "maxLength": 200},
        "description": {"type": "string", "maxLength": 2000},
        "group": {"type": "string", "maxLength": 200},
        "keywords": {"type": "string", "maxLength": 500},
        "department": {"type": "string", "maxLength": 200},
        "contact": {"type": "string", "maxLength": 300},
        "link": {"type": "string", "maxLength": 500},
        "active": {"type": "boolean"},
        "attributes": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["code", "name"],
}


@describe("The report categories, inactive ones too", tags=["reports"], admin=True)
@admin_only
async def admin_categories(request: web.Request) -> web.Response:
    rows = await _read(
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
        raise Problem(400, "Bad Request", str(exc)) from None
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
            row = session.get(Category, code)
            if row is None:
                return False
            row.active = False
            session.add(row)
            return True

    if not await node.write(work):
        raise Problem(404, "Not Found", f"no category {code!r}")
    return web.Response(status=204)


@describe("Client apps allowed to file reports (without their keys)", tags=["reports"], admin=True)
@admin_only
async def admin_clients(request: web.Request) -> web.Response:
    rows = await _read(request, service.clients)
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
            row, key = service.new_client(session, name)  # type: ignore[arg-type]
            return row.id, row.name, key

    try:
        client_id, client_name, key = await node.write(work)
    except service.Invalid as exc:
        raise Problem(400, "Bad Request", str(exc)) from None
    return web.json_response({"id": client_id, "name": client_name, "api_key": key}, status=201)


@describe("The Mängelmelder's settings", tags=["reports"], admin=True)
@admin_only
async def admin_settings(request: web.Request) -> web.Response:
    return web.json_response(await _read(request, service.settings))


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
        raise Problem(400, "Bad Request", str(exc)) from None


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


async def boundary_changed(node: Node, row: Boundary) -> None:
    """Keep it and announce it to the peers, in one transaction."""

    def work() -> None:
        with transaction(node.engine) as session:
            session.merge(row)
            node.log.append(session, [events.announced(node.id, row)])

    await node.write(work)
    node.project_soon()


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

    return web.json_response({"reports": await _read(request, work)})


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
        raise Problem(400, "Bad Request", str(exc)) from None
    if answer is None:
        raise Problem(404, "Not Found", f"no report {wanted!r} handled here")
    return web.json_response(answer)


async def change_status(node: Node, wanted: str, status: str, note: str) -> dict[str, Any] | None:
    """Set the status of a report handled here (releasing it from moderation), publish it,
    and tell the village where it was made; None when no such report is handled here."""

    def work() -> dict[str, Any] | None:
        with transaction(node.engine) as session:
            row = session.get(Report, wanted)
            if row is None or row.responsible != node.id:
                return None
            update = service.apply_update(session, row, status, note, node.id, service.now())
            row.released = True
            news = [rdf.published(node.id, node.base_url, row)]
            if row.origin != node.id:  # the village where it was reported follows it
                news.append(events.updated(node.id, row, status, note, update.id))
            node.log.append(session, news)
            return service.request_json(row)

    answer = await node.write(work)
    node.project_soon()
    return answer


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


async def purge(node: Node) -> int:
    def work() -> int:
        with transaction(node.engine) as session:
            days = int(service.settings(session)["retention_days"])
            return service.anonymise(session, service.now(), days)

    return await node.write(work)


async def _retention(app: web.Application) -> AsyncIterator[None]:
    """Erase reporters past the retention period at start and every six hours."""

    async def keep() -> None:
        while True:
            try:
                await purge(app["node"])
            except Exception:  # a locked database now is tried again next round
                log.exception("erasing reporters past the retention period failed")
            await asyncio.sleep(6 * 3600)

    task = asyncio.create_task(keep())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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
    app["reports_rate"] = RateLimit()
    app.router.add_post("/admin/reports/dataset", admin_publish_dataset)
    app.cleanup_ctx.append(_retention)
    app.cleanup_ctx.append(mail.notifier)
    app.router.add_post("/admin/reports/purge", admin_purge)
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
