"""The projector: applies logged events to the RDF store, in log order, idempotently.

The store remembers the last applied sequence number (in its system graph), so after a
crash, a restart or `allmende reindex` the projector simply continues from there. The
checkpoint moves once per page of events, so handlers must be safe to re-run for the
events of the page that was in flight when the process stopped.

With a `Quarantine`, an event whose handler fails is set aside and the projector goes on
(node/events/quarantine.py); without one (tests of a single handler), it stops there.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from sqlalchemy import Engine
from sqlmodel import Session

from allmende.node.catalog.files import file_path
from allmende.node.events.log import EventLog, SignedEvent
from allmende.node.events.quarantine import TRANSIENT, Quarantine, projection_name, staged_apply
from allmende.node.store.base import CHECKPOINT, QuadStore

Handler = Callable[[QuadStore, dict[str, Any]], None]
BatchHandler = Callable[[QuadStore, list[dict[str, Any]]], None]
ForeignHandler = Callable[[QuadStore, list[SignedEvent]], None]
PAGE = 2000
PAGE_BYTES = 8 * 1024 * 1024
"""A page of the log read to pass it on (the relay, the feed) ends after this many bytes."""
LOAD_BYTES = 48 * 1024 * 1024
"""A projection page ends after this many bytes of events: Oxigraph's on-disk bulk loader
costs least per triple in loads of 32-64 MB (measured, a peer's 60k observations, 165 MB
of N-Triples, CPU seconds: in 8 MB loads 10.4, in 48 MB loads 6.5-7.3, in one load
7.6-8.6), and readers still see progress page by page."""
log = logging.getLogger(__name__)

RDF_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/trig": ox.RdfFormat.TRIG,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}


class Projector:
    """A registry of handlers by event type plus the loop that feeds them.

    Events from peers (another `source`) go only to the handlers registered with
    `register_foreign`, so a peer's data always lands in its own graphs and never in the
    village's own. Those handlers get runs of signed events, proof included, so that
    pooled data can say where it came from.
    """

    def __init__(self, node_id: str, files: Path | None = None) -> None:
        self.node_id = node_id
        self.files = files
        """The node's content-addressed files, where `graph.loaded` finds what it loads."""
        self.handlers: dict[str, Handler] = {}
        self.foreign_handlers: dict[str, ForeignHandler] = {}
        self.batch_handlers: dict[str, BatchHandler] = {}
        self.register("de.allmende.graph.replaced", _graph_replaced)
        self.register("de.allmende.graph.extended", _graph_extended)
        self.register("de.allmende.graph.dropped", _graph_dropped)
        self.register("de.allmende.graph.loaded", self._graph_loaded)

    def _graph_loaded(self, store: QuadStore, event: dict[str, Any]) -> None:
        """A bulk load (node/sparql/bulk.py): the stored copy, checked against the digest
        the signed event names, goes to the store's own bulk loader."""
        data = event["data"]
        if self.files is None:
            raise LookupError("this projection does not know the node's files")
        path = file_path(self.files, data["sha256"])
        digest = hashlib.sha256()
        with path.open("rb") as copy:
            while chunk := copy.read(1024 * 1024):
                digest.update(chunk)
        if digest.hexdigest() != data["sha256"]:
            raise ValueError(f"{path} is not the file the event loaded")
        store.load_file(path, _graph_format(data), data.get("graph"))

    def register(self, event_type: str, handler: Handler) -> None:
        self.handlers[event_type] = handler

    def register_foreign(self, event_type: str, handler: ForeignHandler) -> None:
        """A handler for runs of one peer's events of one type; unregistered types are
        not projected (a peer cannot replace a village's graphs by sending graph events)."""
        self.foreign_handlers[event_type] = handler

    def register_batch(self, event_type: str, handler: BatchHandler) -> None:
        """A handler for runs of the node's own events of one type, applied in one go.

        Worth it for frequent small events (observations): one store write for a run
        instead of one per event.
        """
        self.batch_handlers[event_type] = handler

    def apply(self, store: QuadStore, signed: SignedEvent) -> None:
        if signed.event["source"] != self.node_id:
            self._apply_foreign(store, [signed])
            return
        handler = self.handlers.get(signed.event["type"])
        if handler is None:
            log.debug("no projection for event type %s", signed.event["type"])
        else:
            handler(store, signed.event)

    def _apply_foreign(self, store: QuadStore, run: list[SignedEvent]) -> None:
        handler = self.foreign_handlers.get(run[0].event["type"])
        if handler is not None:
            handler(store, run)

    def catch_up(
        self,
        engine: Engine,
        store: QuadStore,
        *,
        after_page: Callable[[int], None] | None = None,
        stop: Callable[[], bool] | None = None,
        until: int | None = None,
        quarantine: Quarantine | None = None,
        page_bytes: int = LOAD_BYTES,
    ) -> int:
        """Apply every event after the store's checkpoint (up to `until`); return how many
        were applied (events set aside included).

        `after_page` gets each page's checkpoint once it is stored (the node flushes the
        store there and lets waiting writers on);
        `stop` is asked before each page, so a node shutting down leaves a long catch-up
        at a page boundary and continues there on its next start.
        `quarantine` sets aside events whose handler fails, instead of stopping there.
        `page_bytes` bounds a page (smaller: `stop` is asked more often).
        """
        applied = 0
        checkpoint = int(store.get_meta(CHECKPOINT) or 0)
        if quarantine is not None:
            quarantine.begin(checkpoint)
        reader: ThreadPoolExecutor | None = None
        ahead: Future[list[SignedEvent]] | None = None
        try:
            while stop is None or not stop():
                if ahead is not None:
                    page, ahead = ahead.result(), None
                else:
                    page = _read(engine, checkpoint, until, page_bytes)
                if not page:
                    break
                if _ended_at_a_limit(page, page_bytes):
                    # a backlog: the next page is read and parsed while this one loads
                    # (the store's loader leaves Python free meanwhile)
                    reader = reader or ThreadPoolExecutor(1, thread_name_prefix="log-reader")
                    ahead = reader.submit(
                        _read, engine, page[-1].seq or checkpoint, until, page_bytes
                    )
                for run in self._runs(page):
                    if quarantine is None:
                        self._apply_run(store, run)
                    else:
                        self._apply_guarded(store, run, quarantine)
                checkpoint = page[-1].seq or checkpoint
                store.set_meta(CHECKPOINT, str(checkpoint))
                applied += len(page)
                if after_page is not None:
                    after_page(checkpoint)
        finally:
            if reader is not None:
                reader.shutdown(wait=True)
        return applied

    def retry_quarantined(self, engine: Engine, store: QuadStore, quarantine: Quarantine) -> int:
        """Try the events set aside again, in log order, each in its place among its
        subject's events (those held behind it follow it); return how many now show.

        Only events the store's checkpoint has passed: the others come with the catch-up."""
        checkpoint = int(store.get_meta(CHECKPOINT) or 0)
        quarantine.begin(0)
        before = len(quarantine.rows)
        for seq in sorted(quarantine.rows):
            if seq > checkpoint:
                break
            with Session(engine) as session:
                found = EventLog.read(session, after=seq - 1, limit=1, until=seq)
            if found:
                self._apply_guarded(store, found, quarantine)
            else:
                quarantine.projected(seq)  # no such event any more: nothing to show
        return before - len(quarantine.rows)

    def projection_of(self, event: dict[str, Any]) -> str:
        """The name of the handler that projects such an event (for the operator)."""
        kind = event.get("type", "")
        handler: Callable[..., Any] | None
        if event.get("source") != self.node_id:
            handler = self.foreign_handlers.get(kind)
        else:
            handler = self.batch_handlers.get(kind) or self.handlers.get(kind)
        return projection_name(handler) if handler is not None else kind

    def _apply_run(self, store: QuadStore, run: list[SignedEvent]) -> None:
        first = run[0].event
        batch = self.batch_handlers.get(first["type"])
        if first["source"] != self.node_id:
            self._apply_foreign(store, run)
        elif batch is not None:
            batch(store, [signed.event for signed in run])
        else:
            self.apply(store, run[0])

    def _apply_guarded(
        self, store: QuadStore, run: list[SignedEvent], quarantine: Quarantine
    ) -> None:
        """Apply a run atomically; if it fails, each event alone, setting aside those that
        fail on their own. An error that may pass, from a store that answers nothing at
        all, is the store's and not the event's: it stops the catch-up (tried again on the
        next one) instead of setting aside every event while the store is down."""
        projection = self.projection_of(run[0].event)
        kept = [s for s in run if not quarantine.holds(s.seq, s.event, projection)]
        if not kept:
            return
        try:
            staged_apply(store, lambda staged: self._apply_run(staged, kept))
        except Exception as exc:
            if len(kept) > 1:
                for signed in kept:
                    self._apply_guarded(store, [signed], quarantine)
                return
            if isinstance(exc, TRANSIENT) and not _answers(store):
                raise
            quarantine.failed(kept[0].seq, kept[0].event, projection, exc)
            return
        for signed in kept:
            quarantine.projected(signed.seq)

    def _runs(self, page: list[SignedEvent]) -> list[list[SignedEvent]]:
        """Consecutive events of one type and source form a run when a batch handler (own
        events) or a foreign handler (a peer's) takes runs; other events stand alone."""
        runs: list[list[SignedEvent]] = []
        for signed in page:
            kind, source = signed.event["type"], signed.event["source"]
            batched = source != self.node_id or kind in self.batch_handlers
            previous = runs[-1][0].event if runs else None
            if (
                batched
                and previous is not None
                and previous["type"] == kind
                and previous["source"] == source
            ):
                runs[-1].append(signed)
            else:
                runs.append([signed])
        return runs


