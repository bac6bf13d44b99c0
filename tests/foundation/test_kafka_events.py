"""Signed events travel through a real Kafka broker and verify on the other side."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlmodel import Session

from allmende.node.events import EventLog, SignedEvent, VerificationError
from allmende.node.events.log import BatchProof
from allmende.policies import jws
from tests.support import make_node

pytestmark = pytest.mark.kafka


def from_wire(value: bytes) -> SignedEvent:
    body = json.loads(value)
    batch = BatchProof(**body["batch"]) if "batch" in body else None
    return SignedEvent(event=body["event"], signature=body.get("signature"), batch=batch)


async def test_signed_events_over_kafka(tmp_path: Path, kafka_broker: Any) -> None:
    node = make_node(tmp_path)
    node.commit([node.event("graph.dropped", {"graph": "urn:single"}, subject="sample")])
    node.commit(
        [node.event("graph.dropped", {"graph": f"urn:b{n}"}, subject="sample") for n in range(4)]
    )
    with Session(node.engine) as session:
        outgoing = EventLog.read(session)
    jwks = node.key.jwks()
    node.close()

    topic = f"allmende.test.{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for signed in outgoing:
            await producer.send_and_wait(
                topic, json.dumps(signed.to_json()).encode(), key=b"sample"
            )
        tampered = outgoing[0].to_json()
        tampered["event"]["data"]["graph"] = "urn:other"
        await producer.send_and_wait(topic, json.dumps(tampered).encode(), key=b"sample")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_broker.bootstrap,
        auto_offset_reset="earliest",
        group_id=f"verifier-{uuid.uuid4().hex[:6]}",
    )
    await consumer.start()
    received: list[SignedEvent] = []
    try:
        while len(received) < len(outgoing) + 1:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, "no messages arrived from the broker"
            for messages in batch.values():
                received.extend(from_wire(message.value) for message in messages)
    finally:
        await consumer.stop()

    keys = jws.keys_from_jwks(jwks)
    members = [s.event for s in received[: len(outgoing)] if s.batch is not None]
    for signed in received[: len(outgoing)]:
        signed.verify(keys, members)
    assert [s.event["id"] for s in received[: len(outgoing)]] == [s.event["id"] for s in outgoing]
    with pytest.raises(VerificationError):
        received[-1].verify(keys)
