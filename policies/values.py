"""XSD dates, times and durations, and German regional keys, as the evaluator needs them.

Policies compare instants, so every date-time here ends up timezone-aware: a value without
a zone is read as UTC (ODRL recommends zones; municipalities rarely write them).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_DURATION = re.compile(
    r"(-)?P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?!$)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}(?:Z|[+-]\d{2}:\d{2})?")
_DIGITS = re.compile(r"\d{2,12}")


@dataclass(frozen=True, slots=True)
class Duration:
    """An xsd:duration: calendar months and an exact remainder, added in that order."""

    months: int
    rest: timedelta

    def after(self, start: datetime) -> datetime:
        """The instant this long after `start` (month ends clamp: Jan 31 + P1M = Feb 28)."""
        if self.months:
            total = start.year * 12 + start.month - 1 + self.months
            year, month = divmod(total, 12)
            day = min(start.day, calendar.monthrange(year, month + 1)[1])
            start = start.replace(year=year, month=month + 1, day=day)
        return start + self.rest


def parse_duration(text: str) -> Duration:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not an xsd:duration: {text!r}")
    sign, years, months, weeks, days, hours, minutes, seconds = match.groups()
    factor = -1 if sign else 1
    rest = timedelta(
        weeks=int(weeks or 0),
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=float(seconds or 0),
    )
    return Duration(factor * (int(years or 0) * 12 + int(months or 0)), factor * rest)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_datetime(text: str) -> datetime:
    """xsd:dateTime (seconds optional, `Z` or offset) as an aware datetime."""
    return aware(datetime.fromisoformat(text.strip()))


def parse_date_or_datetime(text: str) -> date | datetime:
    """A bare xsd:date stays a date (it means the whole day); anything else is an instant."""
    text = text.strip()
    if _DATE_ONLY.fullmatch(text):
        return date.fromisoformat(text[:10])
    return parse_datetime(text)


_AGS_LEVELS = frozenset({2, 3, 5, 8})
_ARS_LEVELS = frozenset({2, 3, 5, 9, 12})


def region_code(value: str) -> str | None:
    """The AGS/ARS digits of a code or of a region IRI (last path segment), else None.

    `01054` and `http://dcat-ap.de/def/politicalGeocoding/districtKey/01054` are the same
    region; an IRI that does not end in a regional key is compared as an IRI.
    """
    tail = value.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].rsplit(":", 1)[-1]
    if _DIGITS.fullmatch(tail) and len(tail) in _AGS_LEVELS | _ARS_LEVELS:
        return tail
    return None


def region_within(inner: str, outer: str) -> bool:
    """Is region `inner` part of (or equal to) region `outer`?

    Both AGS (Land 2, Regierungsbezirk 3, Kreis 5, Gemeinde 8 digits) and ARS (..., Amt or
    Verband 9, Gemeinde 12) nest by prefix, but only within one scheme beyond the Kreis:
    an 8-digit AGS is not a prefix-relative of a 9- or 12-digit ARS.
    """
    inner_code, outer_code = region_code(inner), region_code(outer)
    if inner_code is None or outer_code is None:
        return inner == outer
    if not inner_code.startswith(outer_code):
        return False
    if len(outer_code) <= 5:
        return True
    scheme = _AGS_LEVELS if len(outer_code) == 8 else _ARS_LEVELS
    return len(inner_code) in scheme and (len(outer_code) == 8) == (len(inner_code) == 8)
