"""Allmende's generic JSON observation batch -> observations."""

from __future__ import annotations

from typing import Any

import pytest
from connector_support import load_payload

from allmende.connectors import generic, validation
from allmende.connectors.model import Observation, PayloadRejected, parse_time
from allmende.connectors.validation import load_schema


@pytest.fixture(params=validation.BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(validation, "BACKENDS", (request.param,))
    return str(request.param)


def entry(**changes: Any) -> dict[str, Any]:
    return {
        "sensor": "s-1",
        "property": "power",
        "value": 1.5,
        "time": "2024-05-14T20:45:00Z",
    } | changes


def test_sample_batch_becomes_its_observations() -> None:
    result = generic.parse(load_payload("generic-batch.json"))
    device = "sample-luetjenholm-leuchte-12"
    at = parse_time("2024-05-14T20:45:00Z")
    assert list(result.observations) == [
        Observation(device, "lamp_on", True, at, "json"),
        Observation(device, "dim_level", 70, at, "json"),
        Observation(device, "power", 38.5, at, "json", parse_time("2024-05-14T20:44:30Z")),
        Observation(device, "energy", 1234.56, at, "json"),
    ]
    assert result.rejections == ()


def test_source_can_be_named() -> None:
    result = generic.parse({"observations": [entry()]}, source="gateway-feuerwehr")
    assert result.observations[0].source == "gateway-feuerwehr"


def test_impossible_times_are_reported_per_entry() -> None:
    result = generic.parse(
        {
            "observations": [
                entry(time="2024-02-30T00:00:00Z"),
                entry(phenomenonTime="2024-13-01T00:00:00Z"),
                entry(),
            ]
        }
    )
    assert len(result.observations) == 1
    assert [(r.path, r.code) for r in result.rejections] == [
        ("/observations/0/time", "bad-time"),
        ("/observations/1/phenomenonTime", "bad-time"),
    ]


def test_non_finite_numbers_never_become_observations() -> None:
    try:
        result = generic.parse({"observations": [entry(value=float("nan")), entry()]})
    except PayloadRejected:
        return  # refused by the schema: JSON has no NaN
    assert len(result.observations) == 1
    assert result.rejections[0].code == "bad-value"


def test_documented_batch_size_is_the_schema_limit() -> None:
    schema = load_schema(generic.SCHEMA)
    assert schema["properties"]["observations"]["maxItems"] == generic.MAX_BATCH
    assert len(generic.parse({"observations": [entry()] * generic.MAX_BATCH}).observations) == (
        generic.MAX_BATCH
    )
    with pytest.raises(PayloadRejected):
        generic.parse({"observations": [entry()] * (generic.MAX_BATCH + 1)})


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({}, "/observations"),
        ({"observations": []}, "/observations"),
        ({"observations": [entry(unit="W")]}, "/observations/0"),
        ({"observations": [entry(value=None)]}, "/observations/0/value"),
        ({"observations": [entry(value={"nested": 1})]}, "/observations/0/value"),
        ({"observations": [entry(sensor="x" * 129)]}, "/observations/0/sensor"),
        ({"observations": [entry(sensor="bad\nid")]}, "/observations/0/sensor"),
        ({"observations": [entry(time="2024-05-14 20:45")]}, "/observations/0/time"),
        (
            {"observations": [{"sensor": "s-1", "value": 1, "time": "2024-05-14T20:45:00Z"}]},
            "/observations/0/property",
        ),
    ],
    ids=[
        "empty",
        "no-entries",
        "unknown-member",
        "null",
        "object",
        "long-id",
        "control-char",
        "no-offset",
        "missing-property",
    ],
)
def test_schema_refuses_wrong_batches(backend: str, payload: Any, path: str) -> None:
    with pytest.raises(PayloadRejected) as caught:
        generic.parse(payload)
    assert caught.value.rejections[0].path == path
