"""Events the projector could not apply: kept aside, so one bad event never stops the rest.

An event whose handler fails (after a few quick retries for errors that may pass, such as a
busy store) is recorded here with its position, the projection that failed and why, and
the projector goes on with the next event. Later events of the same subject (the same
dataset, the same graph) are held back behind it, so that a retry applies them in log
order and never lets an old description overwrite a newer one. `/health` names how many
events each projection holds; the admin API and `allmende reindex` try them again.

A handler writes to a `StagedStore`: its writes are applied only once it has returned,
so a handler that raises halfway leaves nothing behind; when applying several writes
fails, the graphs the event replaced or dropped are put back as they were.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from sqlalchemy import Engine, delete, func
from sqlalchemy import select as sa_select
from sqlmodel import Field, Session, SQLModel, col, select
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from allmende.node.store.base import QuadStore

log = logging.getLogger(__name__)
ATTEMPTS = 3
"""Tries of one event (or run) before an error that may pass counts as the event's own."""
TRANSIENT: tuple[type[BaseException], ...] = (OSError, TimeoutError, ConnectionError)
"""Errors that may pass on their own (a busy or briefly unreachable store); anything else
(a handler refusing the event's data) fails the same way every time."""
HELD = "HeldBehind"
"""The error class of an event held back behind an earlier quarantined one."""
MESSAGE_CHARS = 500
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


class QuarantinedEvent(SQLModel, table=True):
    """An event the store does not show: which, where, which projection, why, how often."""

    __tablename__ = "projection_quarantine"

    seq: int = Field(primary_key=True)
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=200)
    projection: str = Field(max_length=300, index=True)
    error_class: str = Field(max_length=200)
    message: str = Field(max_length=MESSAGE_CHARS)
    sequence_key: str | None = Field(default=None, max_length=64)
    """A digest of the event's source and subject: what later events are held behind."""
    attempts: int = 1
    first_failed: datetime
    last_failed: datetime

    def public(self) -> dict[str, Any]:
        """What an operator sees: position and reason, never the event's content."""
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "projection": self.projection,
            "error_class": self.error_class,
            "message": self.message,
            "attempts": self.attempts,
            "first_failed": self.first_failed.isoformat(),
            "last_failed": self.last_failed.isoformat(),
        }


_ANY = sa_select(col(QuarantinedEvent.seq)).limit(1)


def sequence_key(event: dict[str, Any]) -> str | None:
    """Events of one source and subject must be projected in order; no subject, no order."""
    subject = event.get("subject")
    if not subject:
        return None
    return hashlib.sha256(f"{event.get('source')}\n{subject}".encode()).hexdigest()[:64]


def projection_name(handler: Callable[..., Any]) -> str:
    module = getattr(handler, "__module__", "") or ""
    name = getattr(handler, "__qualname__", type(handler).__name__)
    return f"{module.removeprefix('allmende.node.')}.{name}".lstrip(".")


def describe_error(exc: BaseException) -> tuple[str, str]:
    """Class and message, shortened, with any user:password@ in an address taken out."""
    message = _CREDENTIALS.sub("***@", str(exc))[:MESSAGE_CHARS]
    return type(exc).__name__, message


# -- writes applied only when the handler succeeded ----------------------------------------


