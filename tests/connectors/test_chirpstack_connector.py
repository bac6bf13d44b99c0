"""ChirpStack v4 integration events -> observations."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from connector_support import load_payload

from allmende.connectors import chirpstack, validation
from allmende.connectors.model import Observation, PayloadRejected, Provenance, parse_time


@pytest.fixture(params=validation.BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(validation, "BACKENDS", (request.param,))
    return str(request.param)


def up() -> dict[str, Any]:
    return copy.deepcopy(load_payload("chirpstack-up.json"))


def test_up_event_becomes_its_observations() -> None:
    result = chirpstack.parse("up", up())
    provenance = Provenance(
        network_server="chirpstack",
        application_id="17c82e96-be03-4f38-aef3-f83d48582d97",
        device_name="sample-luetjenholm-sportplatz-01",
        uplink_id="5a6b1e0c-0000-4000-8000-53414d504c45",
        gateway_ids=("0016c001f1500812",),
        rssi=-101,
        snr=4.2,
        f_port=2,
        f_cnt=403,
    )
    at = parse_time("2024-05-14T09:00:03.441875Z")
    assert list(result.observations) == [
        Observation("0004a30b00e1c0de", "soil_moisture", 23.7, at, "chirpstack", None, provenance),
        Observation(
            "0004a30b00e1c0de", "soil_temperature", 14.2, at, "chirpstack", None, provenance
        ),
        Observation("0004a30b00e1c0de", "battery", 3.6, at, "chirpstack", None, provenance),
    ]
    assert result.rejections == ()
    assert result.observations[0].path == "/object/soil_moisture"


def test_missing_event_type_reads_as_up() -> None:
    assert chirpstack.parse(None, up()) == chirpstack.parse("up", up())


def test_join_event_is_acknowledged_and_ignored() -> None:
    result = chirpstack.parse("join", load_payload("chirpstack-join.json"))
    assert result.ignored
    assert result.observations == ()
    assert result.reason == "ChirpStack join event: no data"


@pytest.mark.parametrize("event", sorted(chirpstack.IGNORED_EVENTS))
def test_events_without_data_are_ignored(event: str) -> None:
    assert chirpstack.parse(event, {"deviceInfo": {"devEui": "0004a30b00e1c0de"}}).ignored


def test_ignored_events_must_still_be_objects() -> None:
    with pytest.raises(PayloadRejected):
        chirpstack.parse("status", ["not", "an", "event"])


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(PayloadRejected) as caught:
        chirpstack.parse("upp", up())
    assert caught.value.rejections[0].path == "?event"


def test_up_without_codec_result_is_reported() -> None:
    event = up()
    del event["object"]
    result = chirpstack.parse("up", event)
    assert result.observations == ()
    assert [(r.path, r.code) for r in result.rejections] == [("/object", "no-decoder-result")]


def test_omitted_zero_counters_read_as_zero() -> None:
    event = up()
    del event["fCnt"]
    del event["rxInfo"]
    provenance = chirpstack.parse("up", event).observations[0].provenance
    assert provenance.f_cnt == 0
    assert provenance.gateway_ids == ()
    assert provenance.rssi is None


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda e: e["deviceInfo"].update(devEui="not-an-eui"), "/deviceInfo/devEui"),
        (lambda e: e.pop("time"), "/time"),
        (lambda e: e.update(fPort=300), "/fPort"),
        (lambda e: e["object"].update(text="x" * 5000), "/object/text"),
        (lambda e: e["deviceInfo"]["tags"].update(big="x" * 5000), "/deviceInfo/tags/big"),
        (lambda e: e.update(object=[1, 2]), "/object"),
    ],
    ids=["dev-eui", "time-missing", "f-port-range", "huge-value", "huge-tag", "object-array"],
)
def test_schema_refuses_wrong_up_events(backend: str, change: Any, path: str) -> None:
    event = up()
    change(event)
    with pytest.raises(PayloadRejected) as caught:
        chirpstack.parse("up", event)
    assert caught.value.rejections[0].path == path
