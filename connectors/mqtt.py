"""Read TTN or ChirpStack messages from the network server's MQTT broker.

An alternative to webhooks where the node cannot be reached from the network server
(behind NAT, no public name). Needs the `mqtt` extra (aiomqtt), imported only when a
subscription starts. Topic conventions:

- The Things Stack v3: `v3/{application id}[@{tenant id}]/devices/{device id}/up`
  (also `/join`, `/down/...`, `/service/data`, `/location/solved`);
- ChirpStack v4: `application/{application id}/device/{dev eui}/event/{event type}`.

Routing and decoding (`route_topic`, `handle_message`) are pure; `subscribe` only adds
the connection, and reconnects after the broker goes away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from allmende.connectors import chirpstack, ttn
from allmende.connectors.model import ConnectorResult, PayloadRejected, Rejection

Network = Literal["ttn", "chirpstack"]
MAX_PAYLOAD = 256 * 1024
log = logging.getLogger(__name__)

_SEGMENT = r"[^/+#]+"
_TTN_TOPIC = re.compile(
    rf"v3/(?P<app>[^/@+#]+)(?:@(?P<tenant>{_SEGMENT}))?/devices/(?P<dev>{_SEGMENT})/(?P<event>.+)\Z"
)
_CHIRPSTACK_TOPIC = re.compile(
    rf"application/(?P<app>{_SEGMENT})/device/(?P<dev>{_SEGMENT})/event/(?P<event>{_SEGMENT})\Z"
)


@dataclass(frozen=True, slots=True)
class Route:
    """What a topic says: which network server, application, device and message type."""

    network: Network
    application: str
    device: str
    event: str
    tenant: str | None = None


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """One handled broker message: where it came from and what the connector made of it."""

    topic: str
    route: Route
    result: ConnectorResult


@dataclass(frozen=True)
class MqttSettings:
    """A subscription. For TTS the username is `{application}@{tenant}` and the
    password an API key; it is kept out of `repr` so that it never reaches a log."""

    host: str
    network: Network
    application: str
    port: int = 8883
    tenant: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = True
    max_payload: int = MAX_PAYLOAD
    reconnect_interval: float = 5.0


def route_topic(topic: str) -> Route | None:
    """The route a topic names, or None for topics that are not TTS/ChirpStack events."""
    if match := _TTN_TOPIC.match(topic):
        return Route("ttn", match["app"], match["dev"], match["event"], match["tenant"])
    if match := _CHIRPSTACK_TOPIC.match(topic):
        return Route("chirpstack", match["app"], match["dev"], match["event"])
    return None


def topic_filters(network: Network, application: str, tenant: str | None = None) -> list[str]:
    """The subscriptions for one application's uplinks (other messages carry no data)."""
    if not re.fullmatch(_SEGMENT, application) or (tenant and not re.fullmatch(_SEGMENT, tenant)):
        raise ValueError("application and tenant ids must not contain '/', '+' or '#'")
    if network == "ttn":
        app = f"{application}@{tenant}" if tenant else application
        return [f"v3/{app}/devices/+/up"]
    return [f"application/{application}/device/+/event/up"]


def handle_message(
    topic: str,
    payload: bytes | bytearray | str,
    *,
    max_payload: int = MAX_PAYLOAD,
    network_server: str | None = None,
) -> MqttMessage | None:
    """Decode one broker message with the matching connector; None if the topic is not
    one of ours. Never raises for bad payloads: they come back as rejections, because one
    bad message must not end a subscription."""
    route = route_topic(topic)
    if route is None:
        return None
    return MqttMessage(topic, route, _decode(route, payload, max_payload, network_server))


def _decode(
    route: Route, payload: bytes | bytearray | str, max_payload: int, network_server: str | None
) -> ConnectorResult:
    if len(payload) > max_payload:
        reason = f"message larger than {max_payload} bytes"
        return ConnectorResult(rejections=(Rejection("", reason, "too-large"),))
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return ConnectorResult(rejections=(Rejection("", "not a JSON document", "not-json"),))
    try:
        if route.network == "ttn":
            if route.event != "up":
                return ConnectorResult.ignore(f"The Things Stack {route.event} message: no data")
            result = ttn.parse(data, network_server=network_server)
        else:
            result = chirpstack.parse(route.event, data, network_server=network_server)
    except PayloadRejected as error:
        return ConnectorResult(rejections=error.rejections)
    return _check_device(route, result)


def _check_device(route: Route, result: ConnectorResult) -> ConnectorResult:
    """Refuse a payload about another device than its topic names (a misrouted or
    spoofed message on a shared broker)."""
    for observation in result.observations:
        named = (
            observation.provenance.device_name if route.network == "ttn" else observation.device_id
        )
        if named is None or named.lower() != route.device.lower():
            reason = f"payload is about another device than topic's {route.device[:64]!r}"
            return ConnectorResult(rejections=(Rejection("", reason, "topic-mismatch"),))
    return result


def _aiomqtt() -> Any:
    try:
        import aiomqtt
    except ImportError as error:
        raise RuntimeError(
            "MQTT needs the optional dependency: pip install 'allmende[mqtt]'"
        ) from error
    return aiomqtt


async def subscribe(settings: MqttSettings) -> AsyncIterator[MqttMessage]:
    """Handled messages from the broker, for ever; reconnects after connection loss."""
    aiomqtt = _aiomqtt()
    filters = topic_filters(settings.network, settings.application, settings.tenant)
    while True:
        try:
            async with aiomqtt.Client(
                settings.host,
                settings.port,
                username=settings.username,
                password=settings.password,
                tls_context=ssl.create_default_context() if settings.tls else None,
            ) as client:
                for topic_filter in filters:
                    await client.subscribe(topic_filter, qos=1)
                log.info("subscribed to %s on %s", filters, settings.host)
                async for message in client.messages:
                    payload = message.payload
                    if not isinstance(payload, bytes | bytearray | str):
                        continue
                    handled = handle_message(
                        str(message.topic),
                        payload,
                        max_payload=settings.max_payload,
                        network_server=settings.host,
                    )
                    if handled is not None:
                        yield handled
        except aiomqtt.MqttError as error:
            log.warning(
                "MQTT connection to %s lost (%s); reconnecting in %.0f s",
                settings.host,
                error,
                settings.reconnect_interval,
            )
            await asyncio.sleep(settings.reconnect_interval)
