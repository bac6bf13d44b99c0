"""`allmende serve --role query`: a read replica fed by the PostgreSQL event log.

A replica shares the main node's PostgreSQL control plane but projects the event log into
a store of its own (an embedded folder, or a remote store URL of its own), as a PostgreSQL
hot standby replays the primary's WAL. It never takes part in the leadership of the main
store, never relays to Kafka and writes nothing: like a hot standby, which refuses a write
with "cannot execute … in a read-only transaction", it answers every write with a 405
problem that names the node to write to.

Read-your-writes: a write's response on the main process carries `Allmende-Position` (the
log's head once the write was committed); a client sends that header to a replica, which
waits (`Prefer: wait=N`, at most MAX_WAIT seconds) until its store shows that position, or
answers 504. Every replica response says how far it is (`Allmende-Position`) and how far
behind (`Allmende-Lag` in events, `Allmende-Lag-Seconds`); /health says the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any

import psycopg
from aiohttp import web
from sqlmodel import Session

from allmende.node.config import ConfigError
from allmende.node.events import EventLog
from allmende.node.http.problems import Handler, Problem
from allmende.node.leadership import CHANNEL, CONNECT_TIMEOUT, conninfo
from allmende.node.store.base import CHECKPOINT

if TYPE_CHECKING:
    from allmende.node.runtime import Node

log = logging.getLogger(__name__)
POSITION = "Allmende-Position"
LAG = "Allmende-Lag"
LAG_SECONDS = "Allmende-Lag-Seconds"
POLL = 0.5
"""Seconds a replica waits for a commit notification before it looks at the log anyway
(a main process with an embedded store does not notify)."""
DEFAULT_WAIT = 5.0
MAX_WAIT = 30.0
"""Longest a request may wait for the replica to reach its position (`Prefer: wait=N`)."""
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
READ_POSTS = frozenset({"/sparql", "/dsp/catalog/request"})
"""POST routes that only read: a SPARQL query sent as a form or body, a DSP catalog request."""
_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+(?:\.\d+)?)", re.IGNORECASE)


class ReadOnlyReplica(RuntimeError):
    """A write was tried on a read replica (a background job that should not run there)."""

    def __init__(self, write_node: str) -> None:
        super().__init__(f"this node is a read replica; writes go to {write_node}")


class QueryRole:
    """Follows the log on a thread of its own: LISTENs for commits (polling every POLL
    seconds as well), has the node's projector catch up, and keeps the position and lag."""

    def __init__(self, node: Node) -> None:
        if node.engine.dialect.name != "postgresql":
            raise ConfigError(
                "setting node.role: query needs the main node's PostgreSQL database "
                "(database.url = postgresql://…)"
            )
        self.node = node
        self.conninfo = conninfo(node.engine)
        self.position = 0
        """The last event the replica's store shows."""
        self.head = 0
        """The last event in the log, as last seen."""
        self._behind_since: float | None = None
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._stopped = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._progress: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="query replica", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=POLL + 10)
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()

    def status(self) -> dict[str, Any]:
        behind = max(0, self.head - self.position)
        since = self._behind_since
        seconds = round(time.monotonic() - since, 3) if behind and since is not None else 0.0
        return {"position": self.position, "head": self.head, "behind": behind, "seconds": seconds}

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                head = self._look()
            except psycopg.Error as exc:
                log.warning("replica lost the database; trying again", extra={"error": str(exc)})
                self._close()
                self._stopped.wait(POLL)
                continue
            if head > self.head:
                if self.position >= self.head:
                    self._behind_since = time.monotonic()
                self.head = head
            try:
                self.node._projector.submit(self.node.project).result()
            except RuntimeError:  # the projector was shut down: the node is closing
                return
            except Exception:
                log.exception("replica projection failed; tried again at the next look")
            with contextlib.suppress(Exception):
                self._reached(int(self.node.store.get_meta(CHECKPOINT) or 0))

    def _look(self) -> int:
        """Wait for a commit notification (or POLL seconds); return the log's head."""
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(
                self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
            )
            self._connection.execute(f"LISTEN {CHANNEL}")
        else:
            for _ in self._connection.notifies(timeout=POLL, stop_after=1):
                pass
        with Session(self.node.engine) as session:
            return EventLog.last_seq(session)

    def _reached(self, position: int) -> None:
        self.position = max(self.position, position)
        if self.position >= self.head:
            self._behind_since = None
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended: nobody waits
                loop.call_soon_threadsafe(self._wake_waiters)

    def _wake_waiters(self) -> None:
        if self._progress is not None:
            self._progress.set()
            self._progress = None

    async def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until the store shows `position` (on the event loop); False if not in time."""
        self._loop = asyncio.get_running_loop()
        give_up = self._loop.time() + timeout
        while self.position < position:
            left = give_up - self._loop.time()
            if left <= 0:
                return False
            if self._progress is None:
                self._progress = asyncio.Event()
            with contextlib.suppress(TimeoutError):  # re-check: a wake may precede the loop
                async with asyncio.timeout(min(left, POLL)):
                    await self._progress.wait()
        return True

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()


def _wanted(request: web.Request) -> tuple[int, float] | None:
    """The position a client asks to read at, and how long it will wait for it."""
    raw = request.headers.get(POSITION)
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise Problem(
            400, "Bad Allmende-Position", f"{POSITION} must be an event number, got {raw!r}"
        )
    wait = DEFAULT_WAIT
    match = _WAIT.search(request.headers.get("Prefer", ""))
    if match:
        wait = min(float(match.group(1)), MAX_WAIT)
    return int(raw.strip()), wait


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """On a replica: refuse writes, wait for the position a client asks for."""
    node: Node = request.app["node"]
    replica = node.replica
    if replica is None:
        return await handler(request)
    if request.method not in SAFE and request.path not in READ_POSTS:
        raise Problem(
            405,
            "Read replica",
            f"This node answers reads only; send writes to {node.base_url}.",
            headers={"Allow": "GET, HEAD, OPTIONS"},
            write_node=node.base_url,
        )
    wanted = _wanted(request)
    if wanted is not None and not await replica.wait_for(*wanted):
        state = replica.status()
        raise Problem(
            504,
            "Replica behind",
            f"This replica shows the log up to event {state['position']}, not yet "
            f"{wanted[0]}, after {wanted[1]:g} s; ask again or read from {node.base_url}.",
            position=state["position"],
            wanted=wanted[0],
        )
    return await handler(request)


async def _position_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Before any response goes out (streamed ones too): a replica says how far it is; a
    main process with PostgreSQL names the log's head after a successful write."""
    node: Node = request.app["node"]
    replica = node.replica
    if replica is not None:
        state = replica.status()
        response.headers[POSITION] = str(state["position"])
        response.headers[LAG] = str(state["behind"])
        response.headers[LAG_SECONDS] = f"{state['seconds']:g}"
    elif (
        request.method not in SAFE
        and request.path not in READ_POSTS
        and response.status < 400
        and node.engine.dialect.name == "postgresql"
    ):
        response.headers[POSITION] = str(await asyncio.to_thread(_head, node))


REPLICA_LIFECYCLES = frozenset({"allmende.node.sparql.routes._workers"})
"""The rooms' start/stop hooks a replica keeps: only those that release what reads use.
The others run jobs that write or act (the Kafka relay and peers' feeds, mail, the street
lights' sweeper, report photos, retention); on a replica those belong to the main node."""


def setup(app: web.Application) -> None:
    """Innermost middleware (its problems pass through the problem middleware) and the
    position headers; call after the rooms' setups. On a replica the rooms' background
    jobs do not start (REPLICA_LIFECYCLES)."""
    app.middlewares.append(middleware)
    app.on_response_prepare.append(_position_headers)
    if app["node"].replica is not None:
        kept = [hook for hook in app.cleanup_ctx if _name(hook) in REPLICA_LIFECYCLES]
        app.cleanup_ctx.clear()
        app.cleanup_ctx.extend(kept)


def _name(hook: Any) -> str:
    return f"{getattr(hook, '__module__', '')}.{getattr(hook, '__qualname__', '')}"


def _head(node: Node) -> int:
    with Session(node.engine) as session:
        return EventLog.last_seq(session)
