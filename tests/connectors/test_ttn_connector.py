"""The Things Stack v3 webhook messages -> observations."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from connector_support import load_payload

from allmende.connectors import ttn, validation
from allmende.connectors.model import Observation, PayloadRejected, Provenance, Scalar, parse_time


@pytest.fixture(params=validation.BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run schema tests on every installed validator: they must agree."""
    monkeypatch.setattr(validation, "BACKENDS", (request.param,))
    return str(request.param)


def uplink() -> dict[str, Any]:
    return copy.deepcopy(load_payload("ttn-uplink-humidity.json"))


def test_humidity_uplink_becomes_its_observations() -> None:
    result = ttn.parse(uplink())
    provenance = Provenance(
        network_server="eu1.cloud.thethings.network",
        application_id="sample-luetjenholm-klima",
        device_name="sample-luetjenholm-dgh-01",
        uplink_id="as:up:01HXSAMPLE0000000000000001",
        gateway_ids=("b827ebfffe5a0001", "b827ebfffe5a0002"),
        rssi=-97,
        snr=6.5,
        f_port=2,
        f_cnt=1834,
    )
    received = parse_time("2024-05-14T08:15:02.334512Z")
    decoded: list[tuple[str, Scalar]] = [
        ("temperature", 21.4),
        ("humidity", 48.5),
        ("battery", 3.61),
        ("firmware", "1.4.2"),
    ]
    expected = [
        Observation("70b3d57ed00ab001", field, value, received, "ttn", None, provenance)
        for field, value in decoded
    ]
    assert list(result.observations) == expected
    assert result.rejections == ()
    assert not result.ignored
    assert result.observations[0].path == "/uplink_message/decoded_payload/temperature"


def test_batch_reports_the_uplink_without_decoder_result() -> None:
    result = ttn.parse(load_payload("ttn-batch.json"))
    assert [(o.device_id, o.field, o.value) for o in result.observations] == [
        ("70b3d57ed00ab001", "temperature", 21.6),
        ("70b3d57ed00ab001", "humidity", 48.1),
        ("70b3d57ed00ab001", "battery", 3.61),
        ("70b3d57ed00ab103", "occupied", True),
        ("70b3d57ed00ab103", "battery", 3.58),
    ]
    parking = result.observations[3].provenance
    assert parking.gateway_ids == ("packetbroker",)
    assert parking.network_server == ttn.DEFAULT_NETWORK_SERVER
    assert [(r.path, r.code) for r in result.rejections] == [
        ("/2/uplink_message/decoded_payload", "no-decoder-result")
    ]


def test_single_uplink_without_decoder_result_is_reported() -> None:
    message = uplink()
    del message["uplink_message"]["decoded_payload"]
    result = ttn.parse(message)
    assert result.observations == ()
    assert [r.code for r in result.rejections] == ["no-decoder-result"]
    assert "payload formatter" in result.rejections[0].reason


def test_join_accept_is_acknowledged_and_ignored() -> None:
    message = {
        "end_device_ids": {
            "device_id": "sample-luetjenholm-dgh-01",
            "application_ids": {"application_id": "sample-luetjenholm-klima"},
            "dev_eui": "70B3D57ED00AB001",
        },
        "received_at": "2024-05-14T08:10:00Z",
        "join_accept": {"session_key_id": "AY9SAMPLE", "received_at": "2024-05-14T08:10:00Z"},
    }
    result = ttn.parse(message)
    assert result.ignored
    assert result.reason is not None and "join_accept" in result.reason
    batch = ttn.parse([uplink(), message])
    assert [(r.path, r.code) for r in batch.rejections] == [("/1", "not-an-uplink")]
    assert len(batch.observations) == 4


def test_nested_fields_are_dotted_arrays_and_nulls_reported() -> None:
    message = uplink()
    message["uplink_message"]["decoded_payload"] = {
        "air": {"temperature": 21.4, "humidity": None},
        "samples": [1, 2, 3],
        "battery": 3.6,
    }
    result = ttn.parse(message)
    assert [(o.field, o.value) for o in result.observations] == [
        ("air.temperature", 21.4),
        ("battery", 3.6),
    ]
    assert [(r.path, r.code) for r in result.rejections] == [
        ("/uplink_message/decoded_payload/air/humidity", "bad-value"),
        ("/uplink_message/decoded_payload/samples", "bad-value"),
    ]


