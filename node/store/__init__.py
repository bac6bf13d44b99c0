"""The data plane: an RDF quad store behind one small interface."""

from allmende.node.store.base import SYSTEM_GRAPH, QuadStore
from allmende.node.store.oxigraph import OxigraphStore

__all__ = ["SYSTEM_GRAPH", "OxigraphStore", "QuadStore"]
