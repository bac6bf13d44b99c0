"""ChirpStack v4: the device queue (REST API proxy) and the HTTP integration's events.

`POST /api/devices/{devEui}/queue` with `{"queueItem": {...}, "flushQueue": true}` answers
`{"id": "<queue item id>"}` (api/proto/api/device.proto, chirpstack-rest-api). The queue
item carries `expiresAt`: ChirpStack drops it unsent after that (and emits a `log` event
with code EXPIRED), so a Class A lamp never switches on hours late. Events come to the
HTTP integration as `?event=txack|ack|log|up` (api/proto/integration/integration.proto);
they name the queue item, which is how the node finds its command.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from allmende.connectors.downlink.model import (
    Command,
    DownlinkEvent,
    EventKind,
    HttpRequest,
    InvalidEvent,
    Uplink,
    require,
    uplink,
)

AUTH_HEADERS = ("Grpc-Metadata-Authorization", "Authorization")
"""The REST proxy passes either on as the gRPC `authorization` metadata."""
FAILED_CODES = frozenset(
    {"DOWNLINK_PAYLOAD_SIZE", "DOWNLINK_CODEC", "DOWNLINK_GATEWAY", "F_CNT_DOWN"}
)


def enqueue_request(
    server: str,
    *,
    dev_eui: str,
    api_token: str,
    command: Command,
    expires_at: datetime,
    auth_header: str = AUTH_HEADERS[0],
    user_agent: str = "allmende",
) -> HttpRequest:
    """POST /api/devices/{devEui}/queue, replacing what is queued (flushQueue)."""
    if auth_header not in AUTH_HEADERS:
        raise ValueError(f"auth_header must be one of {', '.join(AUTH_HEADERS)}")
    eui = dev_eui.lower()
    item: dict[str, Any] = {
        "devEui": eui,
        "confirmed": command.confirmed,
        "fPort": command.f_port,
        "expiresAt": expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    if command.payload is not None:
        item["data"] = command.frm_payload
    else:
        item["object"] = command.decoded
    return HttpRequest(
        "POST",
        f"{server.rstrip('/')}/api/devices/{quote(eui, safe='')}/queue",
        {
            auth_header: f"Bearer {api_token}",
            "Content-Type": "application/json",
            "User-Agent": user_agent,
        },
        {"queueItem": item, "flushQueue": True},
    )


def queue_item_id(response: Any) -> str:
    """The id of the enqueued item from the answer (`EnqueueDeviceQueueItemResponse`)."""
    require(isinstance(response, dict), "the enqueue answer is not a JSON object")
    value = response.get("id")
    require(isinstance(value, str) and bool(value), "the enqueue answer has no id")
    return str(value)


def _dev_eui(body: dict[str, Any]) -> str:
    info = body.get("deviceInfo")
    if not isinstance(info, dict):
        raise InvalidEvent("deviceInfo: an object is required")
    eui = info.get("devEui")
    require(isinstance(eui, str) and bool(eui), "deviceInfo.devEui is required")
    return str(eui).lower()


def parse_event(event: str | None, body: Any) -> DownlinkEvent | None:
    """A txack, ack or log event about a queue item; None for event types about no downlink."""
    require(isinstance(body, dict), "an event is a JSON object")
    if event not in {"txack", "ack", "log"}:
        return None
    device = _dev_eui(body)
    if event == "log":
        code = body.get("code")
        context = body.get("context") if isinstance(body.get("context"), dict) else {}
        item = context.get("queue_item_id") or context.get("queueItemId")
        if code == "EXPIRED":
            kind = EventKind.EXPIRED
        elif code in FAILED_CODES:
            kind = EventKind.FAILED
        else:
            return None
        return DownlinkEvent(
            kind,
            device,
            queue_item=str(item) if item else None,
            reason=f"{code}: {str(body.get('description') or '')[:160]}",
        )
    item = body.get("queueItemId")
    require(isinstance(item, str) and bool(item), f"{event}: queueItemId is required")
    if event == "txack":
        return DownlinkEvent(
            EventKind.SENT, device, queue_item=item, details={"gateway": body.get("gatewayId")}
        )
    # Default values are left out of JSON: a missing `acknowledged` is false.
    acknowledged = body.get("acknowledged", False)
    require(isinstance(acknowledged, bool), "ack: acknowledged must be true or false")
    kind = EventKind.ACK if acknowledged else EventKind.NACK
    return DownlinkEvent(kind, device, queue_item=item)


def parse_uplink(body: Any) -> Uplink:
    """An `up` event's DevEUI, FPort, raw bytes and decoded object (if any)."""
    require(isinstance(body, dict), "an event is a JSON object")
    return uplink(_dev_eui(body), body.get("data"), "data", body.get("fPort"), body.get("object"))
