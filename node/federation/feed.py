"""The embedded transport: this node's shareable events as a paged, signed HTTP feed, and
the loop that follows each peer's feed into the inbox.

`GET /federation/events?after=N&limit=L&wait=S` answers the shareable events with a log
sequence number above N, proofs included, and `next`, the number to ask after next time
(it moves past events that are not shared, so a follower never reads them twice). With
`wait`, an empty answer is held until something is committed or S seconds pass, so a
follower learns of a change at once without polling hard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
from aiohttp import web
from sqlmodel import Session

from allmende.node.events import jsontext
from allmende.node.events.log import EventLog
from allmende.node.events.projector import PAGE_BYTES
from allmende.node.federation.inbox import Inbox, load_position
from allmende.node.federation.sharing import shareable
from allmende.node.federation.trust import PeerEntry, TrustList
from allmende.node.federation.wire import WireError, pack, unpack
from allmende.node.http.admin import int_param
from allmende.node.http.bodies import response_body
from allmende.node.http.openapi import describe
from allmende.node.logs import Repeated, retry_counts
from allmende.node.messages import Message, reason, say
from allmende.node.runtime import Node

MAX_FEED_BYTES = 64 * 1024 * 1024
FAILURES_BEFORE_DEGRADED = 3
"""Polls of a peer's feed that fail in a row before /health calls the feed stuck: one
failure is a peer restarting, three (with `retry_interval` between them) are not."""
log = logging.getLogger(__name__)


class CommitSignal:
    """Wakes whoever waits for the next commit; set from the event loop only."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.closed = False

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def close(self) -> None:
        """At shutdown: nobody waits any more, so held feed requests answer at once."""
        self.closed = True
        self.notify()

    async def wait(self, timeout: float) -> None:
        if self.closed:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._event.wait()


def read_page(node: Node, after: int, limit: int) -> tuple[dict[str, Any], int]:
    with Session(node.engine) as session:
        page = EventLog.read(
            session, after=after, limit=limit, local_only=True, max_bytes=PAGE_BYTES
        )
        shared = shareable(session, page)
        head = EventLog.last_seq(session, local_only=True)
    last = (page[-1].seq or after) if page else after
    return pack(shared, node=node.id, next=last, head=head), len(page)


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": "integer"}, "description": description}


