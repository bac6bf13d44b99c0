"""Rebuild the RDF store from the event log: the store is a projection, so this is always
possible, and `allmende reindex` and a restore both rely on it."""

from __future__ import annotations

import shutil

from allmende.node.config import Settings


def rebuild_store(settings: Settings) -> tuple[int, int]:
    """Project the whole event log into a fresh store, then swap it in: (events, graphs).

    The old store stays in place until the new one is complete, so an interrupted rebuild
    leaves the node as it was. Quarantined events are tried again in their place; those
    that now project leave the list once the new store is in place."""
    from allmende.node.keys import load_key
    from allmende.node.runtime import Node
    from allmende.node.store import OxigraphStore, remote

    if settings.store.url:
        return remote.rebuild(settings)
    target = settings.store_path
    fresh = target.with_name(target.name + ".reindex")
    shutil.rmtree(fresh, ignore_errors=True)
    node = Node(settings, load_key(settings.key_path), store=OxigraphStore(fresh))
    node.quarantine.deferred = True
    try:
        applied = node.project()
        graphs = len(node.store.graphs())
    finally:
        node.close()
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    node.quarantine.clear_deferred()
    node.engine.dispose()
    return applied, graphs
