"""Embedded, on-disk Oxigraph: the default data plane of a node."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pyoxigraph as ox
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from allmende.node.file_modes import private_directory
from allmende.node.store.base import SYSTEM_GRAPH, SYSTEM_PREFIX

_META = "urn:x-allmende:meta:"


def graph_term(graph: str) -> ox.NamedNode | ox.DefaultGraph:
    """ "" names the store's default graph (the Graph Store Protocol's `?default`)."""
    return ox.NamedNode(graph) if graph else ox.DefaultGraph()


def read_meta(raw: ox.Store, name: str) -> str | None:
    """Bookkeeping straight from a store's files (any handle, read-only ones too)."""
    prefix = f"{_META}{name}="
    for graph in raw.named_graphs():
        if isinstance(graph, ox.NamedNode) and graph.value.startswith(prefix):
            return unquote(graph.value.removeprefix(prefix))
    for quad in raw.quads_for_pattern(  # written by earlier versions
        ox.NamedNode(_META + name), None, None, ox.NamedNode(SYSTEM_GRAPH)
    ):
        return str(getattr(quad.object, "value", ""))
    return None


def open_read_only(path: str) -> ox.Store:
    """A read-only view of a store another process writes, as of now.

    Opening can race with the writer compacting its files; a fresh attempt sees the new set.
    The attempts are spaced (up to about 2 s in all): back to back, all of them could fall
    into one compaction, as they did on a busy machine.
    """
    for attempt in Retrying(
        stop=stop_after_attempt(8),
        wait=wait_exponential(multiplier=0.02, max=0.5),
        retry=retry_if_exception_type((RuntimeError, OSError)),
        reraise=True,
    ):
        with attempt:
            return ox.Store.read_only(path)
    raise AssertionError("unreachable")


BULK_BYTES = 512 * 1024
"""From here on a bulk load (sorted files written past the transaction log) beats a
transactional one; measured on this project's observations: 18 ms fixed cost, then
85-110k triples/s against 28k triples/s for one 510k-triple transaction."""


class OxigraphStore:
    """A pyoxigraph Store; `raw` is exposed for the SPARQL endpoint's streaming results."""

    def __init__(self, path: Path | None = None) -> None:
        if path is not None:
            private_directory(path)  # RocksDB's own files follow the umask; the folder does not
        self.path = path
        self.raw = ox.Store(str(path)) if path is not None else ox.Store()
        self._meta: dict[str, str | None] = {}
        """Bookkeeping read back from memory: this handle is the store's only writer, and
        finding a value on disk means listing every named graph."""
        self._meta_written: set[str] = set()
        """Names whose value this handle has written: only the graph it wrote is there."""
        self._logged = False
        """Whether data went through the write-ahead log since the last flush (a bulk load
        writes its files directly, a checkpoint is a few bytes): only then does a reader
        opening the store have a log to replay, and only then is a flush worth its cost."""

    def query(self, sparql: str, **options: Any) -> Any:
        return self.raw.query(sparql, **options)

    def add_quads(self, quads: Iterable[ox.Quad]) -> None:
        self._logged = True
        self.raw.extend(quads)

    def load(
        self,
        data: bytes,
        fmt: ox.RdfFormat,
        graph: str,
        *,
        bulk: bool = False,
        validated: bool = False,
    ) -> None:
        target = graph_term(graph)
        if bulk and len(data) >= BULK_BYTES:
            self.raw.bulk_load(data, format=fmt, to_graph=target, lenient=validated)
        else:
            self._logged = True
            self.raw.load(data, format=fmt, to_graph=target, lenient=validated)

    def load_file(self, path: Path, fmt: ox.RdfFormat, graph: str | None) -> None:
        """Oxigraph's bulk loader, straight from the file: sorted files written past the
        transaction log, as `oxigraph load` does. Labelled blank nodes get fresh names, so
        the page's checkpoint must follow before a replay could add them again."""
        target = graph_term(graph) if graph is not None else None
        self.raw.bulk_load(path=path, format=fmt, to_graph=target)

    def replace_graph(self, graph: str, data: bytes, fmt: ox.RdfFormat) -> None:
        node = graph_term(graph)
        parsed = [
            ox.Quad(quad.subject, quad.predicate, quad.object, node)
            for quad in ox.parse(data, format=fmt)
        ]
        if isinstance(node, ox.DefaultGraph) or self.raw.contains_named_graph(node):
            self.raw.clear_graph(node)
        self._logged = True
        self.raw.extend(parsed)

    def drop_graph(self, graph: str) -> None:
        node = graph_term(graph)
        self._logged = True
        if isinstance(node, ox.DefaultGraph):
            self.raw.clear_graph(node)
        elif self.raw.contains_named_graph(node):
            self.raw.remove_graph(node)

    def graphs(self) -> list[str]:
        return sorted(
            graph.value
            for graph in self.raw.named_graphs()
            if isinstance(graph, ox.NamedNode) and not graph.value.startswith(SYSTEM_PREFIX)
        )

    def has_graph(self, graph: str) -> bool:
        term = graph_term(graph)
        return isinstance(term, ox.DefaultGraph) or self.raw.contains_named_graph(term)

    def get_meta(self, name: str) -> str | None:
        if name not in self._meta:
            self._meta[name] = read_meta(self.raw, name)
        return self._meta[name]

    def set_meta(self, name: str, value: str) -> None:
        """Bookkeeping as the name of an empty graph: it travels with the data it
        describes, yet no quad pattern, union default graph included, can match it."""
        prefix = f"{_META}{name}="
        if name in self._meta_written:
            # this handle wrote the value before and is the only writer: it knows the
            # one graph to replace without listing every named graph (the projector sets
            # its checkpoint after each run, several times a second under ingest)
            previous = self._meta.get(name)
            stale = [ox.NamedNode(prefix + quote(previous, safe=""))] if previous else []
        else:
            stale = [
                graph
                for graph in self.raw.named_graphs()
                if isinstance(graph, ox.NamedNode) and graph.value.startswith(prefix)
            ]
        self.raw.add_graph(ox.NamedNode(prefix + quote(value, safe="")))
        for graph in stale:
            if graph.value != prefix + quote(value, safe=""):
                self.raw.remove_graph(graph)
        if name not in self._meta_written:
            system = ox.NamedNode(SYSTEM_GRAPH)
            if self.raw.contains_named_graph(system):
                self.raw.remove_graph(system)
        self._meta[name] = value
        self._meta_written.add(name)

    def dump_nquads(self) -> bytes:
        system = ox.NamedNode(SYSTEM_GRAPH)
        lines = sorted(
            str(quad) + " ."
            for quad in self.raw.quads_for_pattern(None, None, None)
            if quad.graph_name != system
        )
        return ("\n".join(lines) + "\n").encode() if lines else b""

    def flush(self) -> None:
        """Write what the log holds into the store's files; skipped when it holds nothing
        worth replaying (during a long bulk catch-up, each flush would only add small files
        for the compaction that already takes most of the time)."""
        if self.path is not None and self._logged:
            self.raw.flush()
            self._logged = False

    def close(self) -> None:
        if self.path is not None:
            self.raw.flush()
        del self.raw
