"""Handling of reports on this node, shared by the admin API and the console: status
changes (published, and sent back to the village of origin), the boundary, the retention."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlmodel import Session, select

from allmende.node.db import transaction
from allmende.node.reports import events, rdf, service
from allmende.node.reports.models import Boundary, Report, Support
from allmende.node.runtime import Node

log = logging.getLogger(__name__)


async def boundary_changed(node: Node, row: Boundary) -> None:
    """Keep it and announce it to the peers, in one transaction."""

    def work() -> None:
        with transaction(node.engine) as session:
            session.merge(row)
            node.log.append(session, [events.announced(node.id, row)])

    await node.write(work)
    node.project_soon()


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


async def purge(node: Node) -> int:
    def work() -> int:
        with transaction(node.engine) as session:
            days = int(service.settings(session)["retention_days"])
            return service.anonymise(session, service.now(), days)

    return await node.write(work)


async def retention(app: web.Application) -> AsyncIterator[None]:
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


def person_hash(node: Node, person: str) -> str:
    """Who supports, as a keyed hash (HMAC-SHA256 under a secret derived from the node's key):
    the same person gives the same value here, and the value tells nobody who it is."""
    seed = node.key.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    secret = hashlib.sha256(b"allmende report supporters\0" + seed).digest()
    return hmac.new(secret, person.encode("utf-8"), hashlib.sha256).hexdigest()


def add_support(session: Session, node: Node, report: Report, person: str) -> bool:
    """Count `person` (an app and its user) once among the supporters of a report: published
    if handled here, passed on to the village responsible if forwarded; False if counted."""
    who = person_hash(node, person)
    seen = select(Support).where(Support.report_id == report.id, Support.person == who)
    if session.exec(seen).first() is not None:
        return False
    support = Support(
        id=uuid.uuid4().hex, report_id=report.id, person=who, origin=node.id, time=service.now()
    )
    session.add(support)
    report.supporters += 1
    session.add(report)
    if report.responsible != node.id:
        node.log.append(session, [events.supported(node.id, report, support.id)])
    elif report.released:
        node.log.append(session, [rdf.published(node.id, node.base_url, report)])
    return True
