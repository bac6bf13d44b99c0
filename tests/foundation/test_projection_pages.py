"""Projection page by page while the next page is read ahead: every event once, in order,
and a catch-up told to stop leaves off at a page boundary and goes on from there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from allmende.node.events.projector import _ended_at_a_limit
from allmende.node.runtime import Node
from allmende.node.store.base import CHECKPOINT
from allmende.node.store.oxigraph import OxigraphStore
from tests.support import make_node

GRAPH = "https://luetjenholm.example/graphs/sample/readings"
PAGE_BYTES = 4096


def readings(first: int, count: int) -> str:
    return "".join(
        f"<https://luetjenholm.example/observations/{n}> "
        f'<http://www.w3.org/ns/sosa/hasSimpleResult> "{n}.5" .\n'
        for n in range(first, first + count)
    )


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = make_node(tmp_path / "node")
    node.commit(
        [
            node.event("graph.extended", {"graph": GRAPH, "content": readings(n * 30, 30)})
            for n in range(40)
        ]
    )
    yield node
    node.close()


def test_read_ahead_pages_project_every_event_once_and_stop_at_a_boundary(node: Node) -> None:
    copy = OxigraphStore()
    pages: list[int] = []
    applied = node.projector.catch_up(
        node.engine,
        copy,
        after_page=pages.append,
        stop=lambda: len(pages) >= 3,
        page_bytes=PAGE_BYTES,
    )
    assert len(pages) == 3 and pages == sorted(set(pages))
    assert int(copy.get_meta(CHECKPOINT) or 0) == pages[-1]
    shown = copy.dump_nquads().count(b"hasSimpleResult")
    assert shown == 30 * applied and 0 < applied < 40  # whole events of three pages

    node.projector.catch_up(node.engine, copy, after_page=pages.append, page_bytes=PAGE_BYTES)
    assert copy.dump_nquads() == node.store.dump_nquads()  # the rest, nothing twice
    assert copy.dump_nquads().count(b"hasSimpleResult") == 1200
    assert pages[-1] == int(node.store.get_meta(CHECKPOINT) or 0)


def test_a_page_that_ends_at_the_log_is_not_read_ahead(node: Node) -> None:
    from sqlmodel import Session

    from allmende.node.events.log import EventLog

    with Session(node.engine) as session:
        whole = EventLog.read(session, after=0, limit=1000)
        sized = EventLog.read(session, after=0, limit=1000, max_bytes=PAGE_BYTES)
    assert not _ended_at_a_limit(whole, 10 * 1024 * 1024)
    assert 1 < len(sized) < len(whole) and _ended_at_a_limit(sized, PAGE_BYTES)
