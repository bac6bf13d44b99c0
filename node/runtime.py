"""The running node: settings, key, control plane, data plane, event log and projector.

All writes go through one writer thread, so SQLite never sees two writers, the event log's
sequence numbers are committed in order, and the projector follows right behind them.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from allmende.node import db, rooms
from allmende.node.catalog.files import files_directory
from allmende.node.config import Settings, load_settings
from allmende.node.events import EventLog, new_event
from allmende.node.events.projector import Projector
from allmende.node.events.quarantine import Quarantine
from allmende.node.keys import NodeKey, load_key, load_retired, public_jwk_with_kid
from allmende.node.leadership import CHANNEL, Leadership
from allmende.node.query_role import QueryRole, ReadOnlyReplica
from allmende.node.store import QuadStore, open_store
from allmende.policies import jws

T = TypeVar("T")
log = logging.getLogger(__name__)
CLOSE_PROJECTING = 5.0
FLUSH_AFTER = 0.5
"""Seconds of projected writes the store may keep in its write-ahead log only. A reader
opening the store (each SPARQL worker after a change) replays that log: measured, 2 M
unflushed triples took 52 s to open, the same flushed 0.1 s."""
PROJECT_EVERY = 0.05
"""Seconds from one projection run to the next while ingest commits keep coming. A run
after every commit takes the GIL from the request loop hundreds of times a second, each
time for a handful of events. Three paired runs of bench/ingest, unspaced -> spaced:
single webhooks 500-582 -> 563-650 requests/s, batches 4,287-5,050 -> 4,777-5,291
observations/s; the price is up to 50 ms more until a reading shows. Only ingest asks for
spacing: a peer's catch-up is bound by the projector itself, and idling it between runs
cost up to half the pooled throughput (bench/federation)."""
TELL_EVERY = 0.1
"""Seconds between two calls of the commit listeners while ingest commits keep coming (the
first commit after a quiet spell tells them at once). Each call wakes jobs that look at
the database (street-light buttons, status mails, report photos, relays): after every
group commit they took a fifth of the node's CPU under single-reading uplinks."""
LOAD_WINDOW = 1.0
"""Seconds over which `projector_load` measures how busy the projector is."""


