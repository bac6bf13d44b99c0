"""The group committer on its own: what it acknowledges is in the log."""

from __future__ import annotations

import asyncio
import itertools
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


def test_listeners_hear_of_every_ingest_commit_at_most_every_tell_every(tmp_path: Path) -> None:
    """Under a stream of ingest commits the commit listeners (relays, street-light buttons,
    mails) are called at most every TELL_EVERY seconds, yet after the last commit they
    are always called once more: no commit goes untold, and the first of a quiet spell is
    told at once."""
    from allmende.node.runtime import TELL_EVERY

    node = make_node(tmp_path)
    committer = Committer(node)
    told: list[tuple[float, int]] = []

    def listener() -> None:
        with Session(node.engine) as session:
            told.append((asyncio.get_running_loop().time(), EventLog.last_seq(session)))

    node.commit_listeners.append(listener)

    async def scenario() -> tuple[float, float]:
        committer.start()
        loop = asyncio.get_running_loop()
        began = loop.time()
        await committer.submit([node.event("graph.replaced", replaced(0))])
        while not told:
            assert loop.time() - began < TELL_EVERY / 2, "the first commit was not told at once"
            await asyncio.sleep(0.001)
        first = loop.time()
        assert told[0][1] == 1
        deadline = loop.time() + 1.0
        n = 1
        while loop.time() < deadline:
            await committer.submit([node.event("graph.replaced", replaced(n))])
            n += 1
        ended = loop.time()
        while told[-1][1] < n:  # the last commit is told, once TELL_EVERY has passed
            assert loop.time() < ended + 5 * TELL_EVERY, "the last commits were never told"
            await asyncio.sleep(0.01)
        await committer.stop()
        return first - began, ended - first

    try:
        _quick, lasted = asyncio.run(scenario())
        times = [moment for moment, _seq in told]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) >= TELL_EVERY * 0.9, gaps
        assert len(told) <= lasted / TELL_EVERY + 3, (len(told), lasted)
        with Session(node.engine) as session:
            assert told[-1][1] == EventLog.last_seq(session)
    finally:
        node.close()
