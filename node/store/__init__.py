"""The data plane: an RDF quad store behind one small interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allmende.node.store.base import SYSTEM_GRAPH, QuadStore
from allmende.node.store.oxigraph import OxigraphStore
from allmende.node.store.remote import RemoteStore

if TYPE_CHECKING:
    from allmende.node.config import Settings


def open_store(settings: Settings) -> QuadStore:
    """The store `[store]` names: a remote SPARQL store by `url`, else Oxigraph on disk."""
    if settings.store.url:
        return RemoteStore(settings.store.url, timeout=settings.store.timeout)
    return OxigraphStore(settings.store_path)


__all__ = ["SYSTEM_GRAPH", "OxigraphStore", "QuadStore", "RemoteStore", "open_store"]