@describe(
    "This node's shareable events, signed, after a log position (the embedded federation feed)",
    tags=["federation"],
    parameters=[
        _query("after", "log position to read after (the `next` of the previous page)"),
        _query("limit", "events to scan at most"),
        _query("wait", "seconds to hold an empty answer until something is committed"),
    ],
)
async def events(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    settings = node.settings.federation
    after = int_param(request, "after", 0, 0, 2**62)
    limit = int_param(request, "limit", settings.page_size, 1, settings.page_size)
    wait = int_param(request, "wait", 0, 0, int(settings.feed_wait))
    body, scanned = await asyncio.to_thread(read_page, node, after, limit)
    if not scanned and wait:
        await request.app["federation_signal"].wait(wait)
        body, scanned = await asyncio.to_thread(read_page, node, after, limit)
    return web.json_response(body, headers={"Cache-Control": "no-store"}, dumps=jsontext.dumps)


class FeedFollower:
    """Follows every trusted peer's feed; one task per peer, started and stopped with the app."""

    def __init__(self, node: Node, trust: TrustList, inbox: Inbox) -> None:
        self.node = node
        self.trust = trust
        self.inbox = inbox
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None
        self.errors: dict[str, str] = {}
        self.heads: dict[str, int] = {}
        """Each peer's log position as its last page said: how far there is to read."""
        self.positions: dict[str, int] = {}
        """How far this node has read each peer's feed."""
        self.failures: dict[str, int] = {}
        """Polls of each peer's feed that failed in a row."""

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.node.settings.federation.feed_wait + 30)
        )
        await self.sync_peers()

    async def sync_peers(self) -> None:
        """Follow peers added since, stop following removed ones."""
        peers = {peer.id: peer for peer in await asyncio.to_thread(self.trust.peers)}
        for gone in set(self._tasks) - set(peers):
            self._tasks.pop(gone).cancel()
        for peer_id, peer in peers.items():
            if peer_id not in self._tasks:
                self._tasks[peer_id] = asyncio.create_task(
                    self._follow(peer), name=f"feed {peer_id}"
                )

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()

    async def _follow(self, peer: PeerEntry) -> None:
        name = f"feed:{peer.id}"
        settings = self.node.settings.federation
        after = await asyncio.to_thread(load_position, self.node, name)
        self.positions[peer.id] = after
        trouble = Repeated(log, f"feed of {peer.id}", counts=retry_counts(self.node))
        while True:
            try:
                after = await self.poll(peer, after, name)
                self.positions[peer.id] = after
                self.errors.pop(peer.id, None)
                self.failures.pop(peer.id, None)
                trouble.success()
            except asyncio.CancelledError:
                trouble.stopped()
                raise
            except Exception as exc:  # a peer that is down or answers nonsense: try later
                self.errors[peer.id] = _reason(exc)
                self.failures[peer.id] = self.failures.get(peer.id, 0) + 1
                trouble.failure(self.errors[peer.id])  # logged once, then summarised
                await asyncio.sleep(settings.retry_interval)

    def health(self) -> dict[str, str]:
        """Per followed peer, "ok", "catching up: ..." or "degraded: <why>": degraded once
        the feed failed FAILURES_BEFORE_DEGRADED times in a row, so it does not advance."""
        checks = {}
        for peer_id in sorted(self._tasks):
            position = self.positions.get(peer_id)
            head = self.heads.get(peer_id)
            if self.failures.get(peer_id, 0) >= FAILURES_BEFORE_DEGRADED:
                if position is None:
                    where = "feed not read yet"
                elif head is not None and head > position:
                    where = f"feed stuck at event {position} while the peer has {head}"
                else:
                    where = f"feed not read past event {position}"
                checks[peer_id] = f"degraded: {where}; last error: {self.errors.get(peer_id)}"
            elif position is not None and head is not None and head > position:
                checks[peer_id] = f"catching up: at event {position} of {head}"
            else:
                checks[peer_id] = "ok"
        return checks

    async def poll(self, peer: PeerEntry, after: int, name: str) -> int:
        """Read one page (waiting for news), take it in, return the new position."""
        assert self._session is not None
        settings = self.node.settings.federation
        url = f"{peer.address}/federation/events"
        params = {"after": after, "limit": settings.page_size, "wait": int(settings.feed_wait)}
        async with self._session.get(url, params=params, allow_redirects=False) as response:
            response.raise_for_status()
            raw = await response_body(response, MAX_FEED_BYTES, "a feed page")
        body = await asyncio.to_thread(jsontext.loads, raw)
        nxt = body.get("next") if isinstance(body, dict) else None
        if not isinstance(nxt, int) or nxt < after:
            raise WireError(say("feed page without a valid `next`"))
        received = unpack(body)
        head = body.get("head")
        if isinstance(head, int):
            self.heads[peer.id] = head
            if nxt == after and head > after:
                raise WireError(
                    say(
                        "the page did not move past event %(after)s; the peer has %(head)s",
                        after=after,
                        head=head,
                    )
                )
        if nxt != after:
            await self.inbox.receive(received, position=(name, nxt))
        return nxt


def _reason(exc: Exception) -> str:
    """Why a poll failed, in words fit for the public /health: no addresses."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return say(
            "the peer answered %(status)s %(message)s", status=exc.status, message=exc.message
        )
    if isinstance(exc, aiohttp.ClientConnectionError):
        return say("the peer cannot be reached (%(kind)s)", kind=type(exc).__name__)
    if isinstance(exc, TimeoutError):
        return say("the peer did not answer in time")
    said = reason(exc)
    return said if isinstance(said, Message) else (said or type(exc).__name__)[:300]
