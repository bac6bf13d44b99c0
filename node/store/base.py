"""What the node needs from a quad store, so that a remote SPARQL store can replace Oxigraph."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

# Bookkeeping (projection checkpoint) lives in the store it describes, so a rebuilt or
# restored store always knows how far it is; graphs under this prefix are never served.
SYSTEM_PREFIX = "urn:x-allmende:"
SYSTEM_GRAPH = SYSTEM_PREFIX + "system"
CHECKPOINT = "projected-seq"
"""The sequence number of the last event the store shows."""


class QuadStore(Protocol):
    def query(self, sparql: str, **options: Any) -> Any:
        """Run a SPARQL 1.1 query; options as pyoxigraph's `Store.query`."""

    def add_quads(self, quads: Iterable[ox.Quad]) -> None: ...

    def load(
        self,
        data: bytes,
        fmt: ox.RdfFormat,
        graph: str,
        *,
        bulk: bool = False,
        validated: bool = False,
    ) -> None:
        """Add the triples of a document to a named graph.

        `bulk=True` allows a faster, non-atomic write for large documents: only for data
        whose load can simply be repeated after a crash (stable IRIs, no blank nodes).
        `validated=True` skips checking each IRI again: only for text this node wrote
        itself from terms that were checked when they were made (saves ~13 % of a load).
        """

    def load_file(self, path: Path, fmt: ox.RdfFormat, graph: str | None) -> None:
        """Add a whole file with the store's own bulk loader: into `graph` ("" the default
        graph), or with None into the graphs the file names. The file has been checked."""

    def replace_graph(self, graph: str, data: bytes, fmt: ox.RdfFormat) -> None: ...

    def drop_graph(self, graph: str) -> None: ...

    def graphs(self) -> list[str]:
        """Named graphs holding data, the system graph left out."""

    def has_graph(self, graph: str) -> bool:
        """Whether a named graph exists ("" the default graph: always)."""

    def get_meta(self, name: str) -> str | None: ...

    def set_meta(self, name: str, value: str) -> None: ...

    def dump_nquads(self) -> bytes:
        """Every data quad as sorted N-Quads: the store's state in a comparable form."""

    def flush(self) -> None: ...

    def close(self) -> None: ...
