"""Queries proven cheap are answered in the node's own process, without a worker.

A worker process makes a query's deadline real (it can be killed), but every answer then
travels twice over a pipe and wakes two processes: for a lookup that takes a millisecond
that hop costs more than the query (bench/peers: catalog search 1.9 ms over HTTP against
Oxigraph server's 0.7 ms, one request at a time). Oxigraph cannot stop a running query,
so only a query whose cost is known runs here: the same text, over the same graphs (the
caller's access decision), in the same result format, answered in full by a worker's
in-memory copy within `cap` seconds, with the store still at the generation it was then.
The same query over the same data does the same work, so the run here costs what that
run cost, give or take the on-disk store's slower joins. Queries whose value changes
from run to run (RAND, NOW, ...) and SERVICE calls never run here.

Oxigraph releases the GIL while it evaluates and serialises into bytes, so the event loop
keeps serving meanwhile. At most `slots` queries run here at once; beyond, they go to the
workers. A run that is not done within `patience` seconds (the disk far slower than the
copy was) is handed to a worker with what is left of its deadline, where it can be
stopped; its query is not run here again, and its thread finishes on its own, holding
its slot until then.

Where the workers keep an in-memory copy, the node keeps one too (`Replica`, made and
brought forward on a thread of its own, only while cheap queries come): a lookup that
takes 1.8 ms on disk takes 0.4 ms there (bench/peers, sensors within 3 km). A query runs
on the copy only when it shows exactly the query's generation and nothing is bringing it
forward; else on disk, as before.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import time
from dataclasses import dataclass
from functools import lru_cache

import pyoxigraph as ox

from allmende.node.sparql.projection import spelled_out
from allmende.node.sparql.replica import Replica
from allmende.node.sparql.worker import CATCH_UP_SECONDS, Job

CAP = 0.025
"""Seconds a worker may have taken for a query to count as cheap: the issue's small
queries take up to 10 ms on Oxigraph server; pipe and wake-ups add about a millisecond."""
SLOWER = 4
"""A query that took longer than this many times `cap` here (Oxigraph's joins are up to
ten times slower on disk than in memory) is left to the workers' copies from then on."""
PATIENCE = 1.0
"""Seconds a run here may take before the query is handed to a worker."""
SLOTS = 2
"""Queries answered here at once (threads; Oxigraph runs them without the GIL)."""
AT_ONCE = 0.002
"""Seconds a query may have taken here, on the store as it is, to run on the event loop
itself next time: handing a query to a thread and back costs some 0.1-0.3 ms of the
loop's time and a wake-up, more than such a query."""
REMEMBERED = 1024
"""Proven queries kept, the most recently proven first."""
FOLLOW_SECONDS = CATCH_UP_SECONDS
"""Longest step of bringing the node's copy forward; queries read from disk meanwhile."""

Key = tuple[str, tuple[str, ...] | None, tuple[str, ...], str, str | None]


@dataclass(frozen=True)
class Answer:
    kind: str
    """"solutions", "boolean" or "graph", as a worker says it."""
    body: bytes
    seconds: float
    source: str = "disk"
    """"memory" when the node's copy answered."""


def key(job: Job) -> Key:
    defaults = None if job.default_graph is None else tuple(job.default_graph)
    return (job.query, defaults, tuple(job.named_graphs), job.result_format, job.base_iri)


@lru_cache(maxsize=512)
def _spelled_out(query: str, base_iri: str | None) -> str:
    return spelled_out(query, base_iri)


@lru_cache(maxsize=64)
def _named(graphs: tuple[str, ...]) -> list[ox.NamedNode | ox.BlankNode]:
    """The caller's named graphs as Oxigraph's terms (shared: never changed): the same few
    lists come again and again, and making fifteen terms took a twentieth of a cheap
    query's time on the event loop."""
    return [ox.NamedNode(g) for g in graphs]


def answer(store: ox.Store, job: Job) -> tuple[str, bytes, float]:
    """What a worker would send, as one piece, and the seconds the run itself took (not
    the wait for a thread); the GIL is released while Oxigraph works."""
    started = time.monotonic()
    kind, body = _answer(store, job)
    return kind, body, time.monotonic() - started


def _answer(store: ox.Store, job: Job) -> tuple[str, bytes]:
    if job.default_graph is None:
        dataset: dict[str, object] = {"use_default_graph_as_union": True}
    else:
        dataset = {
            "default_graph": [
                ox.DefaultGraph() if g == "" else ox.NamedNode(g) for g in job.default_graph
            ]
        }
    result = store.query(
        _spelled_out(job.query, job.base_iri),
        base_iri=job.base_iri,
        named_graphs=_named(tuple(job.named_graphs)),
        **dataset,  # type: ignore[arg-type]
    )
    if isinstance(result, ox.QueryBoolean):
        fmt = ox.QueryResultsFormat.from_media_type(job.result_format)
        return "boolean", result.serialize(format=fmt) or b""
    if isinstance(result, ox.QuerySolutions):
        fmt = ox.QueryResultsFormat.from_media_type(job.result_format)
        return "solutions", result.serialize(format=fmt) or b""
    graph_format = ox.RdfFormat.from_media_type(job.result_format)
    return "graph", result.serialize(format=graph_format) or b""


