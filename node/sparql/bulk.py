"""Bulk import of an RDF file into the store, through the event log.

The file is copied into the node's content-addressed files (`DIR/data/files/<sha256>`,
kept by backups, never deleted), checked whole, and recorded as ONE `graph.loaded` event
that names the copy by its SHA-256. The projector hands the copy to the store's own bulk
loader (Oxigraph's `bulk_load`; a remote store gets it in one Graph Store Protocol
request), so `allmende reindex` replays the same file. Before, each 50k triples were
parsed twice, written out again as N-Triples inside an event and parsed a third time by
the projector: 200k triples took 17 s, four times `oxigraph load`.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from sqlmodel import Session, select

from allmende.node.catalog.files import files_directory
from allmende.node.events.projector import RDF_FORMATS
from allmende.node.file_modes import open_private, private_directory
from allmende.node.models import EventRecord
from allmende.node.runtime import Node
from allmende.node.sparql.graph_store import managed

COPY_CHUNK = 1024 * 1024
QUAD_FORMATS = (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG)


@dataclass
class Loaded:
    triples: int = 0
    events: int = 0
    graphs: int = 0
    sha256: str = ""
    targets: set[str] = field(default_factory=set)


def store_copy(node: Node, path: Path) -> tuple[Path, bool]:
    """Copy the file into the node's files under its SHA-256: (the copy, whether it is new).

    The copy is written under a temporary name and renamed when complete, so a broken copy
    never looks whole."""
    directory = files_directory(node.settings.directory)
    incoming = directory / "incoming"
    private_directory(directory)
    private_directory(incoming)
    partial = incoming / uuid.uuid4().hex
    digest = hashlib.sha256()
    try:
        with path.open("rb") as source, os.fdopen(open_private(partial), "wb") as target:
            while chunk := source.read(COPY_CHUNK):
                digest.update(chunk)
                target.write(chunk)
            target.flush()
            os.fsync(target.fileno())
        final = directory / digest.hexdigest()
        if final.exists():
            partial.unlink()
            return final, False
        os.replace(partial, final)
        return final, True
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def check(node: Node, path: Path, graph: str | None, fmt: ox.RdfFormat) -> Loaded:
    """The whole file must parse (without a base IRI: a relative IRI would resolve against
    wherever the file lies at the time) and target no managed graph, before anything is
    recorded. Raises SyntaxError naming line and column, or ValueError."""
    if graph is not None and managed(node, graph):
        raise ValueError(f"{graph} is managed by the node; load into another graph")
    found = Loaded()
    quads = ox.parse(path=path, format=fmt)
    if graph is not None:
        found.triples = sum(1 for _ in quads)
        found.targets = {graph}
        return found
    for quad in quads:
        name = quad.graph_name
        found.targets.add("" if isinstance(name, ox.DefaultGraph) else str(name.value))
        found.triples += 1
    for target in found.targets:
        if managed(node, target):
            raise ValueError(f"{target} is managed by the node; load into another graph")
    return found


def load_file(node: Node, path: Path, graph: str | None, fmt: ox.RdfFormat) -> Loaded:
    """Check the file, keep a copy and record one `graph.loaded` event; the node's
    projection then bulk-loads the copy. A file that fails leaves nothing behind."""
    media_type = fmt.media_type
    if media_type not in RDF_FORMATS:
        raise ValueError(f"{media_type} cannot be bulk-loaded; convert the file to N-Triples")
    if graph is not None and fmt in QUAD_FORMATS:
        raise ValueError("a quad file names its own graphs; --graph is for triple formats")
    if node.settings.store.url and fmt in QUAD_FORMATS:
        raise ValueError(
            "a remote store takes a bulk load as one graph; load N-Triples or Turtle "
            "with --graph (or into the default graph)"
        )
    copy, new = store_copy(node, path)
    event: dict[str, object] | None = None
    try:
        loaded = check(node, copy, graph, fmt)
        loaded.sha256 = copy.name
        data = {
            "graph": graph,
            "format": media_type,
            "sha256": loaded.sha256,
            "bytes": copy.stat().st_size,
            "triples": loaded.triples,
        }
        subject = graph if graph is not None else "file"
        event = node.event("graph.loaded", data, subject=subject or "default")
        node.commit([event])
    except BaseException:
        # a recorded event keeps its copy, whatever failed after the commit
        if new and (event is None or not _recorded(node, str(event["id"]))):
            copy.unlink(missing_ok=True)
        raise
    loaded.events = 1
    loaded.graphs = len(loaded.targets)
    return loaded


def _recorded(node: Node, event_id: str) -> bool:
    with Session(node.engine) as session:
        return (
            session.exec(select(EventRecord.seq).where(EventRecord.id == event_id)).first()
            is not None
        )
