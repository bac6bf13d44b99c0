"""Downlink adapters: requests as the network servers document them, their events read."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from allmende.connectors.downlink import Command, EventKind, InvalidEvent, chirpstack, codecs, tts
from tests.actuation.standins import ChirpStack, TheThingsStack

ON_15_MIN = codecs.encode(codecs.READY["milesight-ws558"], 900)


def test_ws558_on_for_15_minutes_is_one_frame_on_port_85() -> None:
    # 08 01 01: switch 1 on; FF 32 01 8403 01 00: task 1 switches it off after 900 s
    assert ON_15_MIN.f_port == 85
    assert ON_15_MIN.payload == bytes.fromhex("080101ff320184030100")


def test_a_codec_as_data_with_a_formatter_object() -> None:
    command = codecs.encode(codecs.READY["formatter-on-for"], 720, confirmed=False)
    assert command.decoded == {"state": "on", "duration": 720} and command.payload is None
    assert command.confirmed is False


@pytest.mark.parametrize(
    ("codec", "message"),
    [
        ({"f_port": 0, "bytes": "08"}, "1..223"),
        ({"f_port": 10}, "either 'bytes' or 'object'"),
        ({"f_port": 10, "bytes": "08{later:u8}"}, "no value for {later}"),
        ({"f_port": 10, "bytes": "{seconds:u8}"}, "format requires"),
        ({"f_port": 10, "bytes": "zz"}, "not a hex template"),
        ({"f_port": 10, "object": {}, "max_seconds": "viel"}, "max_seconds"),
    ],
)
def test_codecs_that_cannot_encode_are_refused(codec: dict[str, Any], message: str) -> None:
    with pytest.raises(codecs.CodecError, match=message):
        codecs.check(codec)


def test_relay_state_from_raw_and_decoded_uplinks() -> None:
    ws558 = codecs.READY["milesight-ws558"]
    assert codecs.relay_on(ws558, bytes.fromhex("0331e6000831 0101".replace(" ", "")), None)
    assert codecs.relay_on(ws558, bytes.fromhex("08310100"), None) is False
    assert codecs.relay_on(ws558, bytes.fromhex("0374e600"), None) is None
    formatter = codecs.READY["formatter-on-for"]
    assert codecs.relay_on(formatter, b"", {"state": "on"}) is True
    assert codecs.relay_on(formatter, b"", {"battery": 3.1}) is None


def test_tts_replace_request_is_documented_and_passes_the_stand_in_checks() -> None:
    request = tts.push_request(
        "https://eu1.cloud.thethings.network/",
        application_id="luetjenholm-licht",
        webhook_id="allmende",
        device_id="ws558 dorf/1",
        api_key="NNSXS.KEY",
        command=ON_15_MIN,
        correlation="abc123",
    )
    assert request.url == (
        "https://eu1.cloud.thethings.network/api/v3/as/applications/luetjenholm-licht/"
        "webhooks/allmende/devices/ws558%20dorf%2F1/down/replace"
    )
    assert request.headers["Authorization"] == "Bearer NNSXS.KEY"
    assert request.body == {
        "downlinks": [
            {
                "f_port": 85,
                "frm_payload": base64.b64encode(ON_15_MIN.payload or b"").decode(),
                "confirmed": True,
                "priority": "HIGH",
                "correlation_ids": ["allmende:switching:abc123"],
            }
        ]
    }
    assert TheThingsStack.check_body(request.body) == []
    assert request.redacted()["headers"]["Authorization"] == "***"


def test_chirpstack_enqueue_request_is_documented_and_passes_the_stand_in_checks() -> None:
    expires = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)
    request = chirpstack.enqueue_request(
        "http://chirpstack:8090",
        dev_eui="24E124468D022222",
        api_token="TOKEN",
        command=Command(10, decoded={"state": "on"}, confirmed=False),
        expires_at=expires,
        auth_header="Authorization",
    )
    assert request.url == "http://chirpstack:8090/api/devices/24e124468d022222/queue"
    assert request.headers["Authorization"] == "Bearer TOKEN"
    assert request.body == {
        "queueItem": {
            "devEui": "24e124468d022222",
            "confirmed": False,
            "fPort": 10,
            "expiresAt": "2026-12-08T00:00:00Z",
            "object": {"state": "on"},
        },
        "flushQueue": True,
    }
    assert ChirpStack.check_body("24e124468d022222", request.body) == []
    assert chirpstack.queue_item_id({"id": "7d1b"}) == "7d1b"
    with pytest.raises(InvalidEvent):
        chirpstack.queue_item_id({})


def _tts_event(key: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {
        "end_device_ids": {"device_id": "ws558", "application_ids": {"application_id": "a"}},
        "correlation_ids": ["as:downlink:01", "allmende:switching:abc123"],
        "received_at": "2026-12-08T00:45:01Z",
        key: inner,
    }


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("downlink_queued", EventKind.QUEUED),
        ("downlink_sent", EventKind.SENT),
        ("downlink_ack", EventKind.ACK),
        ("downlink_nack", EventKind.NACK),
    ],
)
def test_tts_downlink_events(key: str, kind: EventKind) -> None:
    event = tts.parse_event(_tts_event(key, {"f_port": 85, "f_cnt": 3, "confirmed": True}))
    assert (event.kind, event.device, event.correlation) == (kind, "ws558", "abc123")


def test_tts_downlink_failed_carries_the_error_name() -> None:
    body = _tts_event(
        "downlink_failed",
        {
            "downlink": {"f_port": 85, "correlation_ids": ["allmende:switching:abc123"]},
            "error": {
                "namespace": "pkg/applicationserver",
                "name": "application_downlink_too_long",
                "code": 3,
            },
        },
    )
    event = tts.parse_event(body)
    assert event.kind is EventKind.FAILED and event.reason == "application_downlink_too_long"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"downlink_ack": {}},
        {"end_device_ids": {"device_id": "x"}},
        {"end_device_ids": {"device_id": "x"}, "downlink_ack": {}, "downlink_sent": {}},
        {"end_device_ids": {"device_id": "x"}, "downlink_ack": "ja"},
    ],
)
def test_tts_events_that_are_not_events(body: Any) -> None:
    with pytest.raises(InvalidEvent):
        tts.parse_event(body)


def test_chirpstack_events() -> None:
    info = {"deviceInfo": {"devEui": "24E124468D022222"}}
    sent = chirpstack.parse_event("txack", {**info, "queueItemId": "q1", "gatewayId": "gw"})
    assert sent is not None and (sent.kind, sent.queue_item, sent.device) == (
        EventKind.SENT,
        "q1",
        "24e124468d022222",
    )
    acked = chirpstack.parse_event("ack", {**info, "queueItemId": "q1", "acknowledged": True})
    assert acked is not None and acked.kind is EventKind.ACK
    # JSON leaves out default values: no `acknowledged` means false
    nack = chirpstack.parse_event("ack", {**info, "queueItemId": "q1"})
    assert nack is not None and nack.kind is EventKind.NACK
    expired = chirpstack.parse_event(
        "log",
        {
            **info,
            "level": "ERROR",
            "code": "EXPIRED",
            "description": "Device queue-item discarded because it has expired",
            "context": {"queue_item_id": "q1"},
        },
    )
    assert expired is not None and expired.kind is EventKind.EXPIRED and expired.queue_item == "q1"
    assert chirpstack.parse_event("log", {**info, "code": "UPLINK_MIC"}) is None
    assert chirpstack.parse_event("status", {**info, "margin": 7}) is None
    with pytest.raises(InvalidEvent):
        chirpstack.parse_event("ack", {**info})
    with pytest.raises(InvalidEvent):
        chirpstack.parse_event("txack", {"queueItemId": "q1"})
