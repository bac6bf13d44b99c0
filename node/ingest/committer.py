"""Group commit: requests that arrive while a transaction is being written share the next one.

Each request is still acknowledged only after the transaction holding its events has
committed, but SQLite's fsync is paid once per group instead of once per request, which is
what lets one node keep up with many small webhook calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from node import db
from node.ingest.latest import Row, upsert
from node.runtime import Node

MAX_GROUP = 256
log = logging.getLogger(__name__)


@dataclass
class Pending:
    events: list[dict[str, Any]]
    latest: list[Row]
    done: asyncio.Future[None] = field(repr=False)


class Committer:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.queue: asyncio.Queue[Pending] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def submit(self, events: list[dict[str, Any]], latest: Sequence[Row] = ()) -> None:
        """Return once the events are committed; raise if their transaction failed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait(Pending(events, list(latest), done))
        await done

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="ingest-committer")

    async def stop(self) -> None:
        """Finish what is queued, then end."""
        while not self.queue.empty():
            await asyncio.sleep(0.01)
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            group = [await self.queue.get()]
            while len(group) < MAX_GROUP and not self.queue.empty():
                group.append(self.queue.get_nowait())
            try:
                await self.node.write(lambda group=group: self._commit(group))  # type: ignore[misc]
            except Exception as exc:
                log.exception("ingest commit failed")
                for pending in group:
                    if not pending.done.done():
                        pending.done.set_exception(exc)
                continue
            for pending in group:
                if not pending.done.done():
                    pending.done.set_result(None)
            self.node.project_soon()

    def _commit(self, group: list[Pending]) -> None:
        events = [event for pending in group for event in pending.events]
        with db.transaction(self.node.engine) as session:
            upsert(session, [row for pending in group for row in pending.latest])
            self.node.log.append(session, events)
