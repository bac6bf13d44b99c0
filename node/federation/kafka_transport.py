"""Federation over Kafka: a relay from this node's log to the shared topics, and a consumer
group that reads every member's events into the inbox.

The relay is a transactional outbox: the event log is the outbox and `relay` in
`federation_position` says how far it got; the position moves only after the broker has
acknowledged every message of a page (idempotent producer, acks=all). A broker outage
holds the relay at its position; a crash re-sends at most one page, which the peers' inboxes
drop by event id. The consumer commits its offsets only after the inbox has committed
what it read, so a peer killed in between reads it again and drops it again: no gap, no
duplicate. Messages are keyed by dataset id, so a dataset's events stay in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from sqlmodel import Session

from allmende.node.db import transaction
from allmende.node.events import jsontext
from allmende.node.events.log import EventLog, SignedEvent
from allmende.node.events.projector import PAGE_BYTES
from allmende.node.federation.feed import CommitSignal
from allmende.node.federation.inbox import Inbox, _save_position, load_position
from allmende.node.federation.sharing import APPS, CATALOG, REPORTS, shareable, stream_of
from allmende.node.federation.wire import WireError, pack, unpack
from allmende.node.kafka import client_options
from allmende.node.logs import Repeated, retry_counts
from allmende.node.runtime import Node

RELAY = "relay"
MAX_MESSAGE_BYTES = 900 * 1024
MAX_MESSAGE_EVENTS = 500
log = logging.getLogger(__name__)


def topics(node: Node) -> dict[str, str]:
    settings = node.settings.federation
    return {
        CATALOG: settings.catalog_topic,
        "observations": settings.observations_topic,
        REPORTS: settings.catalog_topic,  # few and for every member, like catalog events
        APPS: settings.catalog_topic,
    }


def group_id(node: Node) -> str:
    return f"allmende:{node.id}"


async def ensure_topics(node: Node) -> None:
    """Create the shared topics when they are missing and the node may create them."""
    settings = node.settings.federation
    if not settings.create_topics:
        return
    admin = AIOKafkaAdminClient(**client_options(node.settings.kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, settings.partitions, settings.replication_factor)
            for name in dict.fromkeys(topics(node).values())  # reports share the catalog's
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another node was quicker
                await admin.create_topics(missing)
    finally:
        await admin.close()


def _size(signed: SignedEvent) -> int:
    data = signed.event.get("data")
    content = data.get("content", "") if isinstance(data, dict) else ""
    return len(content) + 2048


def messages(events: Sequence[SignedEvent]) -> Iterator[tuple[str, str, list[SignedEvent]]]:
    """Consecutive events of one stream and dataset, in bundles that fit a Kafka message."""
    current: list[SignedEvent] = []
    key: tuple[str, str] | None = None
    size = 0
    for signed in events:
        this = (stream_of(signed.event["type"]) or "", str(signed.event.get("subject") or ""))
        if current and (
            this != key
            or size + _size(signed) > MAX_MESSAGE_BYTES
            or len(current) >= MAX_MESSAGE_EVENTS
        ):
            assert key is not None
            yield key[0], key[1], current
            current, size = [], 0
        key = this
        current.append(signed)
        size += _size(signed)
    if current and key is not None:
        yield key[0], key[1], current


class _Worker(Protocol):
    node: Node
    error: str | None
    trouble: Repeated


async def keep_connected(
    worker: _Worker, connect: Callable[[], Any], work: Callable[[Any], Awaitable[None]]
) -> None:
    """Run `work` with a started client until cancelled; on any failure (the broker away, a
    write that failed) report it, wait, and start over with a fresh client. Nothing is
    lost by that: the relay resends from its position, the consumer from its offsets.
    The failure is logged when it starts and summarised, not once per retry."""
    try:
        while True:
            client = connect()
            try:
                await client.start()
                await work(client)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                worker.error = str(exc)[:300] or type(exc).__name__
                worker.trouble.failure(worker.error)
                await asyncio.sleep(worker.node.settings.federation.retry_interval)
            finally:
                await asyncio.shield(client.stop())
    except asyncio.CancelledError:
        worker.trouble.stopped()
        raise


class KafkaRelay:
    def __init__(self, node: Node, signal: CommitSignal) -> None:
        self.node = node
        self.signal = signal
        self.sent = 0
        self.error: str | None = None
        self.trouble = Repeated(log, "Kafka relay", counts=retry_counts(node))

    def _page(self, after: int) -> tuple[list[SignedEvent], int]:
        with Session(self.node.engine) as session:
            page = EventLog.read(
                session,
                after=after,
                limit=self.node.settings.federation.page_size,
                local_only=True,
                max_bytes=PAGE_BYTES,
            )
            last = (page[-1].seq or after) if page else after
            return shareable(session, page), last

    def _advance(self, position: int) -> None:
        with transaction(self.node.engine) as session:
            _save_position(session, RELAY, position)

    async def run(self) -> None:
        def connect() -> AIOKafkaProducer:
            return AIOKafkaProducer(
                **client_options(self.node.settings.kafka),
                enable_idempotence=True,
                acks="all",
                linger_ms=5,
                max_request_size=1024 * 1024,
            )

        await keep_connected(self, connect, self._relay)

    async def _relay(self, producer: AIOKafkaProducer) -> None:
        names = topics(self.node)
        after = await asyncio.to_thread(load_position, self.node, RELAY)
        while True:
            shared, last = await asyncio.to_thread(self._page, after)
            if last == after:
                self.trouble.success()  # connected, and nothing left to send
                await self.signal.wait(1.0)
                continue
            pending = []
            for stream, key, bundle in messages(shared):
                value = jsontext.dumps(pack(bundle)).encode()
                pending.append(await producer.send(names[stream], value, key=key.encode()))
            await asyncio.gather(*pending)
            await self.node.write(lambda last=last: self._advance(last))  # type: ignore[misc]
            self.sent += len(shared)
            self.error = None
            self.trouble.success()
            after = last


class KafkaFollower:
    def __init__(self, node: Node, inbox: Inbox) -> None:
        self.node = node
        self.inbox = inbox
        self.received = 0
        self.error: str | None = None
        self.trouble = Repeated(log, "Kafka consumer", counts=retry_counts(node))

    async def run(self) -> None:
        def connect() -> AIOKafkaConsumer:
            return AIOKafkaConsumer(
                *dict.fromkeys(topics(self.node).values()),
                **client_options(self.node.settings.kafka),
                group_id=group_id(self.node),
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_partition_fetch_bytes=4 * 1024 * 1024,
            )

        await keep_connected(self, connect, self._consume)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            if not batches:
                if consumer.assignment():  # the group coordinator answered
                    self.trouble.success()
                continue
            received: list[SignedEvent] = []
            for records in batches.values():
                for record in records:
                    received.extend(self._decode(record.value))
            await self.inbox.receive(received)
            self.received += len(received)
            await consumer.commit()
            self.error = None
            self.trouble.success()

    def _decode(self, value: bytes | None) -> list[SignedEvent]:
        try:
            body: Any = jsontext.loads(value or b"")
            return unpack(body)
        except (ValueError, WireError) as exc:
            self.inbox.totals[("unknown", "malformed")] += 1
            log.warning("dropped a Kafka message that is not an event bundle: %s", exc)
            return []