class Node:
    def __init__(self, settings: Settings, key: NodeKey, store: QuadStore | None = None) -> None:
        self.settings = settings
        self.key = key
        self.engine = db.make_engine(settings.database_url)
        db.upgrade(self.engine)
        self.store: QuadStore = store or open_store(settings)
        self.log = EventLog(key, settings.node.id)
        self.projector = Projector(settings.node.id, files_directory(settings.directory))
        for install in rooms.projection_setups():
            install(self.projector)
        self.replica: QueryRole | None = None
        """A read replica (`[node] role = "query"`) follows the log into its own store and
        writes nothing (node/query_role.py)."""
        if settings.node.role == "query":
            self.replica = QueryRole(self)
        self.quarantine = Quarantine(self.engine, writable=self.replica is None)
        """Events whose projection failed, set aside so the rest still shows."""
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
        self._projection_due: asyncio.TimerHandle | None = None
        self._telling_due: asyncio.TimerHandle | None = None
        self._told_at = -TELL_EVERY
        self._projection_started = 0.0
        self._unprojected: collections.deque[tuple[int, float]] = collections.deque()
        """(last sequence number, time) of acknowledged commits the store does not show yet."""
        self._projected_seq = 0
        self._progress = asyncio.Event()
        self._runs: collections.deque[tuple[float, float]] = collections.deque()
        """(start, end) of the projector's recent runs, for `projector_load`."""
        self._running_since: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._closing_at: float | None = None
        self.commit_listeners: list[Callable[[], None]] = []
        """Called on the event loop after each commit (the federation wakes its relays)."""
        self.leadership: Leadership | None = None
        """Several serve processes on one PostgreSQL database: only the one holding the
        lock relays to Kafka and, when they share a remote store, projects
        (node/leadership.py). With SQLite there is one process, which does both."""
        self._wake_due = False
        if self.replica is not None:
            self.replica.start()
        elif self.engine.dialect.name == "postgresql":
            self.leadership = Leadership(
                self.engine, f"allmende leader {settings.node.id}", self._wake_projector
            )
            self.leadership.start()

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

    def project_soon(self, spaced: bool = False) -> None:
        """Have the projector thread run soon — `spaced`, not before PROJECT_EVERY seconds
        after the last run started; commits until then share the run (call from the loop)."""
        loop = self._loop = asyncio.get_running_loop()
        wait = max(0.0, self._projection_started + PROJECT_EVERY - loop.time()) if spaced else 0.0
        due = self._projection_due
        if due is not None and due.when() > loop.time() + wait:
            due.cancel()  # an unspaced commit does not wait for a spaced one's turn
            due = None
        if due is None:
            self._projection_due = loop.call_later(wait, self._start_projection, loop)
        if self._flush_timer is None:  # the last writes of a burst get flushed, too
            self._flush_timer = loop.call_later(FLUSH_AFTER, self._flush_soon, loop)
        if not spaced:
            self._tell_listeners(loop)
        elif self._telling_due is None:  # ingest: at most every TELL_EVERY, never skipped
            wait = max(0.0, self._told_at + TELL_EVERY - loop.time())
            self._telling_due = loop.call_later(wait, self._tell_listeners, loop)

    def _tell_listeners(self, loop: asyncio.AbstractEventLoop) -> None:
        self._telling_due = None
        self._told_at = loop.time()
        for listener in self.commit_listeners:
            listener()

    async def projected(self) -> None:
        """Wait until the projections due so far have run: reads after it see the change."""
        loop = asyncio.get_running_loop()
        if self._projection_due is not None:
            self._projection_due.cancel()
            self._start_projection(loop)
        await loop.run_in_executor(self._projector, lambda: None)

    def _start_projection(self, loop: asyncio.AbstractEventLoop) -> None:
        self._projection_due = None
        if self._closed:
            return  # what is left is projected on the next start
        self._projection_started = loop.time()
        loop.run_in_executor(self._projector, self.project).add_done_callback(_log_failure)

    def committed(self, seq: int) -> None:
        """Note an acknowledged commit whose events end at `seq` (on the event loop), so
        that `keep_up` knows how far the store lags behind."""
        if not self.projecting:
            return  # the leading process projects; writers here need not wait for it
        if seq > self._projected_seq:  # the projector may have been faster than this call
            self._unprojected.append((seq, asyncio.get_running_loop().time()))

    def _projected_to(self, seq: int) -> None:
        self._projected_seq = max(self._projected_seq, seq)
        while self._unprojected and self._unprojected[0][0] <= seq:
            self._unprojected.popleft()
        self._progress.set()
        self._progress = asyncio.Event()

    async def keep_up(self, max_lag: float, max_wait: float) -> None:
        """Wait while the oldest unprojected commit is older than `max_lag` seconds, but not
        longer than `max_wait`: writers slow down to the projector's pace, so the store's
        lag stays bounded under sustained load instead of growing as long as it lasts."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + max_wait
        while self._unprojected and loop.time() - self._unprojected[0][1] > max_lag:
            left = give_up - loop.time()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._progress.wait()

    def _commit_only(
        self,
        events: Sequence[dict[str, Any]],
        rows: Sequence[SQLModel],
        before: Callable[[Session], None] | None,
    ) -> None:
        if self.replica is not None:
            raise ReadOnlyReplica(self.base_url)
        with db.transaction(self.engine) as session:
            if before is not None:
                before(session)
            session.add_all(rows)
            session.flush()  # the rows first: the events' bulk INSERT may refer to them
            self.log.append(session, events)
            self._notify_commit(session)

    async def write(self, work: Callable[[], T]) -> T:
        """Run any blocking write on the writer thread, in order with event commits."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, work)

    @property
    def leading(self) -> bool:
        """Whether this process does the jobs only one may do (a lone one always does)."""
        if self.replica is not None:
            return False  # a replica never relays nor projects into the main store
        return self.leadership is None or self.leadership.leader

    @property
    def projecting(self) -> bool:
        """Whether this process projects the log: the leader into a shared remote store,
        every process into an embedded store of its own."""
        return self.replica is not None or self.leading or not self.settings.store.url

    def _wake_projector(self) -> None:
        """From the leadership thread: a commit of any process was notified, or this
        process just became leader. Wake-ups while one is due share it."""
        if self._closed or self._wake_due:
            return
        if not self.settings.store.url and self.replica is None:
            return  # an embedded store is this process's own: its commits wake it
        self._wake_due = True
        try:
            self._projector.submit(self._woken).add_done_callback(_log_thread_failure)
        except RuntimeError:  # shut down meanwhile
            self._wake_due = False

    def _woken(self) -> int:
        self._wake_due = False
        return self.project()

    def project(self) -> int:
        if not self.projecting:
            return 0
        with self._store_writes:
            started = self._running_since = time.monotonic()
            try:
                return self.projector.catch_up(
                    self.engine,
                    self.store,
                    after_page=self._page_projected,
                    stop=self._stop_projecting,
                    quarantine=self.quarantine,
                )
            finally:
                self._running_since = None
                self._runs.append((started, time.monotonic()))
                while self._runs and self._runs[0][1] < started - LOAD_WINDOW:
                    self._runs.popleft()

    def retry_quarantined(self) -> int:
        """Try the events set aside again (blocking; on the projector thread or beside a
        stopped one); return how many now show in the store."""
        with self._store_writes:
            shown = self.projector.retry_quarantined(self.engine, self.store, self.quarantine)
            if shown:
                self._unflushed = True
                self._flush()
            return shown

    async def retry_quarantined_soon(self) -> int:
        """`retry_quarantined` on the projector thread, in turn with the projection runs."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._projector, self.retry_quarantined)

    def projector_load(self) -> float:
        """The share of the last LOAD_WINDOW seconds the projector spent working: high
        while it works through a backlog (a peer's catch-up, a burst of ingest), when
        anything else that repeats its work (the SPARQL workers' copies) should wait."""
        now = time.monotonic()
        since = now - LOAD_WINDOW
        busy = sum(end - max(start, since) for start, end in list(self._runs) if end > since)
        running = self._running_since
        if running is not None:
            busy += now - max(running, since)
        return min(1.0, busy / LOAD_WINDOW)

    def _stop_projecting(self) -> bool:
        """Before each page: a process that stopped leading leaves the rest to the new
        leader; a closing one stops after CLOSE_PROJECTING."""
        return not self.projecting or self._out_of_time()

    def _out_of_time(self) -> bool:
        """A closing node finishes projecting, but not for longer than CLOSE_PROJECTING:
        what is left is projected on the next start (the checkpoint is per page)."""
        return self._closing_at is not None and (
            time.monotonic() - self._closing_at > CLOSE_PROJECTING
        )

    def _page_projected(self, checkpoint: int) -> None:
        """Tell the event loop how far the store is; flush at most every FLUSH_AFTER
        seconds while a long catch-up runs, too."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended: nobody waits
                self._loop.call_soon_threadsafe(self._projected_to, checkpoint)
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

    def _notify_commit(self, session: Session) -> None:
        """The leading process (maybe another one) projects what this commit adds."""
        if self.leadership is not None and self.settings.store.url:
            session.execute(text(f"NOTIFY {CHANNEL}"))

    def _flush_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        self._flush_timer = None
        if not self._closed:
            loop.run_in_executor(self._projector, self._flush).add_done_callback(_log_failure)

    def close(self) -> None:
        self._closed = True
        self._closing_at = time.monotonic()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        if self._telling_due is not None:  # nothing is woken on a closed node
            self._telling_due.cancel()
        if self._projection_due is not None:  # commits still due are projected first
            self._projection_due.cancel()
            self._projector.submit(self.project)
        self._writer.shutdown(wait=True)
        self._projector.shutdown(wait=True)
        if self.replica is not None:
            self.replica.stop()
        if self.leadership is not None:
            self.leadership.stop()  # the lock goes with the connection: another may lead
        self.store.close()
        self.engine.dispose()


def _log_thread_failure(future: concurrent.futures.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("projection failed", exc_info=future.exception())


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("projection failed", exc_info=future.exception())
