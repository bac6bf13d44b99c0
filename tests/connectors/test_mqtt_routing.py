"""MQTT topic routing and message handling, without a broker."""

from __future__ import annotations

import asyncio
import json
import sys
import types
from collections.abc import AsyncIterator
from typing import Any

import pytest
from connector_support import load_payload

from allmende.connectors import mqtt
from allmende.connectors.mqtt import MqttSettings, Route, handle_message, route_topic, topic_filters

TTN_UP = "v3/sample-luetjenholm-klima@ttn/devices/sample-luetjenholm-dgh-01/up"
CS_UP = "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0004a30b00e1c0de/event/up"


@pytest.mark.parametrize(
    ("topic", "route"),
    [
        (
            TTN_UP,
            Route("ttn", "sample-luetjenholm-klima", "sample-luetjenholm-dgh-01", "up", "ttn"),
        ),
        ("v3/klima/devices/dgh-01/up", Route("ttn", "klima", "dgh-01", "up")),
        (
            "v3/klima@ttn/devices/dgh-01/down/queued",
            Route("ttn", "klima", "dgh-01", "down/queued", "ttn"),
        ),
        (
            "application/17c82e96/device/0004a30b00e1c0de/event/join",
            Route("chirpstack", "17c82e96", "0004a30b00e1c0de", "join"),
        ),
        ("application/17c82e96/device/0004a30b00e1c0de/command/down", None),
        ("v3/klima@ttn/devices/+/up", None),
        ("v2/klima/devices/dgh-01/up", None),
        ("application/a/device/b/event/up/extra", None),
        ("", None),
    ],
)
def test_route_topic(topic: str, route: Route | None) -> None:
    assert route_topic(topic) == route


def test_topic_filters() -> None:
    assert topic_filters("ttn", "klima", "ttn") == ["v3/klima@ttn/devices/+/up"]
    assert topic_filters("ttn", "klima") == ["v3/klima/devices/+/up"]
    assert topic_filters("chirpstack", "17c82e96") == ["application/17c82e96/device/+/event/up"]
    with pytest.raises(ValueError):
        topic_filters("chirpstack", "#")


def test_ttn_uplink_goes_to_the_ttn_connector() -> None:
    body = json.dumps(load_payload("ttn-uplink-humidity.json")).encode()
    handled = handle_message(TTN_UP, body, network_server="eu1.cloud.thethings.network")
    assert handled is not None
    assert handled.route.network == "ttn"
    assert [o.field for o in handled.result.observations] == [
        "temperature",
        "humidity",
        "battery",
        "firmware",
    ]


def test_chirpstack_events_go_to_the_chirpstack_connector() -> None:
    up = handle_message(CS_UP, json.dumps(load_payload("chirpstack-up.json")))
    assert up is not None and len(up.result.observations) == 3
    join = handle_message(
        CS_UP.replace("/up", "/join"), json.dumps(load_payload("chirpstack-join.json"))
    )
    assert join is not None and join.result.ignored


def test_ttn_messages_other_than_uplinks_are_ignored() -> None:
    handled = handle_message(TTN_UP.replace("/up", "/join"), b"{}")
    assert handled is not None and handled.result.ignored


def test_foreign_topics_are_not_handled() -> None:
    assert handle_message("$SYS/broker/uptime", b"12") is None


@pytest.mark.parametrize(
    ("topic", "body", "code"),
    [
        (TTN_UP, b"{not json", "not-json"),
        (TTN_UP, b"x" * (mqtt.MAX_PAYLOAD + 1), "too-large"),
        (TTN_UP, b'{"end_device_ids": 1}', "schema"),
        (CS_UP.replace("/up", "/upp"), b"{}", "event"),
        (
            TTN_UP.replace("sample-luetjenholm-dgh-01", "sample-luetjenholm-dgh-02"),
            json.dumps(load_payload("ttn-uplink-humidity.json")).encode(),
            "topic-mismatch",
        ),
        (
            CS_UP.replace("0004a30b00e1c0de", "0004a30b00e1c0df"),
            json.dumps(load_payload("chirpstack-up.json")).encode(),
            "topic-mismatch",
        ),
    ],
    ids=["not-json", "too-large", "schema", "unknown-event", "ttn-mismatch", "cs-mismatch"],
)
def test_bad_messages_come_back_as_rejections(topic: str, body: bytes, code: str) -> None:
    handled = handle_message(topic, body)
    assert handled is not None
    assert handled.result.observations == ()
    assert [r.code for r in handled.result.rejections][:1] == [code]


def test_settings_keep_the_password_out_of_repr() -> None:
    settings = MqttSettings("eu1.cloud.thethings.network", "ttn", "klima", password="NNSXS.SECRET")
    assert "SECRET" not in repr(settings)


class FakeMessage:
    def __init__(self, topic: str, payload: bytes) -> None:
        self.topic = topic
        self.payload = payload


def fake_aiomqtt(messages: list[FakeMessage], subscribed: list[str]) -> types.ModuleType:
    """Just enough of aiomqtt's Client for `subscribe`: connect, subscribe, iterate."""

    class MqttError(Exception):
        pass

    class Client:
        def __init__(self, hostname: str, port: int, **options: Any) -> None:
            self.options = options

        async def __aenter__(self) -> Client:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def subscribe(self, topic: str, qos: int = 0) -> None:
            subscribed.append(topic)

        @property
        def messages(self) -> AsyncIterator[FakeMessage]:
            async def iterate() -> AsyncIterator[FakeMessage]:
                for message in messages:
                    yield message
                raise MqttError("disconnected")

            return iterate()

    module = types.ModuleType("aiomqtt")
    module.Client = Client  # type: ignore[attr-defined]
    module.MqttError = MqttError  # type: ignore[attr-defined]
    return module


def test_subscribe_hands_messages_to_the_connectors(monkeypatch: pytest.MonkeyPatch) -> None:
    subscribed: list[str] = []
    messages = [
        FakeMessage("$SYS/ignored", b"1"),
        FakeMessage(TTN_UP, json.dumps(load_payload("ttn-uplink-humidity.json")).encode()),
    ]
    monkeypatch.setitem(sys.modules, "aiomqtt", fake_aiomqtt(messages, subscribed))
    settings = MqttSettings(
        "eu1.cloud.thethings.network",
        "ttn",
        "sample-luetjenholm-klima",
        tenant="ttn",
        reconnect_interval=0,
    )

    async def first_two() -> list[mqtt.MqttMessage]:
        stream = mqtt.subscribe(settings)
        try:
            return [await anext(stream), await anext(stream)]  # the second after a reconnect
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    handled = asyncio.run(first_two())
    assert subscribed == ["v3/sample-luetjenholm-klima@ttn/devices/+/up"] * 2
    assert all(len(h.result.observations) == 4 for h in handled)
    provenance = handled[0].result.observations[0].provenance
    assert provenance.network_server == "eu1.cloud.thethings.network"


def test_subscribe_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiomqtt", None)

    async def start() -> None:
        await anext(mqtt.subscribe(MqttSettings("localhost", "chirpstack", "app")))

    with pytest.raises(RuntimeError, match=r"allmende\[mqtt\]"):
        asyncio.run(start())