@dataclass
class _Op:
    kind: str
    graph: str
    args: tuple[Any, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def destructive(self) -> bool:
        return self.kind in {"replace_graph", "drop_graph"}


class StagedStore:
    """The store as a handler sees it: reads go to the store, writes wait in a list.

    Reads do not see the handler's own pending writes; the node's handlers compute what to
    write from the event alone (they must, to be re-runnable), so none needs to."""

    def __init__(self, store: QuadStore) -> None:
        self.store = store
        self.ops: list[_Op] = []

    def query(self, sparql: str, **options: Any) -> Any:
        return self.store.query(sparql, **options)

    def add_quads(self, quads: Iterable[ox.Quad]) -> None:
        listed = list(quads)  # a generator that fails, fails inside the handler
        graphs = {
            q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else "" for q in listed
        }
        self.ops.append(_Op("add_quads", graphs.pop() if len(graphs) == 1 else "*", (listed,)))

    def load(
        self,
        data: bytes,
        fmt: ox.RdfFormat,
        graph: str,
        *,
        bulk: bool = False,
        validated: bool = False,
    ) -> None:
        if not bulk:
            _parses(data, fmt, validated)
        self.ops.append(
            _Op("load", graph, (data, fmt, graph), {"bulk": bulk, "validated": validated})
        )

    def load_file(self, path: Path, fmt: ox.RdfFormat, graph: str | None) -> None:
        self.ops.append(_Op("load_file", "*" if graph is None else graph, (path, fmt, graph)))

    def replace_graph(self, graph: str, data: bytes, fmt: ox.RdfFormat) -> None:
        _parses(data, fmt, False)
        self.ops.append(_Op("replace_graph", graph, (graph, data, fmt)))

    def drop_graph(self, graph: str) -> None:
        self.ops.append(_Op("drop_graph", graph, (graph,)))

    def graphs(self) -> list[str]:
        return self.store.graphs()

    def has_graph(self, graph: str) -> bool:
        return self.store.has_graph(graph)

    def get_meta(self, name: str) -> str | None:
        return self.store.get_meta(name)

    def set_meta(self, name: str, value: str) -> None:
        self.ops.append(_Op("set_meta", "", (name, value)))

    def dump_nquads(self) -> bytes:
        return self.store.dump_nquads()

    def flush(self) -> None:
        """Flushing is the node's business, not a handler's."""

    def close(self) -> None:
        """The store outlives every handler."""

    def apply(self) -> None:
        """Apply the writes in order. One write is as atomic as the store makes it; with
        several, a failure puts back the graphs that were replaced or dropped and drops the
        graphs that were new, then raises."""
        if len(self.ops) == 1:
            _run(self.store, self.ops[0])
            return
        undo: dict[str, bytes | None] = {}
        for op in self.ops:
            if op.graph in undo or op.graph == "*" or op.kind == "set_meta":
                continue
            if op.destructive:
                undo[op.graph] = _snapshot(self.store, op.graph)
            elif not self.store.has_graph(op.graph):
                undo[op.graph] = None
        try:
            for op in self.ops:
                _run(self.store, op)
        except BaseException:
            for graph, content in undo.items():
                try:
                    if content is None:
                        self.store.drop_graph(graph)
                    else:
                        self.store.replace_graph(graph, content, ox.RdfFormat.N_TRIPLES)
                except Exception:
                    log.exception("could not put a graph back after a failed projection")
            raise


def _parses(data: bytes, fmt: ox.RdfFormat, lenient: bool) -> None:
    """A document that does not parse fails inside the handler, before anything is written:
    a store that writes as it parses (a remote one) would otherwise keep the first part.
    Bulk loads are left out (large, and Oxigraph wrote nothing of a 20k-triple bulk load
    that failed at its last line)."""
    for _ in ox.parse(data, format=fmt, lenient=lenient):
        pass


def _run(store: QuadStore, op: _Op) -> None:
    getattr(store, op.kind)(*op.args, **op.options)


def _snapshot(store: QuadStore, graph: str) -> bytes | None:
    """The graph's triples as N-Triples, None if there is no such graph."""
    if not store.has_graph(graph):
        return None
    where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
    triples = list(store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {where} }}"))
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


# -- the book ------------------------------------------------------------------------------


def staged_apply(store: QuadStore, work: Callable[[QuadStore], None]) -> None:
    """Run a handler against staged writes, then apply them; quick retries for errors
    that may pass (the first try without the retry machinery: it is the common case)."""
    try:
        _staged_once(store, work)
        return
    except TRANSIENT:
        pass
    for attempt in Retrying(
        retry=retry_if_exception_type(TRANSIENT),
        stop=stop_after_attempt(ATTEMPTS - 1),
        wait=wait_exponential(multiplier=0.05, max=0.5),
        reraise=True,
    ):
        with attempt:
            _staged_once(store, work)


def _staged_once(store: QuadStore, work: Callable[[QuadStore], None]) -> None:
    staged = StagedStore(store)
    work(staged)
    staged.apply()


