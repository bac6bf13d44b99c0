"""The real services answer: Kafka round-trips messages, PostgreSQL runs queries."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.services import KafkaBroker, PostgresServer


@pytest.mark.kafka
async def test_kafka_round_trip(kafka_broker: KafkaBroker) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"services.roundtrip.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        assert topic in await admin.list_topics()
    finally:
        await admin.close()

    sent = [f"message {n}".encode() for n in range(5)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
    await producer.start()
    try:
        for value in sent:
            await producer.send_and_wait(topic, value, key=b"dataset-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_broker.bootstrap,
        group_id=f"services-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        received: list[bytes] = []
        while len(received) < len(sent):
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, f"no messages within 10 s; got {received}"
            for records in batches.values():
                received.extend(record.value for record in records if record.value is not None)
    finally:
        await consumer.stop()
    assert received == sent


@pytest.mark.kafka
def test_kafka_bootstrap_is_loopback(kafka_broker: KafkaBroker) -> None:
    host, port = kafka_broker.bootstrap.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert kafka_broker.running
    assert kafka_broker.startup_seconds > 0


@pytest.mark.postgres
def test_postgres_query(postgres_server: PostgresServer) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"services_{uuid.uuid4().hex[:8]}"
    url = postgres_server.create_database(name)
    parsed = make_url(url)
    assert parsed.drivername == "postgresql+psycopg"
    assert (parsed.host, parsed.database) == ("127.0.0.1", name)

    with psycopg.connect(postgres_server.conninfo(name)) as connection:
        connection.execute("CREATE TABLE sensor (id text PRIMARY KEY, value double precision)")
        connection.execute("INSERT INTO sensor VALUES ('humidity-1', 61.5), ('humidity-2', 58.0)")
        row = connection.execute(
            "SELECT count(*), max(value), current_database() FROM sensor"
        ).fetchone()
    assert row == (2, 61.5, name)


@pytest.mark.postgres
def test_postgres_url_works_with_sqlalchemy(postgres_server: PostgresServer) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_server.create_database(f"services_{uuid.uuid4().hex[:8]}"))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1 + 1")).scalar() == 2
    finally:
        engine.dispose()


@pytest.mark.kafka
async def test_kafka_outage_and_restart_keep_data(kafka_broker: KafkaBroker) -> None:
    """stop_broker() is an outage (port closed); restart() brings back the same data and port."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition

    from tests.services.ports import port_open

    topic = f"services.restart.{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"before the outage")
    finally:
        await producer.stop()

    bootstrap = kafka_broker.bootstrap
    await kafka_broker.astop_broker()
    assert not kafka_broker.running and not port_open(kafka_broker.port)
    await kafka_broker.arestart()
    assert kafka_broker.bootstrap == bootstrap and kafka_broker.running
    assert kafka_broker.restart_seconds is not None

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        record = await asyncio.wait_for(consumer.getone(), timeout=15)
    finally:
        await consumer.stop()
    assert record.value == b"before the outage"