def test_empty_decoder_result_is_reported() -> None:
    message = uplink()
    message["uplink_message"]["decoded_payload"] = {}
    assert [r.code for r in ttn.parse(message).rejections] == ["empty"]


def test_omitted_zero_values_and_missing_dev_eui() -> None:
    message = uplink()
    del message["uplink_message"]["f_cnt"]
    del message["end_device_ids"]["dev_eui"]
    del message["uplink_message"]["received_at"]
    message["simulated"] = True
    observation = ttn.parse(message, network_server="tts.luetjenholm.example").observations[0]
    assert observation.device_id == "sample-luetjenholm-dgh-01"
    assert observation.result_time == parse_time("2024-05-14T08:15:02.512334Z")
    assert observation.provenance.f_cnt == 0
    assert observation.provenance.simulated
    assert observation.provenance.network_server == "tts.luetjenholm.example"


def test_impossible_reception_time_is_reported() -> None:
    message = uplink()
    message["uplink_message"]["received_at"] = "2024-02-30T08:15:02Z"
    result = ttn.parse(message)
    assert [(r.path, r.code) for r in result.rejections] == [
        ("/uplink_message/received_at", "bad-time")
    ]


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda m: m["uplink_message"].update(f_port="2"), "/uplink_message/f_port"),
        (lambda m: m["uplink_message"].update(f_cnt=-1), "/uplink_message/f_cnt"),
        (lambda m: m["end_device_ids"].pop("device_id"), "/end_device_ids/device_id"),
        (lambda m: m["end_device_ids"].update(dev_eui="70B3D57ED00AB0"), "/end_device_ids/dev_eui"),
        (lambda m: m.update(received_at="yesterday"), "/received_at"),
        (
            lambda m: m["uplink_message"]["decoded_payload"].update(note="x" * 100_000),
            "/uplink_message/decoded_payload/note",
        ),
        (
            lambda m: m["uplink_message"]["decoded_payload"].update(deep=_deep(5)),
            "/uplink_message/decoded_payload/deep/a/a/a",
        ),
        (lambda m: m.update(junk=_deep(5000)), ""),
        (
            lambda m: m["uplink_message"]["decoded_payload"].update(
                {f"f{i}": i for i in range(70)}
            ),
            "/uplink_message/decoded_payload",
        ),
        (
            lambda m: m["uplink_message"]["rx_metadata"].extend([{"rssi": -100}] * 70),
            "/uplink_message/rx_metadata",
        ),
    ],
    ids=[
        "f_port-type",
        "f_cnt-negative",
        "device-id-missing",
        "dev-eui-short",
        "time-garbage",
        "huge-string",
        "too-deep",
        "very-deep-unread-member",
        "too-many-fields",
        "too-many-gateways",
    ],
)
def test_schema_refuses_wrong_payloads(backend: str, change: Any, path: str) -> None:
    message = uplink()
    change(message)
    with pytest.raises(PayloadRejected) as caught:
        ttn.parse(message)
    rejection = caught.value.rejections[0]
    assert rejection.code == "schema"
    if path:
        assert rejection.path == path
    assert len(rejection.reason) <= 200


@pytest.mark.parametrize("payload", [None, 17, "uplink", [], {}])
def test_schema_refuses_what_is_no_message(backend: str, payload: Any) -> None:
    with pytest.raises(PayloadRejected):
        ttn.parse(payload)


def test_batch_size_is_bounded() -> None:
    message = {key: uplink()[key] for key in ("end_device_ids", "received_at")}
    assert len(ttn.parse([message] * ttn.MAX_BATCH).rejections) == ttn.MAX_BATCH
    with pytest.raises(PayloadRejected) as caught:
        ttn.parse([message] * (ttn.MAX_BATCH + 1))
    assert "1000" in caught.value.rejections[0].reason