class Quarantine:
    """The control plane's list of events set aside, for one projector.

    `writable=False` (a SPARQL worker's copy of the store) only skips what the node set
    aside and records nothing."""

    def __init__(self, engine: Engine, *, writable: bool = True) -> None:
        self.engine = engine
        self.writable = writable
        self.rows: dict[int, QuarantinedEvent] = {}
        self.blocked: set[str] = set()
        self.deferred = False
        """Keep events that now project on the list until `clear_deferred` (a rebuilt
        store: only once it replaced the old one do they show)."""
        self.cleared: set[int] = set()

    def begin(self, checkpoint: int) -> None:
        """Read the list; subjects of events set aside before `checkpoint` hold later ones
        back (a store rebuilt from nothing tries every event in its place instead)."""
        with Session(self.engine) as session:
            # nearly always empty: asked with a plain statement built once, so that a
            # projection run after every group commit pays no ORM query for it
            empty = session.connection().execute(_ANY).first() is None
            rows = [] if empty else list(session.exec(select(QuarantinedEvent)))
        self.rows = {row.seq: row for row in rows}
        self.blocked = {
            row.sequence_key for row in rows if row.seq <= checkpoint and row.sequence_key
        }

    def holds(self, seq: int | None, event: dict[str, Any], projection: str) -> bool:
        """Whether the event stays out of the store for now (and is recorded as held)."""
        if seq is None:
            return False
        if not self.writable:
            return seq in self.rows
        if not self.blocked:
            return False
        key = sequence_key(event)
        if key is None or key not in self.blocked:
            return False
        row = self.rows.get(seq)
        if row is None:
            self._record(
                seq, event, projection, HELD, "waits for an earlier event of its subject", 0
            )
        return True

    def projected(self, seq: int | None) -> None:
        """The event now shows in the store: off the list if it was on it."""
        if seq is None or seq not in self.rows or not self.writable:
            return
        del self.rows[seq]
        if self.deferred:
            self.cleared.add(seq)
            return
        self._delete({seq})

    def clear_deferred(self) -> None:
        self._delete(self.cleared)
        self.cleared = set()

    def _delete(self, seqs: set[int]) -> None:
        if not seqs:
            return
        with Session(self.engine) as session:
            session.execute(delete(QuarantinedEvent).where(col(QuarantinedEvent.seq).in_(seqs)))
            session.commit()

    def failed(
        self, seq: int | None, event: dict[str, Any], projection: str, exc: BaseException
    ) -> None:
        if not self.writable or seq is None:
            raise exc
        error_class, message = describe_error(exc)
        log.error(
            "event set aside: its projection failed",
            extra={
                "seq": seq,
                "event": event.get("id"),
                "projection": projection,
                "error": error_class,
            },
        )
        key = sequence_key(event)
        if key is not None:
            self.blocked.add(key)
        attempts = ATTEMPTS if isinstance(exc, TRANSIENT) else 1
        self._record(seq, event, projection, error_class, message, attempts)

    def _record(
        self,
        seq: int,
        event: dict[str, Any],
        projection: str,
        error_class: str,
        message: str,
        attempts: int,
    ) -> None:
        at = datetime.now(UTC)
        with Session(self.engine) as session:
            row = session.get(QuarantinedEvent, seq)
            if row is None:
                row = QuarantinedEvent(
                    seq=seq,
                    event_id=str(event.get("id", ""))[:64],
                    event_type=str(event.get("type", ""))[:200],
                    projection=projection[:300],
                    error_class=error_class[:200],
                    message=message[:MESSAGE_CHARS],
                    sequence_key=sequence_key(event),
                    attempts=attempts,
                    first_failed=at,
                    last_failed=at,
                )
            else:
                row.projection = projection[:300]
                row.error_class, row.message = error_class[:200], message[:MESSAGE_CHARS]
                row.attempts += attempts
                row.last_failed = at
            session.add(row)
            session.commit()
            session.refresh(row)
            session.expunge(row)
        self.rows[seq] = row


def counts(engine: Engine) -> dict[str, int]:
    """Events set aside, by projection (held ones included)."""
    with Session(engine) as session:
        rows = session.exec(
            select(QuarantinedEvent.projection, func.count()).group_by(
                col(QuarantinedEvent.projection)
            )
        ).all()
    return {name: int(n) for name, n in rows}


def listing(engine: Engine, limit: int = 1000) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.exec(
            select(QuarantinedEvent).order_by(col(QuarantinedEvent.seq)).limit(limit)
        ).all()
        return [row.public() for row in rows]
