"""A small pool of query workers with a hard deadline per query.

A job waits for an idle worker, then the result streams back chunk by chunk. When the
deadline passes, the worker is killed (its CPU work really stops) and a fresh one takes
its place; the event loop never blocks on a query, so the node keeps answering.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import multiprocessing
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from prometheus_client.core import CounterMetricFamily

from node.sparql import worker
from node.sparql.replica import ReplicaSpec
from node.sparql.worker import Job

log = logging.getLogger(__name__)
_CONTEXT = multiprocessing.get_context("spawn")


class QueryFailed(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class QueryTimeout(Exception):
    pass


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection


class QueryPool:
    def __init__(self, store_path: str, size: int, replica: ReplicaSpec | None = None) -> None:
        self.store_path = store_path
        self.size = size
        self.replica = replica
        self.idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self.workers: list[_Worker] = []
        self.starting = 0
        self.answered: collections.Counter[str] = collections.Counter()
        """Finished queries by the store that answered them: "memory" or "disk"."""

    async def _acquire(self, timeout: float) -> _Worker:
        """An idle worker; workers start on first need, so a node that is never
        queried never pays for them."""
        if self.idle.empty() and len(self.workers) + self.starting < self.size:
            self.starting += 1
            try:
                return await asyncio.to_thread(self._spawn)
            finally:
                self.starting -= 1
        try:
            return await asyncio.wait_for(self.idle.get(), timeout)
        except TimeoutError:
            raise QueryTimeout from None

    async def stop(self) -> None:
        for item in list(self.workers):
            self._kill(item)

    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers if w.process.pid is not None]

    def _spawn(self) -> _Worker:
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=worker.serve,
            args=(child, self.store_path, self.replica),
            daemon=True,
            name="sparql-worker",
        )
        process.start()
        child.close()
        item = _Worker(process, parent)
        self.workers.append(item)
        return item

    def _kill(self, item: _Worker) -> None:
        if item in self.workers:
            self.workers.remove(item)
        item.process.kill()
        item.process.join(timeout=5)
        item.conn.close()

    async def _replace(self, item: _Worker) -> None:
        """The next job starts a fresh worker in its place."""
        await asyncio.to_thread(self._kill, item)

    async def run(self, job: Job, timeout: float) -> tuple[str, AsyncIterator[bytes]]:
        """Start a job; returns the result kind and its chunks. Raises before any chunk
        for errors the query shows at once (syntax, limits, deadline)."""
        deadline = time.monotonic() + timeout
        item = await self._acquire(timeout)
        item.conn.send(job)
        try:
            kind, value = await self._receive(item, deadline)
        except BaseException:
            await self._replace(item)
            raise
        if kind in ("error", "whole"):
            self.idle.put_nowait(item)
        if kind == "error":
            raise QueryFailed(*value)
        if kind == "whole":
            result_kind, body, source = value
            self.answered[source] += 1
            return str(result_kind), _once(body)
        return str(value), self._chunks(item, deadline)

    async def _chunks(self, item: _Worker, deadline: float) -> AsyncIterator[bytes]:
        finished = False
        try:
            while True:
                kind, value = await self._receive(item, deadline)
                if kind == "chunk":
                    yield value
                elif kind == "done":
                    finished = True
                    self.answered[value] += 1
                    return
                else:
                    finished = True
                    raise QueryFailed(*value)
        finally:
            if finished:
                self.idle.put_nowait(item)
            else:  # deadline, a client that went away, or a dead worker
                await self._replace(item)

    async def _receive(self, item: _Worker, deadline: float) -> tuple[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not await _readable(item.conn, remaining):
            raise QueryTimeout
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
        await asyncio.wait_for(ready, timeout)
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(descriptor)


class PoolMetrics:
    """Prometheus: finished queries by the store that answered them, so an operator sees
    whether the in-memory copy is in use."""

    def __init__(self, pool: QueryPool) -> None:
        self.pool = pool

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "allmende_sparql_queries", "Answered SPARQL queries by store", labels=["store"]
        )
        for source in ("memory", "disk"):
            family.add_metric([source], self.pool.answered[source])
        yield family
