"""CloudEvents 1.0 envelopes (JSON format) as plain dicts, ready for JCS and signing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

EVENT_PREFIX = "de.allmende."
SPEC_VERSION = "1.0"
REQUIRED = ("specversion", "id", "source", "type")


def now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, so that every node writes the same string."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_event(
    source: str,
    type: str,
    data: Any,
    *,
    subject: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Build an envelope; `type` without the reverse-DNS prefix gets it added."""
    event: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": type if type.startswith(EVENT_PREFIX) else EVENT_PREFIX + type,
        "time": format_time(time or now()),
        "datacontenttype": "application/json",
        "data": data,
    }
    if subject is not None:
        event["subject"] = subject
    return event


def check_envelope(event: Any) -> None:
    """Reject what is not a CloudEvents 1.0 JSON envelope before anything else looks at it."""
    if not isinstance(event, dict):
        raise ValueError("an event must be a JSON object")
    for name in REQUIRED:
        if not isinstance(event.get(name), str) or not event[name]:
            raise ValueError(f"event attribute {name!r} is missing or not a string")
    if event["specversion"] != SPEC_VERSION:
        raise ValueError("only CloudEvents specversion 1.0 is accepted")
    if "time" in event:
        parse_time(event["time"])


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("event time must be an RFC 3339 string")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("event time needs a time zone")
    return moment
