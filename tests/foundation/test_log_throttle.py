"""A failure that repeats is logged when it starts, summarised with its duration and retry
count, and counted one by one in Prometheus: a broker outage no longer floods the log."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from allmende.node import logs
from allmende.node.federation.feed import CommitSignal
from allmende.node.federation.kafka_transport import KafkaRelay
from allmende.node.http.app import create_app
from allmende.node.logs import Repeated, RepeatFilter, retry_counts
from tests.support import make_node


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The node's own log set-up (as `allmende serve` has it), writing into a buffer."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    logs.configure(stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the probe is closed


def test_a_repeated_failure_is_logged_once_then_summarised(captured: io.StringIO) -> None:
    clock, counts = Clock(), Counter[str]()
    trouble = Repeated(logging.getLogger("test"), "broker", counts=counts, every=30, clock=clock)
    for _ in range(412):
        trouble.failure("connection refused")
        clock.now += 0.08
    trouble.success()
    trouble.success()  # nothing more to say
    records = lines(captured)
    assert len(records) == 3, records  # started, one summary after 30 s, works again
    assert "broker failed: connection refused" in str(records[0]["message"])
    assert "still failing" in str(records[1]["message"])
    assert "failing for 33 s, 412 retries" in str(records[2]["message"])
    assert counts["broker"] == 412


def test_library_messages_repeat_once_per_interval() -> None:
    clock = Clock()
    repeats = RepeatFilter(every=60, clock=clock)
    log = logging.getLogger("aiokafka-like")

    def record() -> logging.LogRecord:
        return log.makeRecord(log.name, logging.ERROR, __file__, 1, "Unable connect", (), None)

    passed = []
    for i in range(1000):
        clock.now = 1000 + i * 0.1
        if repeats.filter(entry := record()):
            passed.append(entry)
    assert len(passed) == 2  # the first, and one 60 s later with the count of the rest
    assert str(passed[1].msg) == "Unable connect (and 599 more like it in the last 60 s)"


async def test_a_broker_outage_writes_a_handful_of_lines(
    tmp_path: Path, captured: io.StringIO
) -> None:
    node = make_node(
        tmp_path,
        environ={
            "ALLMENDE_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port()}",
            "ALLMENDE_FEDERATION_RETRY_INTERVAL": "0.05",
        },
    )
    app = create_app(node)
    captured.seek(0)
    captured.truncate()  # from here on: the outage
    relay = KafkaRelay(node, CommitSignal())
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(60):
            while retry_counts(node)["Kafka relay"] < 30:  # wait for many retries
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    retries = app["metrics"].registry.get_sample_value(
        "allmende_retries_total", {"operation": "Kafka relay"}
    )
    held = app["metrics"].registry.get_sample_value(
        "allmende_log_repeats_held_total", {"logger": "aiokafka"}
    )
    records = lines(captured)
    assert retries is not None and retries >= 30
    assert held is not None and held >= 29  # aiokafka's own line of each failed connect
    assert len(records) <= 6, [r["message"] for r in records]
    summary = str(records[-1]["message"])
    assert summary.startswith("Kafka relay stopped while failing: failing for ")
    assert f" s, {int(retries)} retries" in summary
    node.close()


async def test_waiting_for_the_broker_at_start_is_counted_and_summarised(
    tmp_path: Path, captured: io.StringIO, aiohttp_client: Any
) -> None:
    """Creating the topics at start retries until the broker is there: no longer silently."""
    node = make_node(
        tmp_path,
        environ={
            "ALLMENDE_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port()}",
            "ALLMENDE_FEDERATION_RETRY_INTERVAL": "0.05",
        },
    )
    captured.seek(0)
    captured.truncate()
    client = await aiohttp_client(create_app(node, close_node=True))
    async with asyncio.timeout(60):
        while retry_counts(node)["Kafka topics"] < 10:
            await asyncio.sleep(0.05)
    metrics = await (await client.get("/metrics")).text()
    assert 'allmende_retries_total{operation="Kafka topics"}' in metrics
    ours = [r for r in lines(captured) if "Kafka topics" in str(r["message"])]
    assert len(ours) == 1 and "retrying; repeats are summarised" in str(ours[0]["message"])


def test_different_errors_are_not_held_back_as_repeats() -> None:
    repeats = RepeatFilter(every=60, clock=Clock())
    log = logging.getLogger("node-like")

    def record(text: str, error: Exception) -> logging.LogRecord:
        info = (type(error), error, None)
        return log.makeRecord(log.name, logging.ERROR, __file__, 1, "%s", (text,), info)

    assert repeats.filter(record("unhandled error", KeyError("a")))
    assert repeats.filter(record("unhandled error", ValueError("b")))
    assert repeats.filter(record("could not reach peer A", ValueError("b")))
    assert not repeats.filter(record("could not reach peer A", ValueError("b")))
