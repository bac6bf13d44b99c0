"""CSV open-data tables -> observations, streamed in bounded memory."""

from __future__ import annotations

import asyncio
import io
import random
import tracemalloc
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from connector_support import PAYLOADS, load_payload

from allmende.connectors.csv_table import CsvMapping, aiter_csv_observations, iter_csv_observations
from allmende.connectors.model import (
    ConnectorResult,
    Observation,
    PayloadRejected,
    Rejection,
    parse_time,
)

PEGEL = "sample-luetjenholm-pegel-01"


def pegel_mapping() -> CsvMapping:
    return CsvMapping.from_json(load_payload("pegel.mapping.json"))


def collect(results: Iterable[ConnectorResult]) -> ConnectorResult:
    observations: list[Observation] = []
    rejections: list[Rejection] = []
    for result in results:
        observations.extend(result.observations)
        rejections.extend(result.rejections)
    return ConnectorResult(tuple(observations), tuple(rejections))


async def chunked(data: bytes, sizes: Iterable[int]) -> AsyncIterator[bytes]:
    position = 0
    for size in sizes:
        if position >= len(data):
            break
        yield data[position : position + size]
        position += size
        await asyncio.sleep(0)
    if position < len(data):
        yield data[position:]


async def acollect(results: AsyncIterator[ConnectorResult]) -> ConnectorResult:
    return collect([result async for result in results])


def test_sample_table_becomes_its_observations_and_row_problems() -> None:
    with (PAYLOADS / "pegel.csv").open("rb") as stream:
        result = collect(iter_csv_observations(stream, pegel_mapping()))
        assert not stream.closed

    def at(local: str) -> datetime:  # Europe/Berlin is UTC+2 in May
        return parse_time(local + "+02:00")

    assert list(result.observations) == [
        Observation(PEGEL, "water_level", 87.5, at("2024-05-14T10:00:00"), "csv"),
        Observation(PEGEL, "battery", 3.55, at("2024-05-14T10:00:00"), "csv"),
        Observation(PEGEL, "water_level", 88.0, at("2024-05-14T10:15:00"), "csv"),
        Observation(PEGEL, "battery", 3.55, at("2024-05-14T10:15:00"), "csv"),
        Observation(PEGEL, "battery", 3.54, at("2024-05-14T10:30:00"), "csv"),
    ]
    assert result.observations[0].path == "/rows/2/Wasserstand_cm"
    assert [(r.path, r.code) for r in result.rejections] == [
        ("/rows/5", "bad-row"),
        ("/rows/6/Zeitpunkt", "bad-time"),
    ]


def test_text_streams_and_single_sensor_tables() -> None:
    mapping = CsvMapping(
        time_column="time", sensor="station-7", columns={"level": "water_level", "note": "note"}
    )
    text = 'time,level,note\n2024-05-14T10:00:00Z,12,"ok, ""dry"""\n2024-05-14T10:15:00Z,1e2,x\n'
    result = collect(iter_csv_observations(io.StringIO(text), mapping))
    assert [(o.device_id, o.field, o.value) for o in result.observations] == [
        ("station-7", "water_level", 12),
        ("station-7", "note", 'ok, "dry"'),
        ("station-7", "water_level", 100.0),
        ("station-7", "note", "x"),
    ]


def test_times_without_offset_need_a_timezone() -> None:
    mapping = CsvMapping(time_column="t", sensor="s", columns={"v": "v"})
    result = collect(iter_csv_observations(io.StringIO("t,v\n2024-05-14 10:00,1\n"), mapping))
    assert [r.code for r in result.rejections] == ["bad-time"]


def test_chunks_hold_at_most_chunk_size_entries() -> None:
    with (PAYLOADS / "pegel.csv").open("rb") as stream:
        chunks = list(iter_csv_observations(stream, pegel_mapping(), chunk_size=2))
    assert [len(c.observations) + len(c.rejections) for c in chunks] == [2, 2, 2, 1]


def test_header_that_does_not_fit_the_mapping_is_refused() -> None:
    mapping = CsvMapping(time_column="Zeit", sensor="s", columns={"Stand": "water_level"})
    with pytest.raises(PayloadRejected) as caught:
        list(iter_csv_observations(io.BytesIO(b"Zeitpunkt;Stand\n"), mapping))
    assert "'Zeit'" in caught.value.rejections[0].reason


