"""Structured JSON logs on stderr: one object a line, for journald and log shippers.

A failure that repeats (a broker away, a peer down) is logged when it starts, summarised
while it lasts and once more when it ends ("broker unreachable for 33 s, 412 retries"), not
once per retry: a 33 s Kafka outage used to write ~85,000 lines, burying everything else.
The counts themselves go to Prometheus (`allmende_retries`), where nothing is summarised.
"""

from __future__ import annotations

import logging
import sys
import time
import weakref
from collections import Counter
from collections.abc import Callable
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

SUMMARY_EVERY = 60.0
"""Seconds between two summaries of a failure that goes on (and between two lines of a
repeating library message)."""

_counts: weakref.WeakKeyDictionary[Any, Counter[str]] = weakref.WeakKeyDictionary()
HELD: Counter[str] = Counter()
"""Library log lines held back as repeats, per logger, in this process (for the metrics)."""


def retry_counts(owner: Any) -> Counter[str]:
    """Retries per operation of one node (`owner`), for its metrics."""
    counts = _counts.get(owner)
    if counts is None:
        counts = _counts[owner] = Counter()
    return counts


class Repeated:
    """One retried operation's failures, logged once with a count and then summarised.

    `failure()` on each failed attempt, `success()` when the operation works again (cheap
    when nothing failed), `stopped()` when the retry loop ends for good."""

    def __init__(
        self,
        logger: logging.Logger,
        operation: str,
        *,
        counts: Counter[str] | None = None,
        every: float = SUMMARY_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.operation = operation
        self.counts = counts if counts is not None else Counter()
        self.every = every
        self.clock = clock
        self.since: float | None = None
        self.retries = 0
        self.last_error = ""
        self._summarised = 0.0

    @property
    def failing(self) -> bool:
        return self.since is not None

    def failure(self, error: str) -> None:
        now = self.clock()
        self.counts[self.operation] += 1
        self.last_error = error[:300]
        if self.since is None:
            self.since, self._summarised, self.retries = now, now, 1
            self.logger.warning(
                "%s failed: %s (retrying; repeats are summarised)",
                self.operation,
                self.last_error,
                extra={"operation": self.operation, "retries": 1},
            )
            return
        self.retries += 1
        if now - self._summarised >= self.every:
            self._summarised = now
            self._summary(logging.WARNING, "still failing", now)

    def success(self) -> None:
        if self.since is not None:
            self._summary(logging.WARNING, "works again", self.clock())
            self.since = None

    def stopped(self) -> None:
        if self.since is not None:
            self._summary(logging.WARNING, "stopped while failing", self.clock())
            self.since = None

    def _summary(self, level: int, state: str, now: float) -> None:
        assert self.since is not None
        seconds = now - self.since
        self.logger.log(
            level,
            "%s %s: failing for %.0f s, %d retries; last error: %s",
            self.operation,
            state,
            seconds,
            self.retries,
            self.last_error,
            extra={
                "operation": self.operation,
                "retries": self.retries,
                "failing_seconds": round(seconds, 1),
            },
        )


class RepeatFilter(logging.Filter):
    """For libraries that log every failed attempt themselves (aiokafka does so many times a
    second while a broker is away): the same text from the same logger (and the same
    exception, if any), at WARNING or above, passes once per `every` seconds, carrying how
    many were held back since."""

    def __init__(self, every: float = SUMMARY_EVERY, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.every = every
        self.clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or getattr(record, "retries", None) is not None:
            return True
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:  # one bug is not another
            text += f"|{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        key = (record.name, record.levelno, text)
        now = self.clock()
        shown = self._seen.get(key)
        if shown is not None and now - shown[0] < self.every:
            self._seen[key] = (shown[0], shown[1] + 1)
            HELD[record.name] += 1
            return False
        since, held = shown if shown is not None else (now, 0)
        if len(self._seen) > 10_000:  # messages with ever-new text: forget, do not grow
            self._seen.clear()
        self._seen[key] = (now, 0)
        if held:
            record.repeated = held
            record.msg = f"{record.msg} (and {held} more like it in the last {now - since:.0f} s)"
        return True


def configure(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return handler
