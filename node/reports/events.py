"""The Mängelmelder's signed events between villages, and what a village does on receiving one.

- `area.announced`: a village's boundary, so that its peers route reports to it;
- `request.forwarded`: a report for a spot in another village, addressed to it (`to`);
- `request.acknowledged`: the responsible village took the report into its console;
- `request.updated`: a status change or note, back to the village where it was reported.

They carry the report as the public sees it (masked text, place, category) and never the
reporter: name, e-mail, phone and address of the client stay in the origin's `Reporter`.
Every member reads them (they travel with the catalog events); each acts only on those
addressed to it and ignores the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from allmende.node.events.envelope import new_event, parse_time
from allmende.node.reports.geo import BadBoundary, boundary_row, geometry_of
from allmende.node.reports.models import STATUSES, Boundary, Report, Update
from allmende.node.reports.privacy import mask
from allmende.node.reports.rdf import MAX_CONTENT, PUBLISHED, published

ANNOUNCED = "de.allmende.reports.area.announced"
FORWARDED = "de.allmende.reports.request.forwarded"
ACKNOWLEDGED = "de.allmende.reports.request.acknowledged"
UPDATED = "de.allmende.reports.request.updated"
EVENT_TYPES = (ANNOUNCED, FORWARDED, ACKNOWLEDGED, UPDATED, PUBLISHED)
PERSONAL = ("email", "first_name", "last_name", "phone", "ip", "client", "device_id", "account_id")


def announced(node_id: str, row: Boundary) -> dict[str, Any]:
    data = {
        "node": node_id,
        "name": row.name,
        "ags": row.ags,
        "geometry": json.loads(row.geometry),
        "sample": row.sample,
        "source": row.source,
    }
    return new_event(node_id, ANNOUNCED, data, subject=node_id)


def forwarded(node_id: str, report: Report) -> dict[str, Any]:
    """The report for the village responsible: what the public may see of it, nothing more."""
    data = {
        "id": report.id,
        "to": report.responsible,
        "service_code": report.service_code,
        "service_name": report.service_name,
        "description": mask(report.description),
        "attributes": json.loads(report.attributes),
        "lat": report.lat,
        "long": report.long,
        "address": mask(report.address),
        "media_url": report.media_url,
        "requested": report.requested.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    return new_event(node_id, FORWARDED, data, subject=report.id)


def acknowledged(node_id: str, report: Report) -> dict[str, Any]:
    return new_event(
        node_id, ACKNOWLEDGED, {"id": report.id, "origin": report.origin}, subject=report.id
    )


def updated(node_id: str, report: Report, status: str, note: str, update_id: str) -> dict[str, Any]:
    data = {
        "id": report.id,
        "origin": report.origin,
        "update_id": update_id,
        "status": status,
        "description": mask(note),
    }
    return new_event(node_id, UPDATED, data, subject=report.id)


def _text(data: dict[str, Any], name: str, limit: int, *, required: bool = True) -> str:
    value = data.get(name, "")
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value) or len(value) > limit:
        raise ValueError(f"{name} must be text of at most {limit} characters")
    return value


def check(event: dict[str, Any], owns: Callable[[str], bool]) -> None:
    """Refuse (ValueError) what no honest peer sends: a boundary of another node, a report
    claimed by someone else, a status we do not know, or personal data of any reporter."""
    data = event.get("data")
    if not isinstance(data, dict):
        raise ValueError("event data must be an object")
    leaked = [name for name in PERSONAL if name in data]
    if leaked:
        raise ValueError(f"a report event must not carry personal data ({', '.join(leaked)})")
    kind = event["type"]
    if kind == ANNOUNCED:
        if data.get("node") != event["source"] or event.get("subject") != event["source"]:
            raise ValueError("a village announces its own boundary only")
        try:
            geometry_of(data.get("geometry"))
        except BadBoundary as exc:
            raise ValueError(f"boundary: {exc}") from None
        _text(data, "name", 200)
        return
    request_id = _text(data, "id", 32)
    if event.get("subject") != request_id:
        raise ValueError("subject must be the report id")
    if kind == FORWARDED:
        _text(data, "to", 500)
        _text(data, "service_code", 64)
        _text(data, "service_name", 200)
        _text(data, "description", 4000, required=False)
        for name, low, high in (("lat", -90, 90), ("long", -180, 180)):
            value = data.get(name)
            if value is not None and (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not low <= value <= high
            ):
                raise ValueError(f"{name} must be WGS 84 degrees")
        parse_time(data.get("requested"))
    elif kind == PUBLISHED:
        graph = _text(data, "graph", 600)
        if "/graphs/reports/" not in graph or not owns(graph):
            raise ValueError(f"graph {graph!r} is not one of the peer's report graphs")
        if data.get("format") != "application/n-triples":
            raise ValueError("format must be application/n-triples")
        _text(data, "content", MAX_CONTENT)
    elif kind in (ACKNOWLEDGED, UPDATED):
        _text(data, "origin", 500)
        if kind == UPDATED:
            if data.get("status") not in STATUSES:
                raise ValueError(f"status must be one of {', '.join(STATUSES)}")
            _text(data, "description", 2000, required=False)
            _text(data, "update_id", 40)
    else:
        raise ValueError(f"unknown report event {kind!r}")


def receive(
    session: Session,
    event: dict[str, Any],
    here: str,
    log_append: Callable[[Session, list[dict[str, Any]]], None],
    base: str = "",
) -> None:
    """Act on a peer's report event inside the inbox's transaction (so a crash repeats it
    whole): keep its boundary, take a report addressed here and acknowledge it, or follow
    the status of a report made here."""
    from allmende.node.reports import service

    data = event["data"]
    source = event["source"]
    kind = event["type"]
    moment = parse_time(event["time"])
    if kind == ANNOUNCED:
        row = boundary_row(
            source,
            data["name"],
            str(data.get("ags", ""))[:12],
            geometry_of(data["geometry"]),
            sample=bool(data.get("sample")),
            source=str(data.get("source", ""))[:500],
        )
        session.merge(row)
        return
    if kind == PUBLISHED:
        return  # the store's projection takes it
    if kind == FORWARDED:
        if data["to"] != here or session.get(Report, data["id"]) is not None:
            return
        requested = parse_time(data["requested"])
        taken = Report(
            id=data["id"],
            token=data["id"],
            origin=source,
            responsible=here,
            service_code=data["service_code"],
            service_name=data["service_name"],
            description=mask(data.get("description") or ""),
            attributes=json.dumps(data.get("attributes") or {}, ensure_ascii=False),
            lat=data.get("lat"),
            long=data.get("long"),
            address=mask(str(data.get("address") or ""))[:500],
            media_url=str(data.get("media_url") or "")[:1000],
            status="offen",
            routing="received",
            acknowledged=datetime.now(UTC),
            requested=requested,
            updated=moment,
            released=not service.settings(session)["moderation"],  # our own moderation
        )
        session.add(taken)
        news = [acknowledged(here, taken)]
        if taken.released:  # a held report is published once released
            news.append(published(here, base, taken))
        log_append(session, news)
        return
    report = session.get(Report, data["id"])
    if report is None or data.get("origin") != here or report.responsible != source:
        return  # not ours, or not from the village we sent it to
    if kind == ACKNOWLEDGED:
        report.acknowledged = moment
        session.add(report)
    elif kind == UPDATED:
        if session.get(Update, data["update_id"]) is not None:
            return
        service.apply_update(
            session,
            report,
            data["status"],
            data.get("description") or "",
            source,
            moment,
            update_id=data["update_id"],
        )
        report.released = True  # the village responsible has acted on it: shown here too
