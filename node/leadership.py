"""Which of several serve processes on one PostgreSQL control plane does the single jobs.

Several `allmende serve` processes may share one PostgreSQL database and one remote RDF
store: each takes webhooks and API writes into the one event log, but only one of them may
project the log into the store (a page and its checkpoint go out together; two projectors
would interleave pages). That one holds a PostgreSQL session-level advisory lock on a
connection of its own. If the process dies (kill -9 included), PostgreSQL ends its session
and frees the lock, and another process takes it at its next try (every `TRY_EVERY`
seconds). If the leader loses that connection, it steps down at once.

The leader also LISTENs on that connection: every commit NOTIFYs, so events written by any
process are projected right away, not at the next poll.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine

log = logging.getLogger(__name__)
CHANNEL = "allmende_events"
TRY_EVERY = 0.5
"""Seconds between a follower's tries for the lock, and the longest a leader waits for a
notification before it checks its connection and projects anyway."""

CONNECT_TIMEOUT = 5
"""Seconds to wait for the database when connecting for the lock."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock from a readable name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def conninfo(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class Leadership:
    """Holds (or waits for) one advisory lock; `on_wake` runs on this thread whenever the
    leader should look at the log (it became leader, a commit was notified, a poll)."""

    def __init__(self, engine: Engine, name: str, on_wake: Callable[[], None]) -> None:
        self.conninfo = conninfo(engine)
        self.name = name
        self.key = lock_key(name)
        self.on_wake = on_wake
        self.leader = False
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._stopped = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="leadership", daemon=True)

    def start(self) -> None:
        """Try once at once (a lone process leads from its first commit on), then keep
        trying or holding on a thread of its own."""
        self._try()
        self._thread.start()

    def stop(self) -> None:
        """Step down: closing the connection frees the lock for the next process."""
        self._stopped.set()
        if self.leader:  # wake the thread from its wait for notifications
            with (
                contextlib.suppress(psycopg.Error),
                psycopg.connect(
                    self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                ) as waker,
            ):
                waker.execute(f"NOTIFY {CHANNEL}")
        if self._thread.is_alive():
            self._thread.join(timeout=5 * TRY_EVERY + 5)
        self._close()

    def _run(self) -> None:
        while not self._stopped.is_set():
            if not self.leader:
                if not self._try():
                    self._stopped.wait(TRY_EVERY)
                continue
            try:
                connection = self._connection
                assert connection is not None
                for _ in connection.notifies(timeout=TRY_EVERY, stop_after=1):
                    pass
                connection.execute("SELECT 1")  # a lost connection shows here
            except psycopg.Error as exc:
                log.warning(
                    "lost the leader's database connection; stepping down",
                    extra={"lock": self.name, "error": type(exc).__name__},
                )
                self._set(False)
                self._close()
                continue
            if not self._stopped.is_set():
                self._wake()

    def _try(self) -> bool:
        """One try for the lock (connecting first if needed); True if this process leads."""
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(
                    self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                )
            row = self._connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (self.key,)
            ).fetchone()
            if not row or not row[0]:
                return False
            self._connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            self._close()
            return False
        log.info("leading: this process projects and relays the log", extra={"lock": self.name})
        self._set(True)
        self._wake()
        return True

    def _wake(self) -> None:
        try:
            self.on_wake()
        except Exception:
            log.exception("the leader's work failed; tried again at the next notification")

    def _set(self, leader: bool) -> None:
        with self._changed:
            self.leader = leader
            self._changed.notify_all()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        self._set(False)
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()
