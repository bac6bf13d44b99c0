"""CSV open-data tables -> observations, streamed.

A table has a header row; a `CsvMapping` says which column is the time, which names the
sensor (or which single sensor the whole table belongs to) and which columns become
which fields. Tables are read record by record and handed out in chunks of at most
`chunk_size` observations, so a 1 GB file never sits in memory: from a file object
(`iter_csv_observations`) or from an async stream of byte chunks, e.g. an HTTP upload
(`aiter_csv_observations`).

Rows are numbered as a spreadsheet shows them (the header is row 1) and problems name
`/rows/<row>/<column>`. Empty cells are missing readings and skipped. Numeric cells
become numbers (with `decimalComma`, `12,5` is 12.5); other cells stay strings, and the
device mapping decides their datatype. A line longer than `max_line` characters or
undecodable bytes end the reading with an `unreadable` problem.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from allmende.connectors.model import (
    NO_PROVENANCE,
    ConnectorResult,
    Observation,
    PayloadRejected,
    Rejection,
    canonical_device_id,
    value_problem,
)
from allmende.connectors.validation import check
from allmende.vocab.messages import say

SCHEMA = "csv_table.schema.json"
SOURCE = "csv"
MAX_LINE = 1 << 20
MAX_COLUMNS = 1024
_INT = re.compile(r"[+-]?\d{1,18}\Z", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d{1,3})?\Z", re.ASCII)
_FLOAT_COMMA = re.compile(r"[+-]?(?:\d+,\d*|,\d+)\Z", re.ASCII)


class _Unreadable(Exception):
    """The table cannot be read on from here (overlong line, bad bytes, broken quoting)."""


@dataclass(frozen=True)
class CsvMapping:
    """How a table's columns become observations (see `csv_table.schema.json`)."""

    time_column: str
    columns: Mapping[str, str]
    sensor_column: str | None = None
    sensor: str | None = None
    delimiter: str = ","
    decimal_comma: bool = False
    encoding: str = "utf-8-sig"
    timezone: str | None = None
    time_format: str | None = None
    source: str = SOURCE

    def __post_init__(self) -> None:
        if (self.sensor_column is None) == (self.sensor is None):
            raise ValueError("give either sensor_column or sensor")
        if not self.columns:
            raise ValueError("map at least one column")
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"unknown time zone {self.timezone!r}") from error

    @classmethod
    def from_json(cls, data: Any) -> CsvMapping:
        """A mapping from its JSON form; raises `PayloadRejected` if that is invalid."""
        check(data, SCHEMA)
        try:
            return cls(
                time_column=data["timeColumn"],
                columns=dict(data["columns"]),
                sensor_column=data.get("sensorColumn"),
                sensor=data.get("sensor"),
                delimiter=data.get("delimiter", ","),
                decimal_comma=data.get("decimalComma", False),
                encoding=data.get("encoding", "utf-8-sig"),
                timezone=data.get("timezone"),
                time_format=data.get("timeFormat"),
            )
        except ValueError as error:
            raise PayloadRejected([Rejection("/timezone", str(error), "schema")]) from error


