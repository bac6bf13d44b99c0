"""A query worker: its own process, reading the store through a read-only handle.

A running Oxigraph query cannot be interrupted from Python, so the only way to make a
time limit real is to run the query where it can be killed. Each worker answers one job
at a time and streams the serialised result back in chunks; the endpoint kills it when
the deadline passes and starts a fresh one. Only pyoxigraph is imported up front, so a
worker starts fast; its in-memory copy of the store (`replica`) loads behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from allmende.node.http.upstream import iris_in, withhold_addresses
from allmende.node.sparql.projection import spelled_out
from allmende.node.sparql.replica import Replica, ReplicaSpec
from allmende.node.store.oxigraph import open_read_only

CHUNK = 64 * 1024
CATCH_UP_SECONDS = 0.25
"""How long a query may wait for the in-memory copy to apply the newest events; longer
behind, it is answered from disk while the copy catches up on later queries."""


@dataclass(frozen=True)
class Job:
    query: str
    default_graph: list[str] | None
    """Graph IRIs forming the default graph ("" the store's own); None: all graphs."""
    named_graphs: list[str]
    result_format: str
    """A media type: of QueryResultsFormat for SELECT/ASK, of RdfFormat for graphs."""
    generation: int
    max_bytes: int
    base_iri: str | None = None
    store_busy: bool = False
    """The node's projector is working through a backlog: the in-memory copy does not
    catch up meanwhile (it would repeat that work on the same two cores)."""


class TooLarge(Exception):
    pass


class _Sender:
    """A binary writer that sends full chunks over the pipe and counts the bytes."""

    def __init__(self, conn: Connection, limit: int) -> None:
        self.conn, self.limit, self.size = conn, limit, 0
        self.buffer = bytearray()
        self.kind = ""
        self.started = False

    def start(self, kind: str) -> None:
        """Announced with the first bytes, so that a query that fails or runs out of
        time before producing any still gets a proper error response."""
        self.kind = kind

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer and not self.started:
            self.started = True
            self.conn.send(("start", self.kind))
        if self.buffer:
            self.conn.send(("chunk", bytes(self.buffer)))
            self.buffer.clear()

    def finish(self, source: str) -> None:
        """A result that fits in one chunk goes as one message: most answers are small,
        and every message is a wake-up of the node's event loop. `source` says which
        store answered ("memory" or "disk")."""
        if self.started:
            self.flush()
            self.conn.send(("done", source))
        else:
            self.started = True
            self.conn.send(("whole", (self.kind, bytes(self.buffer), source)))
        self.buffer.clear()


def _graph(iri: str) -> ox.NamedNode | ox.DefaultGraph:
    return ox.DefaultGraph() if iri == "" else ox.NamedNode(iri)


def _run(store: ox.Store, job: Job, sender: _Sender) -> None:
    if job.default_graph is None:
        dataset: dict[str, Any] = {"use_default_graph_as_union": True}
    else:
        dataset = {"default_graph": [_graph(g) for g in job.default_graph]}
    result = store.query(
        spelled_out(job.query, job.base_iri),
        base_iri=job.base_iri,
        named_graphs=[ox.NamedNode(g) for g in job.named_graphs],
        **dataset,
    )
    if isinstance(result, ox.QueryBoolean | ox.QuerySolutions):
        sender.start("boolean" if isinstance(result, ox.QueryBoolean) else "solutions")
        fmt = ox.QueryResultsFormat.from_media_type(job.result_format)
        result.serialize(sender, fmt)  # type: ignore[arg-type]
    else:
        sender.start("graph")
        result.serialize(sender, ox.RdfFormat.from_media_type(job.result_format))  # type: ignore[arg-type]


def serve(conn: Connection, store_path: str | None, spec: ReplicaSpec | None = None) -> None:
    """The worker's loop: one job in, a stream of chunks and one final message out."""
    store: ox.Store | None = None
    generation = -1
    replica = Replica.start(store_path, spec) if store_path and spec and spec.max_quads else None
    while True:
        try:
            job: Job = conn.recv()
        except (EOFError, OSError):
            return
        sender = _Sender(conn, job.max_bytes)
        for attempt in range(2):
            try:
                source = "memory"
                budget = None if job.store_busy else CATCH_UP_SECONDS
                answering = replica.current(job.generation, budget) if replica else None
                if answering is None:
                    if store is None or job.generation != generation or attempt:
                        store = open_read_only(store_path) if store_path else ox.Store()
                        generation = job.generation
                    source, answering = "disk", store
                _run(answering, job, sender)
                sender.finish(source)
            except TooLarge:
                conn.send(("error", (413, f"the result is larger than {job.max_bytes} bytes")))
            except SyntaxError as exc:
                conn.send(("error", (400, f"the query does not parse: {str(exc)[:500]}")))
            except (OSError, RuntimeError, ValueError, TypeError) as exc:
                if not sender.started and attempt == 0 and isinstance(exc, RuntimeError):
                    continue  # files compacted away under a stale view: reopen once, retry
                reason = withhold_addresses(str(exc), iris_in(job.query))  # SERVICE errors
                conn.send(("error", (400, f"the query cannot be answered: {reason[:500]}")))
            break
