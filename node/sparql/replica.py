"""A query worker's in-memory copy of the store, following the event log.

Oxigraph answers joins over many observations about ten times faster from memory than
from its on-disk files (bench/sparql, 526k quads: latest value per sensor 3.9 s on disk,
0.38 s in memory). A worker therefore copies the store into memory once, from a snapshot
of its files, and from then on applies the events logged after that snapshot with the
node's own projector: the same handlers in the same order, up to the point the node had
projected when the query came, so the copy shows what the store shows. Until the copy is
ready, and whenever it cannot catch up in time,
queries are answered from disk as before; nothing depends on the copy but speed.

The copy is made only once the queries of `QUIET` seconds all came while the node's
projector was not working through a backlog (a peer's catch-up, a burst of ingest): made
earlier, it would load every room's code and then lag behind at once, and both cost the
cores the projector needs (measured on bench/peers' Kafka part, a worker that copied at its
start spent 1.3 CPU seconds on loading code alone while the node projected a peer's 60k
observations; a node that has just started is quiet until its peers' events arrive).

The copy costs memory in every worker (about 450 bytes a quad), so it is kept only for
stores up to `sparql.memory_quads`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from allmende.node.store.base import CHECKPOINT
from allmende.node.store.oxigraph import OxigraphStore, open_read_only, read_meta

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from allmende.node.events.projector import Projector
    from allmende.node.events.quarantine import Quarantine

log = logging.getLogger(__name__)
QUIET = 5.0
"""Seconds of queries that may catch up (the node not busy) before the copy is made."""
SIZE_CHECK_EVERY = 30.0
"""Seconds between checks that the copy still fits its limit (counting takes ~0.1 s per
million quads)."""


@dataclass(frozen=True)
class ReplicaSpec:
    """What a worker needs to keep a copy: where the log is, whose events are whose."""

    database_url: str
    node_id: str
    max_quads: int
    files: str | None = None
    """The node's files, where a bulk load's event finds its file."""


class Replica:
    def __init__(
        self, store_path: str, spec: ReplicaSpec, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store_path, self.spec, self._clock = store_path, spec, clock
        self._quiet_since: float | None = None
        """Since when every query could have caught up (None: the last one could not)."""
        self.store: OxigraphStore | None = None
        self.seq = 0
        """The last event the copy shows."""
        self.state = "waiting"
        """waiting (for a query while the node is not busy), building, ready, or why not."""
        self._projector: Projector | None = None
        self._engine: Engine | None = None
        self._quarantine: Quarantine | None = None
        self._aside: set[int] = set()
        """Quarantined events the copy does not show; once one leaves the list (a retry
        projected it in the node's store), the copy is stale."""
        self._sized_at = 0.0
        self._builder = threading.Thread(target=self.build, name="replica", daemon=True)

    @classmethod
    def start(cls, store_path: str, spec: ReplicaSpec) -> Replica:
        """A copy to be made once the node has been quiet for a while (`current`)."""
        return cls(store_path, spec)

    def _begin(self) -> None:
        """Copying runs on a thread of its own (Oxigraph releases the GIL while it dumps
        and loads), so the worker answers from disk meanwhile."""
        self.state = "building"
        self._builder.start()

    def build(self) -> None:
        """Copy the store's files into memory; then the copy follows the log."""
        try:
            from allmende.node.events.quarantine import Quarantine

            self._projector, self._engine = _projector(self.spec)
            self._quarantine = Quarantine(self._engine, writable=False)
            self._quarantine.begin(0)
            self._aside = set(self._quarantine.rows)  # read before the copy: errs on "stale"
            disk = open_read_only(self.store_path)
            if len(disk) > self.spec.max_quads:
                self.state = "too large"
                return
            seq = int(read_meta(disk, CHECKPOINT) or 0)
            memory = OxigraphStore()
            memory.raw.bulk_load(
                disk.dump(format=ox.RdfFormat.N_QUADS), format=ox.RdfFormat.N_QUADS
            )
            del disk
            memory.set_meta(CHECKPOINT, str(seq))
        except Exception:
            log.exception("could not copy the store into memory; queries read from disk")
            self.state = "failed"
            return
        self.seq, self._sized_at = seq, time.monotonic()
        self.store = memory  # published last: the worker's thread checks it
        self.state = "ready"

    def current(self, generation: int, budget: float | None) -> ox.Store | None:
        """The copy, once it shows `generation` (the node's projected sequence number
        when the query came); catching up takes at most `budget` seconds (None: no
        catching up now, nor copying). It does not catch up beyond it: which graphs a
        caller may see was decided for that generation."""
        if self.store is None:
            if self.state == "waiting" and self._quiet_for(budget) >= QUIET:
                self._begin()  # the node is not busy: now the copy is worth making
            return None
        if self._aside and self._retried():
            self._drop("stale")  # a retried event shows on disk, not here
            return None
        if self.seq < generation and budget is not None:
            self._catch_up(generation, budget)
        return self.store.raw if self.store is not None and self.seq >= generation else None

    def _quiet_for(self, budget: float | None) -> float:
        """Seconds since which every query came with a budget (the node not busy)."""
        now = self._clock()
        if budget is None:
            self._quiet_since = None
            return 0.0
        if self._quiet_since is None:
            self._quiet_since = now
        return now - self._quiet_since

    def _catch_up(self, target: int, budget: float) -> None:
        from allmende.node.events.projector import PAGE_BYTES  # loaded with the projector

        assert self.store is not None and self._projector and self._engine and self._quarantine
        give_up = time.monotonic() + budget
        try:
            self._projector.catch_up(
                self._engine,
                self.store,
                after_page=self._reached,
                stop=lambda: time.monotonic() > give_up,
                until=target,
                quarantine=self._quarantine,
                page_bytes=PAGE_BYTES,  # small steps: a query waits at most `budget` for them
            )
        except Exception:
            log.exception("the in-memory copy could not follow the log; queries read from disk")
            self._drop("failed")
            return
        self._aside |= {seq for seq in self._quarantine.rows if seq <= self.seq}
        if time.monotonic() - self._sized_at > SIZE_CHECK_EVERY:
            self._sized_at = time.monotonic()
            if len(self.store.raw) > self.spec.max_quads:
                self._drop("too large")

    def _retried(self) -> bool:
        """Whether an event the copy left out has left the quarantine (asked only while
        the copy leaves some out)."""
        assert self._quarantine is not None
        self._quarantine.begin(0)
        return bool(self._aside - set(self._quarantine.rows))

    def _reached(self, seq: int) -> None:
        self.seq = seq

    def _drop(self, state: str) -> None:
        self.store, self.state = None, state


def _projector(spec: ReplicaSpec) -> tuple[Projector, Engine]:
    """The node's projector with every room's handlers, reading the node's log.

    Imported here, on the copying thread: a worker must start fast, and answers its first
    queries from disk while this loads.
    """
    from allmende.node import rooms
    from allmende.node.db import make_engine
    from allmende.node.events.projector import Projector

    projector = Projector(spec.node_id, Path(spec.files) if spec.files else None)
    for install in rooms.projection_setups():
        install(projector)
    return projector, make_engine(spec.database_url)