class _Table:
    """Turns records into observations and cuts them into chunks; the input side
    (file object or async byte stream) only has to deliver records."""

    def __init__(self, mapping: CsvMapping, chunk_size: int) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        self.mapping = mapping
        self.chunk_size = chunk_size
        self.zone: tzinfo | None = ZoneInfo(mapping.timezone) if mapping.timezone else None
        self.row = 0
        self.header: list[str] | None = None
        self.time_index = 0
        self.sensor_index: int | None = None
        self.value_columns: list[tuple[int, str, str]] = []
        self.observations: list[Observation] = []
        self.rejections: list[Rejection] = []
        self.devices: dict[str, str] = {}

    def feed(self, cells: list[str]) -> ConnectorResult | None:
        """Take one record; return a full chunk when one is ready."""
        self.row += 1
        if self.header is None:
            self._read_header(cells)
        elif cells:
            self._read_row(cells)
        if len(self.observations) + len(self.rejections) >= self.chunk_size:
            return self.take()
        return None

    def take(self) -> ConnectorResult | None:
        if not self.observations and not self.rejections:
            return None
        result = ConnectorResult(tuple(self.observations), tuple(self.rejections))
        self.observations, self.rejections = [], []
        return result

    def fail(self, reason: str) -> ConnectorResult:
        self.rejections.append(Rejection(f"/rows/{self.row + 1}", reason, "unreadable"))
        result = ConnectorResult(tuple(self.observations), tuple(self.rejections))
        self.observations, self.rejections = [], []
        return result

    def _read_header(self, cells: list[str]) -> None:
        if len(cells) > MAX_COLUMNS:
            raise PayloadRejected([Rejection("/rows/1", say("too many columns"), "schema")])
        header = [cell.strip() for cell in cells]
        wanted = [self.mapping.time_column, *self.mapping.columns]
        if self.mapping.sensor_column is not None:
            wanted.append(self.mapping.sensor_column)
        missing = [name for name in wanted if name not in header]
        if missing:
            shown = ", ".join(repr(name[:64]) for name in missing[:5])
            raise PayloadRejected(
                [Rejection("/rows/1", say("missing columns: %(shown)s", shown=shown), "schema")]
            )
        self.header = header
        self.time_index = header.index(self.mapping.time_column)
        if self.mapping.sensor_column is not None:
            self.sensor_index = header.index(self.mapping.sensor_column)
        self.value_columns = [
            (header.index(column), column, field) for column, field in self.mapping.columns.items()
        ]

    def _read_row(self, cells: list[str]) -> None:
        assert self.header is not None
        at = f"/rows/{self.row}"
        if len(cells) != len(self.header):
            reason = say(
                "%(cells)s cells where the header has %(columns)s",
                cells=len(cells),
                columns=len(self.header),
            )
            self.rejections.append(Rejection(at, reason, "bad-row"))
            return
        if self.sensor_index is None:
            device = self.mapping.sensor or ""
        else:
            device = cells[self.sensor_index].strip()
            if not device or len(device) > 128:
                where = f"{at}/{self.mapping.sensor_column}"
                self.rejections.append(Rejection(where, say("no usable sensor id"), "bad-row"))
                return
        device = self._device(device)
        try:
            result_time = self._time(cells[self.time_index].strip())
        except ValueError as error:
            where = f"{at}/{self.mapping.time_column}"
            self.rejections.append(Rejection(where, str(error)[:200], "bad-time"))
            return
        for index, column, field in self.value_columns:
            text = cells[index].strip()
            if not text:
                continue
            value = self._value(text)
            problem = value_problem(value) if not isinstance(value, int) else None
            if problem is not None:
                self.rejections.append(Rejection(f"{at}/{column}", problem, "bad-value"))
                continue
            self.observations.append(
                Observation(
                    device_id=device,
                    field=field,
                    value=value,
                    result_time=result_time,
                    source=self.mapping.source,
                    provenance=NO_PROVENANCE,
                    path=f"{at}/{column}",
                )
            )

    def _device(self, text: str) -> str:
        """Canonical device ids, cached: tables repeat a handful of stations."""
        device = self.devices.get(text)
        if device is None:
            if len(self.devices) > 10_000:
                self.devices.clear()
            device = self.devices[text] = canonical_device_id(text)
        return device

    def _time(self, text: str) -> datetime:
        if not text or len(text) > 64:
            raise ValueError("no usable time")
        fmt = self.mapping.time_format
        moment = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
        if moment.tzinfo is None:
            if self.zone is None:
                raise ValueError("time without offset, and the mapping names no timezone")
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(UTC)

    def _value(self, text: str) -> float | int | str:
        if _INT.match(text):
            return int(text)
        if self.mapping.decimal_comma:
            if _FLOAT_COMMA.match(text):
                return float(text.replace(",", "."))
        elif _FLOAT.match(text):
            return float(text)
        return text


