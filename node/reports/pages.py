"""The portal's Mängelmelder pages: a report form that works without JavaScript, the map and
list of reports, and the reporter's own status page (found by the secret token in its URL).

The form files through the same `submit` as Open311 apps; the public pages show what the
Open311 answers show (masked text, category, status, place), never who reported."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict
from sqlmodel import Session, col, select

from allmende.node.apps.residents import signed_in_resident
from allmende.node.db import transaction
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import FILE, describe, form_body, query_param
from allmende.node.reports import rdf, service
from allmende.node.reports.common import node_of
from allmende.node.reports.filing import Duplicate, NearBorder, NearLights, read_photo, submit
from allmende.node.reports.handling import add_support
from allmende.node.reports.models import Boundary, Category, Report, Update
from allmende.node.reports.open311 import Open311Error
from allmende.node.web import i18n
from allmende.node.web.i18n import N_

STATUS_WORDS = {
    "offen": N_("open"),
    "in_bearbeitung": N_("in progress"),
    "erledigt": N_("done"),
}
FORM_FIELDS: dict[str, dict[str, Any]] = {
    "service_code": {"type": "string"},
    "lat": {"type": "string"},
    "long": {"type": "string"},
    "address_string": {"type": "string"},
    "description": {"type": "string", "maxLength": 4000},
    "email": {"type": "string"},
    "acknowledge_duplicate": {"type": "string"},
    "village": {"type": "string", "description": "near a border: the village chosen"},
    "attribute[segment]": {
        "type": "string",
        "description": "a broken street light: the segment chosen, or - for none of those near",
    },
    "media": FILE,
}


def _categories(session: Session) -> list[Category]:
    return service.categories(session)


def _texts(request: web.Request) -> i18n.Texts:
    return i18n.texts(i18n.negotiate(request))


@describe("The report form (works without JavaScript)", tags=["portal"])
@aiohttp_jinja2.template("reports/melden.html")
async def form_page(request: web.Request) -> dict[str, Any]:
    node = node_of(request)
    rows = await asyncio.to_thread(_read, node, _categories)
    return {
        "categories": rows,
        "values": dict(request.query),
        "error": None,
        "duplicates": [],
        "villages": [],
        "segments": [],
        "tiles": request.app.get("web_tiles", ""),
    }


def _read(node: Any, work: Any) -> Any:
    with Session(node.engine) as session:
        return work(session)


@describe(
    "Send a report from the portal's form; on success to the reporter's status page",
    tags=["portal"],
    request_body=form_body(FORM_FIELDS, ["service_code"]),
    responses={"303": {"description": "to the status page"}, "400": {"description": "the form"}},
)
async def form_send(request: web.Request) -> web.StreamResponse:
    node = node_of(request)
    form = MultiDict(await read_form(request))
    for name in ("lat", "long"):  # German keyboards write 54,6467
        value = form.get(name)
        if isinstance(value, str):
            form[name] = value.strip().replace(",", ".")
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    texts = _texts(request)
    error, duplicates, status = None, [], 400
    villages: list[tuple[str, str]] = []
    segments: list[dict[str, Any]] = []
    try:
        photo = await read_photo(form.get("media"))
        resident = signed_in_resident(request)  # a signed-in resident's apps see it as theirs
        answer = await submit(
            request,
            form,
            photo,
            values.get("acknowledge_duplicate") == "true",
            portal=True,
            resident=resident.name if resident is not None else "",
        )
    except NearLights as exc:
        segments = exc.segments
        error = texts.gettext("Street lights are near this place. Which one is broken?")
        status = 409
    except NearBorder as exc:
        villages = exc.villages
        error = texts.gettext("The place is close to a village border. Which village is it in?")
        status = 409
    except Duplicate as exc:
        ids = exc.ids
        rows = await asyncio.to_thread(_read, node, lambda s: service.by_ids(s, ids))
        duplicates = [rows[i] for i in ids if i in rows]
        error = texts.gettext(
            "A report of this kind is already open nearby. You can support it, or send yours anyway."
        )
        status = 409
    except Open311Error as exc:
        reason = texts.message(exc.description)
        error = texts.gettext("The report could not be sent: %(reason)s", reason=reason)
        status = exc.status if exc.status in (429, 503) else 400
    else:
        raise web.HTTPSeeOther(f"/meldungen/status/{answer['_token']}")
    rows = await asyncio.to_thread(_read, node, _categories)
    context = {
        "categories": rows,
        "values": values,
        "error": error,
        "duplicates": duplicates,
        "villages": villages,
        "segments": segments,
        "tiles": request.app.get("web_tiles", ""),
    }
    response = aiohttp_jinja2.render_template("reports/melden.html", request, context)
    response.set_status(status)
    return response


@describe(
    "The reporter's status page (its address holds the report's secret token)", tags=["portal"]
)
@aiohttp_jinja2.template("reports/status.html")
async def status_page(request: web.Request) -> dict[str, Any]:
    node = node_of(request)
    token = request.match_info["token"][:32]

    def work(session: Session) -> dict[str, Any] | None:
        row = session.exec(
            select(Report).where(Report.token == token, Report.origin == node.id)
        ).first()
        if row is None:
            return None
        updates = session.exec(
            select(Update).where(Update.report_id == row.id).order_by(col(Update.time))
        ).all()
        village = session.get(Boundary, row.responsible)
        return {"report": row, "updates": list(updates), "village": village.name if village else ""}

    found = await asyncio.to_thread(_read, node, work)
    if found is None:
        raise web.HTTPNotFound(text="no report with this address")
    found["status_words"] = STATUS_WORDS
    return found


def _public(session: Session) -> list[Report]:
    return list(
        session.exec(
            select(Report)
            .where(col(Report.released).is_(True))
            .order_by(col(Report.requested).desc())
            .limit(500)
        )
    )


@describe(
    "Reports of residents: a map and a list with their status",
    tags=["portal"],
    parameters=[query_param("unterstuetzt", "a report just supported: thanks are shown")],
)
@aiohttp_jinja2.template("reports/meldungen.html")
async def list_page(request: web.Request) -> dict[str, Any]:
    node = node_of(request)

    def work(session: Session) -> dict[str, Any]:
        names = {b.node: b.name for b in session.exec(select(Boundary))}
        reports = _public(session)
        return {
            "reports": reports,
            "villages": names,
            "per_category": service.per_category(rdf.pooled(node.store)),
        }

    found = await asyncio.to_thread(_read, node, work)
    found["status_words"] = STATUS_WORDS
    texts = _texts(request)
    most = max((row["count"] for row in found["per_category"]), default=1)
    for row in found["per_category"]:
        row["share"] = f"{100 * row['count'] / most:.0f}"
        hours = row["median_hours"]
        row["median_text"] = (
            "–"
            if hours is None
            else texts.ngettext("%(num)s hour", "%(num)s hours", round(hours))
            if hours < 48
            else texts.ngettext("%(num)s day", "%(num)s days", round(hours / 24))
        )
    found["tiles"] = request.app.get("web_tiles", "")
    found["supported"] = bool(request.query.get("unterstuetzt"))
    return found


@describe("Reports as GeoJSON points for the map (category, status, village)", tags=["portal"])
async def list_geojson(request: web.Request) -> web.Response:
    node = node_of(request)
    texts = _texts(request)

    def work(session: Session) -> dict[str, Any]:
        names = {b.node: b.name for b in session.exec(select(Boundary))}
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r.long, r.lat]},
                "properties": {
                    "name": f"{r.service_name}: {texts.gettext(STATUS_WORDS[r.status])}",
                    "village": names.get(r.responsible, "") if r.responsible != node.id else "",
                },
            }
            for r in _public(session)
            if r.lat is not None and r.long is not None
        ]
        return {"type": "FeatureCollection", "features": features}

    body = await asyncio.to_thread(_read, node, work)
    return web.Response(text=json.dumps(body), content_type="application/geo+json")


@describe(
    'Support an open report from the portal ("me too"), each visitor once',
    tags=["portal"],
    request_body=form_body({}, []),
    responses={
        "303": {"description": "to the list of reports"},
        "404": {"description": "no open, released report of that id"},
        "429": {"description": "too many from this address"},
    },
)
async def support_send(request: web.Request) -> web.StreamResponse:
    """The portal's "me too": counted once per visitor (the address, as a keyed hash kept
    here only); a forwarded report's support goes on to the village responsible."""
    node = node_of(request)
    wanted = request.match_info["report"][:32]

    def work() -> bool:
        with transaction(node.engine) as session:
            row = session.get(Report, wanted)
            if row is None or not row.released or row.status == "erledigt":
                return False
            config = service.settings(session)
            if not request.app["reports_rate"].admit(
                request.remote or "-", int(config["rate_per_hour"])
            ):
                raise web.HTTPTooManyRequests(text="too many from this address; try again later")
            add_support(session, node, row, f"portal\naddress:{request.remote or '-'}")
            return True

    if not await node.write(work):
        raise web.HTTPNotFound(text="no open report with this id")
    node.project_soon()  # a forwarded report's support travels on
    raise web.HTTPSeeOther(f"/meldungen?unterstuetzt={wanted}#report-{wanted}")


def setup(app: web.Application) -> None:
    app.router.add_post("/meldungen/{report}/unterstuetzen", support_send)
    app.router.add_get("/melden", form_page)
    app.router.add_post("/melden", form_send)
    app.router.add_get("/meldungen", list_page)
    app.router.add_get("/meldungen/karte.geojson", list_geojson)
    app.router.add_get("/meldungen/status/{token}", status_page)
