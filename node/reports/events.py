"""The Mängelmelder's signed events between villages, and what a village does on receiving one.

- `area.announced`: a village's boundary, so that its peers route reports to it;
- `request.forwarded`: a report for a spot in another village, addressed to it (`to`), its
  contents sealed to that village's key (node.reports.sealing): the feed is public and may
  not show a report before the village responsible released it;
- `request.acknowledged`: the responsible village took the report into its console, and
  whether it is released (public) or waits in its moderation queue;
- `request.updated`: a status change or note, back to the village where it was reported;
- `request.supported`: a person supported ("me too") a forwarded report at the village where
  it was reported; the village responsible counts it once (by its id), never learns who.

They carry the report as the public sees it once released (masked text, place, category)
and never the reporter: name, e-mail, phone and address of the client stay in the origin's `Reporter`.
Every member reads them (they travel with the catalog events); each acts only on those
addressed to it and ignores the rest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session

from allmende.node.events.envelope import new_event, parse_time
from allmende.node.keys import NodeKey
from allmende.node.reports.geo import BadBoundary, boundary_row, geometry_of
from allmende.node.reports.models import STATUSES, Boundary, Report, Support, Update
from allmende.node.reports.privacy import mask
from allmende.node.reports.rdf import MAX_CONTENT, PUBLISHED, published
from allmende.node.reports.sealing import Unsealable, check_sealed, seal, unseal

ANNOUNCED = "de.allmende.reports.area.announced"
FORWARDED = "de.allmende.reports.request.forwarded"
ACKNOWLEDGED = "de.allmende.reports.request.acknowledged"
UPDATED = "de.allmende.reports.request.updated"
SUPPORTED = "de.allmende.reports.request.supported"
EVENT_TYPES = (ANNOUNCED, FORWARDED, ACKNOWLEDGED, UPDATED, SUPPORTED, PUBLISHED)
log = logging.getLogger(__name__)
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


def forwarded(
    node_id: str, report: Report, keys: Mapping[str, Ed25519PublicKey], *, held: bool
) -> dict[str, Any]:
    """The report for the village responsible: what the public may see of it once released,
    nothing more, sealed to that village's keys; `held`: the village of origin holds new
    reports for release, so the village responsible does not publish it before releasing."""
    content = {
        "service_code": report.service_code,
        "service_name": report.service_name,
        "description": mask(report.description),
        "attributes": json.loads(report.attributes),
        "lat": report.lat,
        "long": report.long,
        "address": mask(report.address),
        "media_url": report.media_url,
        "held": held,
    }
    data = {
        "id": report.id,
        "to": report.responsible,
        "requested": report.requested.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "sealed": seal(content, keys),
    }
    return new_event(node_id, FORWARDED, data, subject=report.id)


def acknowledged(node_id: str, report: Report) -> dict[str, Any]:
    """Taken into the console; `released`: shown to the public now (else once released)."""
    data = {"id": report.id, "origin": report.origin, "released": report.released}
    return new_event(node_id, ACKNOWLEDGED, data, subject=report.id)


def updated(node_id: str, report: Report, status: str, note: str, update_id: str) -> dict[str, Any]:
    data = {
        "id": report.id,
        "origin": report.origin,
        "update_id": update_id,
        "status": status,
        "description": mask(note),
    }
    return new_event(node_id, UPDATED, data, subject=report.id)


def supported(node_id: str, report: Report, support_id: str) -> dict[str, Any]:
    """One more person supports a report forwarded from here (who stays here)."""
    data = {"id": report.id, "to": report.responsible, "support_id": support_id}
    return new_event(node_id, SUPPORTED, data, subject=report.id)


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
        parse_time(data.get("requested"))
        check_sealed(data.get("sealed"))
    elif kind == SUPPORTED:
        _text(data, "to", 500)
        _text(data, "support_id", 40)
    elif kind == PUBLISHED:
        graph = _text(data, "graph", 600)
        if "/graphs/reports/" not in graph or not owns(graph):
            raise ValueError(f"graph {graph!r} is not one of the peer's report graphs")
        if data.get("format") != "application/n-triples":
            raise ValueError("format must be application/n-triples")
        _text(data, "content", MAX_CONTENT)
    elif kind in (ACKNOWLEDGED, UPDATED):
        _text(data, "origin", 500)
        if kind == ACKNOWLEDGED and not isinstance(data.get("released", False), bool):
            raise ValueError("released must be true or false")
        if kind == UPDATED:
            if data.get("status") not in STATUSES:
                raise ValueError(f"status must be one of {', '.join(STATUSES)}")
            _text(data, "description", 2000, required=False)
            _text(data, "update_id", 40)
    else:
        raise ValueError(f"unknown report event {kind!r}")


def check_content(content: dict[str, Any]) -> None:
    """The opened contents of a forwarded report, as an honest peer seals them."""
    leaked = [name for name in PERSONAL if name in content]
    if leaked:
        raise ValueError(f"a report event must not carry personal data ({', '.join(leaked)})")
    _text(content, "service_code", 64)
    _text(content, "service_name", 200)
    _text(content, "description", 4000, required=False)
    _text(content, "address", 500, required=False)
    _text(content, "media_url", 1000, required=False)
    if not isinstance(content.get("attributes", {}), dict):
        raise ValueError("attributes must be an object")
    if not isinstance(content.get("held", False), bool):
        raise ValueError("held must be true or false")
    for name, low, high in (("lat", -90, 90), ("long", -180, 180)):
        value = content.get(name)
        if value is not None and (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not low <= value <= high
        ):
            raise ValueError(f"{name} must be WGS 84 degrees")


def receive(
    session: Session,
    event: dict[str, Any],
    here: str,
    log_append: Callable[[Session, list[dict[str, Any]]], None],
    base: str = "",
    key: NodeKey | None = None,
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
        try:
            if key is None:
                raise Unsealable("this node's key is not at hand")
            content = unseal(data["sealed"], key)
            check_content(content)
        except ValueError as exc:  # not acknowledged: the origin keeps it for manual forwarding
            log.warning("a report forwarded here cannot be read: %s", exc)
            return
        data = {**data, **content}
        requested = parse_time(data["requested"])
        moderated = bool(service.settings(session)["moderation"]) or bool(content.get("held"))
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
            released=not moderated,  # ours, or the origin's: held until released here
        )
        session.add(taken)
        news = [acknowledged(here, taken)]
        if taken.released:  # a held report is published once released
            news.append(published(here, base, taken))
        log_append(session, news)
        return
    if kind == SUPPORTED:
        _count_support(session, data, source, here, log_append, base, moment)
        return
    report = session.get(Report, data["id"])
    if report is None or data.get("origin") != here or report.responsible != source:
        return  # not ours, or not from the village we sent it to
    if kind == ACKNOWLEDGED:
        report.acknowledged = moment
        if data.get("released") is True:  # public there: shown here too
            report.released = True
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


def _count_support(
    session: Session,
    data: dict[str, Any],
    source: str,
    here: str,
    log_append: Callable[[Session, list[dict[str, Any]]], None],
    base: str,
    moment: datetime,
) -> None:
    """A support of a report forwarded here by `source`, counted once by its id."""
    report = session.get(Report, data["id"])
    if data["to"] != here or report is None or report.responsible != here:
        return
    if report.origin != source or session.get(Support, data["support_id"]) is not None:
        return  # only the village of origin speaks for its residents; each support once
    session.add(Support(id=data["support_id"], report_id=report.id, origin=source, time=moment))
    report.supporters += 1
    session.add(report)
    if report.released:
        log_append(session, [published(here, base, report)])
