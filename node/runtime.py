"""The running node: settings, key, control plane, data plane, event log and projector.

All writes go through one writer thread, so SQLite never sees two writers, the event log's
sequence numbers are committed in order, and the projector follows right behind them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, SQLModel

from node import db, rooms
from node.config import Settings, load_settings
from node.events import EventLog, new_event
from node.events.projector import Projector
from node.keys import NodeKey, load_key, load_retired, public_jwk_with_kid
from node.store import OxigraphStore, QuadStore
from policies import jws

T = TypeVar("T")
log = logging.getLogger(__name__)
CLOSE_PROJECTING = 5.0
FLUSH_AFTER = 0.5
"""Seconds of projected writes the store may keep in its write-ahead log only. A reader
opening the store (each SPARQL worker after a change) replays that log: measured, 2 M
unflushed triples took 52 s to open, the same flushed 0.1 s."""


class Node:
    def __init__(self, settings: Settings, key: NodeKey, store: QuadStore | None = None) -> None:
        self.settings = settings
        self.key = key
        self.engine = db.make_engine(settings.database_url)
        db.upgrade(self.engine)
        self.store: QuadStore = store or OxigraphStore(settings.store_path)
        self.log = EventLog(key, settings.node.id)
        self.projector = Projector(settings.node.id)
        for install in rooms.projection_setups():
            install(self.projector)
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="writer")
        # Projection has a thread of its own, so the store never holds up the next commit.
        self._projector = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="projector")
        self._store_writes = threading.RLock()
        """Projection and flushing normally run on the projector thread only; a direct call
        of `project()` (a command, a test) waits here instead of writing alongside it."""
        self.retired_keys = load_retired(settings.directory)
        self._unflushed = False
        self._flushed_at = time.monotonic()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._closing_at: float | None = None
        self.commit_listeners: list[Callable[[], None]] = []
        """Called on the event loop after each commit (the federation wakes its relays)."""

    @classmethod
    def open(cls, directory: Path, environ: Mapping[str, str] | None = None) -> Node:
        settings = load_settings(directory, environ)
        return cls(settings, load_key(settings.key_path))

    @property
    def id(self) -> str:
        return self.settings.node.id

    @property
    def base_url(self) -> str:
        return self.settings.node.base_url

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The current key first, then retired ones that old events were signed with."""
        return {"keys": [self.key.jwk()] + [public_jwk_with_kid(k) for k in self.retired_keys]}

    def admin_keys(self) -> dict[str, Ed25519PublicKey]:
        """Keys whose tokens open admin routes: the node's own plus any configured ones."""
        keys = jws.keys_from_jwks({"keys": self.settings.trust.admin_jwks})
        keys[self.key.kid] = self.key.public
        return keys

    def event(self, type: str, data: Any, *, subject: str | None = None) -> dict[str, Any]:
        return new_event(self.id, type, data, subject=subject)

    def commit(
        self,
        events: Sequence[dict[str, Any]],
        rows: Sequence[SQLModel] = (),
        *,
        before: Callable[[Session], None] | None = None,
    ) -> None:
        """Write rows and their events in one transaction, then project. Blocking."""
        self._commit_only(events, rows, before)
        self.project()

    async def publish(
        self,
        events: Sequence[dict[str, Any]],
        rows: Sequence[SQLModel] = (),
        *,
        before: Callable[[Session], None] | None = None,
    ) -> None:
        """Commit on the writer thread; returns once committed (projection follows at once)."""
        await self.write(lambda: self._commit_only(events, rows, before))
        self.project_soon()

    def project_soon(self) -> None:
        """Queue a projection run on the projector thread (call from the event loop)."""
        loop = asyncio.get_running_loop()
        loop.run_in_executor(self._projector, self.project).add_done_callback(_log_failure)
        if self._flush_timer is None:  # the last writes of a burst get flushed, too
            self._flush_timer = loop.call_later(FLUSH_AFTER, self._flush_soon, loop)
        for listener in self.commit_listeners:
            listener()

    async def projected(self) -> None:
        """Wait until the projections queued so far have run: reads after it see the change."""
        await asyncio.get_running_loop().run_in_executor(self._projector, lambda: None)

    def _commit_only(
        self,
        events: Sequence[dict[str, Any]],
        rows: Sequence[SQLModel],
        before: Callable[[Session], None] | None,
    ) -> None:
        with db.transaction(self.engine) as session:
            if before is not None:
                before(session)
            session.add_all(rows)
            session.flush()  # the rows first: the events' bulk INSERT may refer to them
            self.log.append(session, events)

    async def write(self, work: Callable[[], T]) -> T:
        """Run any blocking write on the writer thread, in order with event commits."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, work)

    def project(self) -> int:
        with self._store_writes:
            return self.projector.catch_up(
                self.engine, self.store, after_page=self._page_projected, stop=self._out_of_time
            )

    def _out_of_time(self) -> bool:
        """A closing node finishes projecting, but not for longer than CLOSE_PROJECTING:
        what is left is projected on the next start (the checkpoint is per page)."""
        return self._closing_at is not None and (
            time.monotonic() - self._closing_at > CLOSE_PROJECTING
        )

    def _page_projected(self) -> None:
        """Flush at most every FLUSH_AFTER seconds while a long catch-up runs, too."""
        self._unflushed = True
        if time.monotonic() - self._flushed_at >= FLUSH_AFTER:
            self._flush()

    def _flush(self) -> None:
        """On the projector thread (or under its lock): the store's writer."""
        with self._store_writes:
            if self._unflushed:
                self.store.flush()
                self._unflushed = False
            self._flushed_at = time.monotonic()

    def _flush_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        self._flush_timer = None
        if not self._closed:
            loop.run_in_executor(self._projector, self._flush).add_done_callback(_log_failure)

    def close(self) -> None:
        self._closed = True
        self._closing_at = time.monotonic()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self._writer.shutdown(wait=True)
        self._projector.shutdown(wait=True)
        self.store.close()
        self.engine.dispose()


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("projection failed", exc_info=future.exception())