class Inline:
    """Which queries are proven cheap, and running them in this process."""

    def __init__(
        self,
        store: ox.Store,
        slots: int = SLOTS,
        cap: float = CAP,
        patience: float = PATIENCE,
        at_once: float = AT_ONCE,
        copy: Replica | None = None,
    ) -> None:
        self.store: ox.Store | None = store
        """None once closed: the node's store must be freed with the node (its lock)."""
        self.copy = copy
        """The node's in-memory copy, made and followed only from `follower`'s thread."""
        self.follower = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="sparql-copy"
        )
        self._following: asyncio.Future[ox.Store | None] | None = None
        self._on_copy = 0
        """Runs on the copy not yet done: it is not brought forward under them."""
        self.slots, self.cap, self.patience, self.at_once = slots, cap, patience, at_once
        self.proven: collections.OrderedDict[Key, int] = collections.OrderedDict()
        """Cheap queries and the store generation they were proven at."""
        self.quick: dict[Key, tuple[int, bool]] = {}
        """Queries that took at most `at_once` seconds here: the generation then, and
        whether on the copy (the disk may be four times slower)."""
        self.refused: set[Key] = set()
        """Queries that took too long here once: never again."""
        self.running = 0
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=slots, thread_name_prefix="sparql-inline"
        )

    def prove(self, job: Job, source: str, seconds: float) -> None:
        """A worker answered `job` in full from `source` in `seconds`. Only the in-memory
        copy's answers count: a worker answering from disk has just opened its view."""
        found = key(job)
        if source != "memory" or seconds > self.cap or found in self.refused:
            return
        self.proven[found] = job.generation
        self.proven.move_to_end(found)
        while len(self.proven) > REMEMBERED:
            self.proven.popitem(last=False)

    def ready(self, job: Job) -> bool:
        """Proven cheap on the store as it is, and a slot free (a query run at once on
        the event loop needs none)."""
        found = key(job)
        return (
            self.store is not None
            and self.proven.get(found) == job.generation
            and (self.running < self.slots or self.quick.get(found, (-1,))[0] == job.generation)
        )

    async def run(self, job: Job) -> Answer | None:
        """The answer, or None: then a worker must answer (the run failed, took too long
        or its result is too large, and the worker says so in the caller's terms)."""
        loop = asyncio.get_running_loop()
        found, store, on_copy = key(job), self.store, False
        if store is None:
            return None
        memory = self._copy_at(job)
        if memory is None:
            self._follow(job)
        else:
            store, on_copy = memory, True
        if self.quick.get(found) == (job.generation, on_copy):
            return self._at_once(store, job, found, on_copy)
        self.running += 1
        self._on_copy += on_copy
        future = loop.run_in_executor(self.executor, answer, store, job)
        future.add_done_callback(lambda done: self._finished(done, on_copy))
        try:
            async with asyncio.timeout(self.patience):
                kind, body, seconds = await asyncio.shield(future)
        except Exception:  # too slow here, or failed: the worker says why, properly
            self._refuse(job)
            return None
        if len(body) > job.max_bytes:
            self._refuse(job)
            return None
        if seconds > SLOWER * self.cap:  # the disk is much slower than the copy for it
            self._refuse(job)
        self._remember(self.quick, found, (job.generation, on_copy), seconds <= self.at_once)
        return Answer(kind, body, seconds, "memory" if on_copy else "disk")

    def _copy_at(self, job: Job) -> ox.Store | None:
        """The copy, if it shows exactly the job's generation and is not being changed."""
        copy = self.copy
        if copy is None or self._following is not None or copy.store is None:
            return None
        return copy.store.raw if copy.seq == job.generation else None

    def _follow(self, job: Job) -> None:
        """Make the copy, or bring it to the job's generation, on the follower's thread:
        one step at a time, none while queries run on it. While the node's projector works
        through a backlog the copy waits (it would repeat that work on the same cores)."""
        copy = self.copy
        if copy is None or self._following is not None or self._on_copy:
            return
        if copy.store is None and copy.state != "waiting":
            return  # being made, or given up on (too large, failed): nothing to do here
        budget = None if job.store_busy else FOLLOW_SECONDS
        loop = asyncio.get_running_loop()
        following = loop.run_in_executor(self.follower, copy.current, job.generation, budget)
        following.add_done_callback(self._followed)
        self._following = following

    def _followed(self, future: asyncio.Future[ox.Store | None]) -> None:
        self._following = None
        if not future.cancelled():
            future.exception()  # the copy logs its own failures and drops itself

    def _at_once(self, store: ox.Store, job: Job, found: Key, on_copy: bool) -> Answer | None:
        """A query that took at most `at_once` here on this very store: on the event
        loop itself, which a thread hand-off would cost more than the query."""
        try:
            kind, body, seconds = answer(store, job)
        except Exception:  # the worker says why, properly
            self._refuse(job)
            return None
        self._remember(self.quick, found, (job.generation, on_copy), seconds <= self.at_once)
        if len(body) > job.max_bytes:
            self._refuse(job)
            return None
        return Answer(kind, body, seconds, "memory" if on_copy else "disk")

    @staticmethod
    def _remember(
        table: dict[Key, tuple[int, bool]], found: Key, seen: tuple[int, bool], keep: bool
    ) -> None:
        if not keep:
            table.pop(found, None)
            return
        table[found] = seen
        while len(table) > REMEMBERED:
            del table[next(iter(table))]

    def _finished(self, future: asyncio.Future[tuple[str, bytes, float]], on_copy: bool) -> None:
        self.running -= 1
        self._on_copy -= on_copy
        if not future.cancelled():
            future.exception()  # retrieved: a run given up on may fail later unheard

    def _refuse(self, job: Job) -> None:
        found = key(job)
        self.proven.pop(found, None)
        self.quick.pop(found, None)
        self.refused.add(found)
        if len(self.refused) > REMEMBERED:
            self.refused.pop()

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.follower.shutdown(wait=False, cancel_futures=True)
        self.store, self.copy = None, None