def _read(engine: Engine, after: int, until: int | None, page_bytes: int) -> list[SignedEvent]:
    with Session(engine) as session:
        return EventLog.read(session, after=after, limit=PAGE, max_bytes=page_bytes, until=until)


def _ended_at_a_limit(page: list[SignedEvent], page_bytes: int) -> bool:
    """Whether the page ended at its size rather than at the log's end (then more is
    likely waiting). Counted by content, which is nearly all of a large event."""
    if len(page) >= PAGE:
        return True
    size = 0
    for signed in page:
        data = signed.event.get("data")
        if isinstance(data, dict) and isinstance(data.get("content"), str):
            size += len(data["content"])
    return size >= page_bytes * 3 // 4


def _answers(store: QuadStore) -> bool:
    try:
        store.query("ASK {}")
    except Exception:
        return False
    return True


def _graph_format(data: dict[str, Any]) -> ox.RdfFormat:
    return RDF_FORMATS[data.get("format", "application/n-triples")]


def _graph_replaced(store: QuadStore, event: dict[str, Any]) -> None:
    data = event["data"]
    store.replace_graph(data["graph"], data["content"].encode(), _graph_format(data))


def _graph_extended(store: QuadStore, event: dict[str, Any]) -> None:
    data = event["data"]
    store.load(data["content"].encode(), _graph_format(data), data["graph"])


def _graph_dropped(store: QuadStore, event: dict[str, Any]) -> None:
    store.drop_graph(event["data"]["graph"])
