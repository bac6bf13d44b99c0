"""A small pool of query workers with a hard deadline per query, shared fairly.

A job waits for a worker, then the result streams back chunk by chunk. When the deadline
passes, the worker is killed (its CPU work really stops) and a fresh one takes its place;
the event loop never blocks on a query, so the node keeps answering.

Queries come in two lanes, decided from the query's shape before it runs (`analysis`):
heavy ones (aggregates, sorts of everything, unbounded paths, scans) may hold at most
`size - light_workers` workers at a time, so the remaining workers are always there for
light lookups, which go first whenever a worker frees up. No process is added for that:
a lane is a reservation in the same pool. Each client may have only a few heavy queries
running or waiting, and each lane's waiting line is bounded; beyond either the caller
is told to come back later (`Busy`) instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import multiprocessing
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from allmende.node.sparql import worker
from allmende.node.sparql.replica import ReplicaSpec
from allmende.node.sparql.worker import Job

if TYPE_CHECKING:
    from allmende.node.config import SparqlSection

log = logging.getLogger(__name__)
_CONTEXT = multiprocessing.get_context("spawn")
LOOK_EVERY = 0.5
"""Seconds between looks whether a waiting query's caller is still connected."""


class QueryFailed(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class QueryTimeout(Exception):
    def __init__(self, started: bool = True) -> None:
        super().__init__("the query ran out of time")
        self.started = started
        """False: the deadline passed while the query waited for a worker."""


class ClientGone(Exception):
    """The caller closed its connection: nobody waits for the answer any more."""


class Busy(Exception):
    """The query was not admitted: the caller should come back after `retry_after` s."""

    def __init__(self, status: int, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after


@dataclass(frozen=True)
class Lanes:
    """How the workers are shared; the node's settings are in `[sparql]`."""

    light_workers: int = 1
    """Workers heavy queries may never all take: held for light ones."""
    heavy_per_client: int = 1
    """Heavy queries one client may have running or waiting at once."""
    queue: int = 8
    """Queries that may wait for a worker, per lane."""
    light_seconds: float = 2.0
    """A light query still running after this long counts as heavy from then on: it
    holds a worker like one, so no further heavy query starts in its place."""
    heavy_nice: int = 10
    """Niceness of the heavy lane's workers: on a busy CPU the node's own work (ingest,
    pages) and the lookups go first."""


def lanes(settings: SparqlSection) -> Lanes:
    return Lanes(
        settings.light_workers,
        settings.heavy_per_client,
        settings.queue,
        settings.light_seconds,
        settings.heavy_nice,
    )


@dataclass(frozen=True)
class Ticket:
    """What the pool needs to know about a query to place it."""

    heavy: bool = False
    client: str = ""
    gone: Callable[[], bool] | None = None
    """True once the caller has closed its connection: the query is then dropped from
    the queue, or its worker stopped, instead of running on for nobody."""
    spent: Callable[[float], None] | None = None
    """Told the seconds the query held a worker, once it gives the worker back (also
    when it failed, ran out of time or was stopped): what the client's quota counts."""
    answered: Callable[[str, float], None] | None = None
    """Told which store answered ("memory" or "disk") and the seconds the worker took,
    once a query has been answered in full: what proves a query cheap (`inline`)."""


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    heavy: bool = False
    """Started for the heavy lane (and niced); lookups may borrow it when it is idle."""


@dataclass(frozen=True)
class _Spawn:
    """A grant to start a worker of this kind: workers start on first need, so a node
    that is never queried never pays for them."""

    heavy: bool


@dataclass(eq=False)
class _Lease:
    """A worker held by one query, and what it counts against."""

    ticket: Ticket
    waiter: asyncio.Future[_Worker | _Spawn]
    worker: _Worker | None = None
    heavy: bool = False
    """Counted in the heavy lane (a heavy query, or a light one that ran long)."""
    client_counted: bool = False
    started: float = 0.0
    timer: asyncio.TimerHandle | None = None
    released: bool = False


class QueryPool:
    def __init__(
        self,
        store_path: str,
        size: int,
        replica: ReplicaSpec | None = None,
        lanes: Lanes | None = None,
    ) -> None:
        self.store_path = store_path
        self.size = size
        self.replica = replica
        self.lanes = lanes or Lanes()
        self.idle: list[_Worker] = []
        self.workers: list[_Worker] = []
        self.starting = {False: 0, True: 0}
        """Workers being started, by kind (heavy lane or not)."""
        self.waiting: dict[bool, collections.deque[_Lease]] = {
            False: collections.deque(),
            True: collections.deque(),
        }
        """Queries waiting for a worker, light (False) and heavy (True), first come first."""
        self.running: set[_Lease] = set()
        self.heavy_running = 0
        self.heavy_by_client: collections.Counter[str] = collections.Counter()
        """Heavy queries running or waiting, by client."""
        self.heavy_seconds = 1.0
        """A running average of how long heavy queries hold a worker (for Retry-After)."""
        self.answered: collections.Counter[str] = collections.Counter()
        """Finished queries by the store that answered them: "memory" or "disk"."""
        self.refused: collections.Counter[str] = collections.Counter()
        """Queries not admitted, by reason: "client" (over its cap) or "queue" (full)."""

    @property
    def heavy_slots(self) -> int:
        """Workers heavy queries may hold at once; with one worker there is no lane."""
        return max(1, self.size - self.lanes.light_workers)

    async def stop(self) -> None:
        for queue in self.waiting.values():
            while queue:
                queue.popleft().waiter.cancel()
        for item in list(self.workers):
            self.workers.remove(item)
            self._kill(item)
        self.idle.clear()

    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers if w.process.pid is not None]

    def running_pids(self, heavy: bool) -> list[int]:
        """Processes answering a query of the lane now."""
        return [
            lease.worker.process.pid
            for lease in self.running
            if lease.heavy == heavy and lease.worker and lease.worker.process.pid is not None
        ]

    def waiting_count(self, heavy: bool) -> int:
        return sum(1 for lease in self.waiting[heavy] if not lease.waiter.done())

    def _spawn(self, heavy: bool) -> _Worker:
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=worker.serve,
            args=(child, self.store_path, self.replica),
            daemon=True,
            name="sparql-worker",
        )
        process.start()
        child.close()
        if heavy and self.lanes.heavy_nice and process.pid is not None:
            # before the worker starts any thread (its threads inherit the niceness)
            base = os.getpriority(os.PRIO_PROCESS, 0)
            os.setpriority(os.PRIO_PROCESS, process.pid, min(19, base + self.lanes.heavy_nice))
        return _Worker(process, parent, heavy)

    def _kill(self, item: _Worker) -> None:
        """Runs in a thread: the pool's lists are changed by the event loop alone."""
        item.process.kill()
        item.process.join(timeout=5)
        item.conn.close()

    # Admission and placing -------------------------------------------------------------

    def _retry_after(self, waiting: int) -> int:
        """Seconds until a place is likely free: the queries ahead, at the usual pace."""
        estimate = self.heavy_seconds * (waiting + 1) / self.heavy_slots
        return max(1, min(60, math.ceil(estimate)))

    def _admit(self, ticket: Ticket, lease: _Lease) -> None:
        if not ticket.heavy:
            return
        held = self.heavy_by_client[ticket.client]
        if held >= self.lanes.heavy_per_client:
            self.refused["client"] += 1
            raise Busy(
                429,
                f"this client already has {held} heavy "
                f"quer{'y' if held == 1 else 'ies'} running or waiting "
                f"(at most {self.lanes.heavy_per_client}); send the next when "
                f"{'it has' if held == 1 else 'they have'} finished",
                self._retry_after(0),
            )
        self.heavy_by_client[ticket.client] += 1
        lease.client_counted = True

    def _take(self, heavy: bool) -> _Worker | _Spawn | None:
        """A worker for a query of the lane: heavy ones only ever run on the heavy
        lane's workers; a lookup prefers its own, then borrows an idle heavy one, and
        starts a worker only when none is idle."""
        kinds = (True,) if heavy else (False, True)
        for kind in kinds:
            for index in range(len(self.idle) - 1, -1, -1):
                if self.idle[index].heavy == kind:
                    return self.idle.pop(index)
        for kind in kinds:
            limit = self.heavy_slots if kind else self.size - self.heavy_slots
            if sum(w.heavy == kind for w in self.workers) + self.starting[kind] < limit:
                self.starting[kind] += 1
                return _Spawn(kind)
        return None

    def _dispatch(self) -> None:
        """Hand free workers out: light queries first, heavy ones within their lane."""
        for heavy in (False, True):
            queue = self.waiting[heavy]
            while queue:
                if queue[0].waiter.done():  # gave up waiting
                    queue.popleft()
                    continue
                if heavy and self.heavy_running >= self.heavy_slots:
                    break
                grant = self._take(heavy)
                if grant is None:
                    break
                lease = queue.popleft()
                if heavy:
                    self.heavy_running += 1
                    lease.heavy = True
                lease.waiter.set_result(grant)

    async def _lease(self, ticket: Ticket, deadline: float) -> _Lease:
        loop = asyncio.get_running_loop()
        lease = _Lease(ticket, loop.create_future())
        self._admit(ticket, lease)
        queue = self.waiting[ticket.heavy]
        queue.append(lease)
        self._dispatch()
        if not lease.waiter.done() and self.waiting_count(ticket.heavy) > self.lanes.queue:
            queue.remove(lease)
            self._release(lease)
            self.refused["queue"] += 1
            ahead = self.waiting_count(ticket.heavy)
            lane = "heavy" if ticket.heavy else "light"
            raise Busy(
                503,
                f"the node is busy: {ahead} {lane} queries are waiting already",
                self._retry_after(ahead) if ticket.heavy else 1,
            )
        try:
            granted = await self._wait_turn(lease, deadline)
        except BaseException:
            if lease.waiter.done() and not lease.waiter.cancelled():  # granted as it ended
                self._give_back(lease.waiter.result(), lease)
            else:
                lease.waiter.cancel()
                if lease in queue:
                    queue.remove(lease)
                self._release(lease)
            raise
        if isinstance(granted, _Spawn):
            granted = await self._start_worker(lease, granted.heavy)
        lease.worker = granted
        lease.started = time.monotonic()
        self.running.add(lease)
        if not ticket.heavy:
            lease.timer = loop.call_later(self.lanes.light_seconds, self._ran_long, lease)
        return lease

    async def _wait_turn(self, lease: _Lease, deadline: float) -> _Worker | _Spawn:
        gone = lease.ticket.gone
        while True:
            if lease.waiter.done():  # a worker was free: no turn of the event loop
                return lease.waiter.result()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QueryTimeout(started=False)
            slice_ = min(remaining, LOOK_EVERY) if gone else remaining
            await asyncio.wait({lease.waiter}, timeout=slice_)
            if not lease.waiter.done() and gone and gone():
                raise ClientGone

    async def _start_worker(self, lease: _Lease, heavy: bool) -> _Worker:
        """Spawn in a thread; a caller that gives up meanwhile leaves the new worker to
        the others instead of losing it."""
        spawning = asyncio.ensure_future(asyncio.to_thread(self._spawn, heavy))
        try:
            item = await asyncio.shield(spawning)
        except BaseException:
            spawning.add_done_callback(lambda task: self._adopt(task, heavy, lease))
            raise
        self._adopt(spawning, heavy, None)
        return item

    def _adopt(self, spawning: asyncio.Future[_Worker], heavy: bool, unused: _Lease | None) -> None:
        """A started worker joins the pool; `unused`: its caller gave up, pass it on."""
        self.starting[heavy] -= 1
        if spawning.cancelled() or spawning.exception() is not None:
            if unused is not None:
                self._release(unused)
            return
        self.workers.append(spawning.result())
        if unused is not None:
            self._give_back(spawning.result(), unused)

    def _give_back(self, grant: _Worker | _Spawn, lease: _Lease) -> None:
        """An unused grant: the worker, or the place to start one, goes to the next."""
        if isinstance(grant, _Spawn):
            self.starting[grant.heavy] -= 1
        else:
            self.idle.append(grant)
        self._release(lease)

    def _ran_long(self, lease: _Lease) -> None:
        """A light query that turned out heavy now holds a worker like one."""
        lease.timer = None
        if lease.released or lease.heavy:
            return
        lease.heavy = True
        self.heavy_running += 1
        self.heavy_by_client[lease.ticket.client] += 1
        lease.client_counted = True

    def _release(self, lease: _Lease) -> None:
        """Free what the lease counted against, once, and hand the place on."""
        if lease.released:
            return
        lease.released = True
        self.running.discard(lease)
        if lease.timer is not None:
            lease.timer.cancel()
        held = time.monotonic() - lease.started if lease.started else 0.0
        if lease.heavy:
            self.heavy_running -= 1
            if lease.ticket.heavy and lease.started:
                self.heavy_seconds = 0.7 * self.heavy_seconds + 0.3 * held
        if lease.started and lease.ticket.spent is not None:
            lease.ticket.spent(held)
        if lease.client_counted:
            client = lease.ticket.client
            self.heavy_by_client[client] -= 1
            if self.heavy_by_client[client] <= 0:
                del self.heavy_by_client[client]
        self._dispatch()

    async def _finish(self, lease: _Lease, *, kill: bool) -> None:
        """The worker goes back to the pool, or is killed: then its lane's place frees
        only once the process is gone, so its CPU is really free for the next query."""
        item = lease.worker
        assert item is not None
        if not kill:
            self.idle.append(item)
            self._release(lease)
            return
        killing = asyncio.ensure_future(asyncio.to_thread(self._kill, item))

        def killed(_: object) -> None:
            if item in self.workers:
                self.workers.remove(item)
            self._release(lease)

        killing.add_done_callback(killed)
        await asyncio.shield(killing)

    # Running -------------------------------------------------------------------------

    async def run(
        self, job: Job, timeout: float, ticket: Ticket | None = None
    ) -> tuple[str, AsyncIterator[bytes]]:
        """Start a job; returns the result kind and its chunks. Raises before any chunk
        for errors the query shows at once (syntax, limits, deadline, a full lane)."""
        deadline = time.monotonic() + timeout
        lease = await self._lease(ticket or Ticket(), deadline)
        item = lease.worker
        assert item is not None
        try:
            item.conn.send(job)
            kind, value = await self._receive(item, deadline, lease.ticket.gone)
        except BaseException:
            await self._finish(lease, kill=True)
            raise
        if kind in ("error", "whole"):
            await self._finish(lease, kill=False)
        if kind == "error":
            raise QueryFailed(*value)
        if kind == "whole":
            result_kind, body, source = value
            self.answered[source] += 1
            if lease.ticket.answered is not None:
                lease.ticket.answered(source, time.monotonic() - lease.started)
            return str(result_kind), _once(body)
        return str(value), self._chunks(lease, deadline)

    async def _chunks(self, lease: _Lease, deadline: float) -> AsyncIterator[bytes]:
        item = lease.worker
        assert item is not None
        finished = False
        try:
            while True:
                kind, value = await self._receive(item, deadline, lease.ticket.gone)
                if kind == "chunk":
                    yield value
                elif kind == "done":
                    finished = True
                    self.answered[value] += 1
                    if lease.ticket.answered is not None:
                        lease.ticket.answered(value, time.monotonic() - lease.started)
                    return
                else:
                    finished = True
                    raise QueryFailed(*value)
        finally:
            # not finished: deadline, a client that went away, or a dead worker
            await self._finish(lease, kill=not finished)

    async def _receive(
        self, item: _Worker, deadline: float, gone: Callable[[], bool] | None = None
    ) -> tuple[str, Any]:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QueryTimeout
            try:
                readable = await _readable(
                    item.conn, min(remaining, LOOK_EVERY) if gone else remaining
                )
            except OSError:  # stop() closed the pipe: the node is shutting down
                raise QueryFailed(503, "the node is stopping; ask again shortly") from None
            if readable:
                break
            if gone and gone():
                raise ClientGone
        try:
            message: tuple[str, Any] = item.conn.recv()
        except (EOFError, OSError):
            raise QueryFailed(500, "the query worker stopped unexpectedly") from None
        return message


