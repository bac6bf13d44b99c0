"""Allmende's own generic JSON observation batch -> observations.

For gateways, scripts and platforms that are neither TTS nor ChirpStack. The format
(`generic.schema.json`)::

    {"observations": [
        {"sensor": "<device id>", "property": "<field>", "value": 21.5,
         "time": "2024-05-01T10:00:00Z", "phenomenonTime": "2024-05-01T09:59:30Z"}
    ]}

At most `MAX_BATCH` (10,000) observations per request; split larger uploads. `time` is
the result time, `phenomenonTime` (optional) when the value was measured; both need an
offset. Unknown members are refused, so a misspelt `phenomenonTime` is not lost quietly.
"""

from __future__ import annotations

from typing import Any

from allmende.connectors.model import (
    ConnectorResult,
    Observation,
    Rejection,
    canonical_device_id,
    parse_time,
    value_problem,
)
from allmende.connectors.validation import check

SCHEMA = "generic.schema.json"
SOURCE = "json"
MAX_BATCH = 10_000


def parse(payload: Any, *, source: str = SOURCE) -> ConnectorResult:
    """Observations from a generic batch; raises `PayloadRejected` on schema violations.
    Entries with an impossible time or value are reported, the rest accepted."""
    check(payload, SCHEMA)
    observations: list[Observation] = []
    rejections: list[Rejection] = []
    for index, item in enumerate(payload["observations"]):
        at = f"/observations/{index}"
        problem = value_problem(item["value"])
        if problem is not None:
            rejections.append(Rejection(at + "/value", problem, "bad-value"))
            continue
        try:
            result_time = parse_time(item["time"])
        except ValueError as error:
            rejections.append(Rejection(at + "/time", str(error), "bad-time"))
            continue
        phenomenon = item.get("phenomenonTime")
        try:
            phenomenon_time = parse_time(phenomenon) if phenomenon is not None else None
        except ValueError as error:
            rejections.append(Rejection(at + "/phenomenonTime", str(error), "bad-time"))
            continue
        observations.append(
            Observation(
                device_id=canonical_device_id(item["sensor"]),
                field=item["property"],
                value=item["value"],
                result_time=result_time,
                source=source,
                phenomenon_time=phenomenon_time,
                path=at,
            )
        )
    return ConnectorResult(tuple(observations), tuple(rejections))
