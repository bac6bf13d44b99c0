"""Photos of forwarded reports reach the village responsible.

The village of origin keeps the photo it re-encoded; the village responsible fetches it
once the report arrives, over a request only it can make: a short-lived token signed with
its node key, addressed to the village of origin and naming the report, checked there
against the trust list and the report's village responsible. It asks only at the address
its trust list holds for that village (never at a URL an event names, and following no
redirect), reads at most photos.MAX_BYTES, and re-encodes what it gets as it does an
upload (format, pixel limit, no metadata) before keeping it as its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.auth import AuthError, mint_token, verify_token
from allmende.node.db import transaction
from allmende.node.http.bodies import BodyTooLarge, response_body
from allmende.node.http.openapi import describe
from allmende.node.http.problems import Problem
from allmende.node.http.security import bearer
from allmende.node.reports import photos
from allmende.node.reports.common import PROBLEM, node_of
from allmende.node.reports.models import Report
from allmende.node.runtime import Node

log = logging.getLogger(__name__)
PATH = "/federation/reports/{report}/photo"
TOKEN_TTL = 60
RETRY_AFTER = 60.0  # seconds before a failed fetch is tried again
POLL = 30.0


def own_url(node: Node, report_id: str) -> str:
    return f"{node.base_url}/reports/photos/{report_id}.jpg"


@describe(
    "A forwarded report's photo, for the village responsible only (its node's signed token)",
    tags=["reports"],
    responses={
        "200": {"description": "JPEG", "content": {"image/jpeg": {"schema": {}}}},
        "401": PROBLEM,
        "403": PROBLEM,
        "404": PROBLEM,
    },
)
async def peer_photo(request: web.Request) -> web.StreamResponse:
    node = node_of(request)
    wanted = request.match_info["report"][:32]
    token = bearer(request)
    if token is None:
        raise Problem(401, "Unauthorized", "the village responsible's signed token is required")
    row = await asyncio.to_thread(_report, node, wanted)
    trust = request.app.get("federation_trust")
    peer = trust.get(row.responsible) if row is not None and trust is not None else None
    if row is None or peer is None or row.routing != "forwarded":
        raise Problem(404, "Not Found", f"no forwarded report {wanted!r}")
    try:
        principal = verify_token(token, peer.keys, audience=node.id, issuer=peer.id)
    except AuthError as exc:
        raise Problem(403, "Forbidden", f"token: {exc}") from None
    if principal.subject != row.id:
        raise Problem(403, "Forbidden", "the token names another report")
    path = photos.path_of(Path(node.settings.directory), row.id)
    if path is None:
        raise Problem(404, "Not Found", f"report {wanted!r} has no photo")
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg"})


def _report(node: Node, report_id: str) -> Report | None:
    with Session(node.engine) as session:
        return session.get(Report, report_id)


def _waiting(node: Node) -> list[tuple[str, str]]:
    """(report id, origin) of reports forwarded here whose photo is still at the origin."""
    with Session(node.engine) as session:
        rows = session.exec(
            select(Report.id, Report.origin)
            .where(Report.routing == "received", Report.media_url != "")
            .where(col(Report.media_url).not_like(f"{node.base_url}/%"))
            .limit(50)
        )
        return [(report_id, origin) for report_id, origin in rows]


class Fetcher:
    """Fetches the photos of reports forwarded here, woken by each commit."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.node: Node = app["node"]
        self.wake = asyncio.Event()
        self.failed: dict[str, float] = {}

    def notify(self) -> None:
        self.wake.set()

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                self.wake.clear()
                try:
                    await self.round(session)
                except Exception:  # a database in trouble now is tried again next round
                    log.exception("fetching photos of forwarded reports failed")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL):
                        await self.wake.wait()

    async def round(self, session: aiohttp.ClientSession) -> None:
        now = time.monotonic()
        for report_id, origin in await asyncio.to_thread(_waiting, self.node):
            if now - self.failed.get(report_id, -RETRY_AFTER) < RETRY_AFTER:
                continue
            try:
                await self.fetch(session, report_id, origin)
                self.failed.pop(report_id, None)
            except Exception as exc:  # the peer is down or sent no photo: try again later
                self.failed[report_id] = now
                log.warning("photo of forwarded report %s not fetched: %s", report_id, exc)

    async def fetch(self, session: aiohttp.ClientSession, report_id: str, origin: str) -> None:
        trust = self.app.get("federation_trust")
        peer = trust.get(origin) if trust is not None else None
        if peer is None:
            raise ValueError(f"{origin} is not a trusted peer")
        token = mint_token(
            self.node.key,
            origin,
            role="participant",
            subject=report_id,
            ttl=TOKEN_TTL,
            issuer=self.node.id,
        )
        url = peer.address + PATH.format(report=report_id)
        async with session.get(
            url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False
        ) as response:
            if response.status == 404:  # no photo after all: nothing to wait for
                await self.keep(report_id, None)
                return
            if response.status != 200:
                raise ValueError(f"{url} answered {response.status}")
            try:
                data = await response_body(response, photos.MAX_BYTES, "the photo")
            except BodyTooLarge:
                raise ValueError("the photo is larger than allowed") from None
        try:
            jpeg = await asyncio.to_thread(photos.reencode, data)
        except photos.BadPhoto as exc:
            log.warning("photo of forwarded report %s refused: %s", report_id, exc)
            await self.keep(report_id, None)
            return
        await self.keep(report_id, jpeg)

    async def keep(self, report_id: str, jpeg: bytes | None) -> None:
        node = self.node

        def work() -> None:
            with transaction(node.engine) as session:
                row = session.get(Report, report_id)
                if row is None:
                    return
                if jpeg is not None:
                    photos.store(Path(node.settings.directory), report_id, jpeg)
                row.media_url = own_url(node, report_id) if jpeg is not None else ""
                session.add(row)

        await node.write(work)


async def fetching(app: web.Application) -> AsyncIterator[None]:
    fetcher = Fetcher(app)
    node: Node = app["node"]
    node.commit_listeners.append(fetcher.notify)
    task = asyncio.create_task(fetcher.run(), name="report photos")
    yield
    if fetcher.notify in node.commit_listeners:
        node.commit_listeners.remove(fetcher.notify)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, peer_photo)
    app.cleanup_ctx.append(fetching)