def _dialect(mapping: CsvMapping) -> dict[str, Any]:
    return {"delimiter": mapping.delimiter, "quotechar": '"', "strict": True}


def _bounded_lines(text: IO[str], max_line: int) -> Iterator[str]:
    while line := text.readline(max_line + 1):
        if len(line) > max_line:
            raise _Unreadable(f"a line is longer than {max_line} characters")
        yield line


def iter_csv_observations(
    stream: IO[bytes] | IO[str],
    mapping: CsvMapping,
    chunk_size: int = 5000,
    *,
    max_line: int = MAX_LINE,
) -> Iterator[ConnectorResult]:
    """Chunks of observations from a binary (decoded with `mapping.encoding`) or text
    file object. Raises `PayloadRejected` before the first chunk if the header does not
    fit the mapping; the stream is left open."""
    table = _Table(mapping, chunk_size)
    binary = not isinstance(stream, io.TextIOBase)
    text: IO[str] = (
        io.TextIOWrapper(stream, encoding=mapping.encoding, newline="")  # type: ignore[type-var]
        if binary
        else stream  # type: ignore[assignment]
    )
    try:
        reader = csv.reader(_bounded_lines(text, max_line), **_dialect(mapping))
        for cells in reader:
            ready = table.feed(cells)
            if ready is not None:
                yield ready
    except (_Unreadable, csv.Error, UnicodeDecodeError) as error:
        yield table.fail(_unreadable(error))
        return
    finally:
        if binary and isinstance(text, io.TextIOWrapper):
            text.detach()
    rest = table.take()
    if rest is not None:
        yield rest


async def aiter_csv_observations(
    chunks: AsyncIterable[bytes],
    mapping: CsvMapping,
    chunk_size: int = 5000,
    *,
    max_line: int = MAX_LINE,
) -> AsyncIterator[ConnectorResult]:
    """As `iter_csv_observations`, from an async stream of byte chunks (an upload).

    Records are cut at line ends outside quotes (RFC 4180 quoting with `"`), so a
    quoted cell may span lines and chunks; a pending record longer than `max_line`
    characters ends the reading."""
    table = _Table(mapping, chunk_size)
    decoder = codecs.getincrementaldecoder(mapping.encoding)()
    pending = ""
    try:
        async for chunk in chunks:
            pending += decoder.decode(chunk)
            complete, pending = _split_records(pending)
            if len(pending) > max_line:
                raise _Unreadable(f"a line is longer than {max_line} characters")
            for ready in _feed_text(table, complete, mapping):
                yield ready
        pending += decoder.decode(b"", final=True)
        for ready in _feed_text(table, pending, mapping):
            yield ready
    except (_Unreadable, csv.Error, UnicodeDecodeError) as error:
        yield table.fail(_unreadable(error))
        return
    rest = table.take()
    if rest is not None:
        yield rest


def _feed_text(table: _Table, text: str, mapping: CsvMapping) -> Iterable[ConnectorResult]:
    if not text:
        return
    for cells in csv.reader(io.StringIO(text, newline=""), **_dialect(mapping)):
        ready = table.feed(cells)
        if ready is not None:
            yield ready


def _split_records(text: str) -> tuple[str, str]:
    """(whole records, the unfinished rest): cut after the last newline that has an even
    number of quote characters before it, i.e. that lies outside any quoted cell."""
    cut = position = quotes = 0
    while (newline := text.find("\n", position)) >= 0:
        quotes += text.count('"', position, newline + 1)
        position = newline + 1
        if quotes % 2 == 0:
            cut = position
    return text[:cut], text[cut:]


def _unreadable(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"bytes that are not {error.encoding}"
    return str(error)[:200]
