"""Filing a report, from an Open311 app or the portal's form alike: checked, rate-limited,
routed by the village boundaries, its photo re-encoded, kept with its reporter apart and,
when another village is responsible, forwarded to it sealed."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlmodel import Session

from allmende.node.db import transaction
from allmende.node.messages import say
from allmende.node.reports import events, geo, lights, photos, rdf, service
from allmende.node.reports.common import node_of
from allmende.node.reports.models import Boundary
from allmende.node.reports.open311 import (
    Open311Error,
)
from allmende.node.runtime import Node


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


async def submit(
    request: web.Request,
    form: Any,
    photo: bytes | None,
    acknowledged: bool,
    *,
    portal: bool,
    client: str | None = None,
    resident: str = "",
) -> dict[str, Any]:
    """File a report from an Open311 app (its api_key, or `client` when an app's token was
    checked) or the portal's own form: checked, routed, kept with its reporter apart,
    forwarded if another village is responsible. `resident`: the account it is filed for
    (an app's resident, or the resident signed in on the portal), whose apps read it back."""
    node = node_of(request)
    trust = request.app.get("federation_trust")

    def work() -> dict[str, Any]:
        peer_keys = {p.id: p.keys for p in trust.peers()} if trust is not None else {}
        with transaction(node.engine) as session:
            filer = (
                "portal"
                if portal
                else client or service.client_for(session, text_of(form.get("api_key"))).id
            )
            config = service.settings(session)
            filing = service.checked_filing(session, form, node.settings.node.ags)
            if not request.app["reports_rate"].admit(
                request.remote or "-", int(config["rate_per_hour"])
            ):
                raise Open311Error(429, say("too many reports from this address; try again later"))
            responsible, routing = route(
                session,
                node,
                filing,
                buffer=float(config["border_buffer"]) if portal else 0.0,
                chosen=str(form.get("village") or ""),
            )
            if (
                portal
                and responsible == node.id
                and lights.tied(filing.category)
                and filing.lat is not None
                and filing.long is not None
                and form.get(f"attribute[{lights.ATTRIBUTE}]") is None
            ):
                segments = lights.near(session, filing.lat, filing.long)
                if segments:  # asked once: which of the street lights near the place
                    raise NearLights(segments)
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
                client=filer,
                resident=resident,
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
                        503,
                        say("the village responsible cannot be reached yet; try again later"),
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


async def read_photo(media: Any) -> bytes | None:
    """The uploaded photo (`media`, as Open311 apps and Klarschiff send it), re-encoded."""
    if media is None or isinstance(media, str):
        return None
    if isinstance(media, bytes | bytearray):  # a part without a file name, as read
        data = bytes(media[: photos.MAX_BYTES + 1])
    else:
        data = media.file.read(photos.MAX_BYTES + 1)
    if not data:  # the browser's empty file field: no photo chosen
        return None
    try:
        return await asyncio.to_thread(photos.reencode, data)
    except photos.BadPhoto as exc:
        raise Open311Error(400, f"media: {exc}") from None


def text_of(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class NearLights(Open311Error):
    """Street lights of the registry are near: the reporter says which one (or none)."""

    def __init__(self, segments: list[dict[str, Any]]) -> None:
        super().__init__(409, "street lights are near the place: say which one is broken")
        self.segments = segments


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
            say("the place lies outside every village this node knows"),
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