async def _once(body: bytes) -> AsyncIterator[bytes]:
    if body:
        yield body


async def _readable(conn: Connection, timeout: float) -> bool:
    """Wait for the pipe in the event loop itself: no thread per waiting query."""
    if conn.poll(0):
        return True
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    descriptor = conn.fileno()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(descriptor, wake)
    try:
        async with asyncio.timeout(timeout):
            await ready
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(descriptor)


class Counted(Protocol):
    """What the metrics read: the worker pool, or the remote store's stand-in for it."""

    answered: collections.Counter[str]
    refused: collections.Counter[str]

    def running_pids(self, heavy: bool) -> list[int]: ...

    def waiting_count(self, heavy: bool) -> int: ...


class PoolMetrics:
    """Prometheus: finished queries by the store that answered them, so an operator sees
    whether the in-memory copies are in use ("inline": proven cheap, answered by the node's
    own process without a worker, "inline-memory" by its copy); queries per lane and
    refusals, so they see
    whether the lanes and caps fit the node's users."""

    def __init__(self, pool: Counted) -> None:
        self.pool = pool

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        family = CounterMetricFamily(
            "allmende_sparql_queries", "Answered SPARQL queries by store", labels=["store"]
        )
        for source in ("memory", "disk", "inline", "inline-memory"):
            family.add_metric([source], self.pool.answered[source])
        yield family
        lanes = GaugeMetricFamily(
            "allmende_sparql_lane_queries",
            "SPARQL queries running or waiting for a worker, by lane",
            labels=["lane", "state"],
        )
        for heavy, lane in ((False, "light"), (True, "heavy")):
            lanes.add_metric([lane, "running"], len(self.pool.running_pids(heavy)))
            lanes.add_metric([lane, "waiting"], self.pool.waiting_count(heavy))
        yield lanes
        refused = CounterMetricFamily(
            "allmende_sparql_refused",
            "SPARQL queries not admitted: a client over its heavy cap, or a full queue",
            labels=["reason"],
        )
        for reason in ("client", "queue"):
            refused.add_metric([reason], self.pool.refused[reason])
        yield refused