@pytest.mark.parametrize(
    "mapping",
    [
        {"timeColumn": "t", "columns": {"v": "v"}},
        {"timeColumn": "t", "sensor": "s", "sensorColumn": "id", "columns": {"v": "v"}},
        {"timeColumn": "t", "sensor": "s", "columns": {}},
        {"timeColumn": "t", "sensor": "s", "columns": {"v": "v"}, "delimiter": "x"},
        {"timeColumn": "t", "sensor": "s", "columns": {"v": "v"}, "timezone": "Mars/Olympus"},
    ],
    ids=["no-sensor", "two-sensors", "no-columns", "delimiter", "timezone"],
)
def test_invalid_mappings_are_refused(mapping: dict[str, object]) -> None:
    with pytest.raises(PayloadRejected):
        CsvMapping.from_json(mapping)


def test_overlong_lines_and_bad_bytes_end_the_reading() -> None:
    mapping = CsvMapping(time_column="t", sensor="s", columns={"v": "v"})
    data = b"t,v\n2024-05-14T10:00:00Z,1\n2024-05-14T10:15:00Z," + b"9" * 5000 + b"\nnever,read\n"
    result = collect(iter_csv_observations(io.BytesIO(data), mapping, max_line=1000))
    assert len(result.observations) == 1
    assert [(r.path, r.code) for r in result.rejections] == [("/rows/3", "unreadable")]
    broken = collect(iter_csv_observations(io.BytesIO(b"t,v\n\xff\xfe,1\n"), mapping))
    assert [r.code for r in broken.rejections] == ["unreadable"]


def test_async_stream_gives_the_same_result_for_any_chunking() -> None:
    mapping = CsvMapping(
        time_column="t", sensor_column="id", columns={"v": "value", "n": "note"}, delimiter=";"
    )
    rows = ["id;t;v;n"] + [
        f'dev-{i % 3};2024-05-14T10:{i % 60:02d}:00Z;{i},5;"line one\nline ""two"";{i}"'
        if i % 7 == 0
        else f"dev-{i % 3};2024-05-14T10:{i % 60:02d}:00Z;{i};Grüße"
        for i in range(300)
    ]
    data = ("\r\n".join(rows) + "\r\n").encode("utf-8")
    expected = collect(iter_csv_observations(io.BytesIO(data), mapping, chunk_size=50))
    assert len(expected.observations) == 600
    assert expected.observations[1].value == 'line one\nline "two";0'
    generator = random.Random(7)
    for _ in range(5):
        sizes = [generator.randint(1, 97) for _ in range(len(data))]
        actual = asyncio.run(
            acollect(aiter_csv_observations(chunked(data, sizes), mapping, chunk_size=50))
        )
        assert actual == expected


def test_async_stream_reports_overlong_records() -> None:
    mapping = CsvMapping(time_column="t", sensor="s", columns={"v": "v"})
    data = b't,v\n2024-05-14T10:00:00Z,"' + b"x" * 5000
    result = asyncio.run(
        acollect(aiter_csv_observations(chunked(data, [100] * 100), mapping, max_line=1000))
    )
    assert [r.code for r in result.rejections] == ["unreadable"]


class CountingReader(io.RawIOBase):
    """A binary file that remembers how far it has been read."""

    def __init__(self, inner: io.BufferedReader) -> None:
        self.inner = inner
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self.inner.readinto(buffer)
        self.consumed += count
        return count


def test_large_table_streams_in_bounded_memory(tmp_path: Path) -> None:
    # 60k rows rather than more: tracemalloc slows every allocation about eightfold.
    rows = 60_000
    path = tmp_path / "pegel-gross.csv"
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Zeitpunkt,Wasserstand_cm\n")
        for i in range(rows):
            out.write(f"{(start + timedelta(minutes=15 * i)).isoformat()},{80 + i % 40}.5\n")
    size = path.stat().st_size
    mapping = CsvMapping(time_column="Zeitpunkt", sensor=PEGEL, columns={"Wasserstand_cm": "w"})

    tracemalloc.start()
    try:
        count = 0
        with path.open("rb") as raw:
            stream = CountingReader(raw)
            chunks = iter_csv_observations(io.BufferedReader(stream), mapping, chunk_size=1000)
            for index, chunk in enumerate(chunks):
                if index == 0:  # the first chunk comes after reading a little, not the file
                    assert stream.consumed < size // 10
                count += len(chunk.observations)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == rows
    # chunks of 1000 observations, never the whole table (some 30 MB as objects)
    assert peak < min(size // 3, 1024 * 1024), f"peak {peak / 1e6:.1f} MB for {size / 1e6:.1f} MB"
