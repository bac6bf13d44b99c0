"""The group committer on its own: what it acknowledges is in the log."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import Session

from allmende.node.events import EventLog
from allmende.node.ingest.committer import Committer
from tests.support import make_node


def replaced(n: int) -> dict[str, str]:
    return {"graph": f"urn:sample:{n}", "format": "text/turtle", "content": ""}


def test_stopping_finishes_every_request_already_submitted(tmp_path: Path) -> None:
    """Shutdown waits for the group being written, too: no request is left unanswered
    and nothing it was told is committed goes missing."""
    node = make_node(tmp_path)
    committer = Committer(node)

    async def scenario() -> list[BaseException | None]:
        committer.start()
        requests = [
            asyncio.create_task(committer.submit([node.event("graph.replaced", replaced(n))]))
            for n in range(40)
        ]
        await asyncio.sleep(0)  # every request is queued
        await committer.stop()
        assert all(request.done() for request in requests), "a request was left unanswered"
        return [request.exception() for request in requests]

    try:
        assert asyncio.run(scenario()) == [None] * 40
        with Session(node.engine) as session:
            assert EventLog.last_seq(session) == 40
    finally:
        node.close()
