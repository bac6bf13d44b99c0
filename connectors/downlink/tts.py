"""The Things Stack v3: scheduling downlinks through a webhook, reading its downlink events.

Paths and bodies as documented in lorawan-stack-docs (integrations/webhooks/
scheduling-downlinks, data-formats "Downlink Messages" and "Downlink Events Messages").
`replace` swaps the device's queue instead of appending: a Class A device that was out
of reach gets one current "on" command, never a stack of stale ones, and a request sent
again after a lost answer cannot make the device switch twice.
"""

from __future__ import annotations

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

CORRELATION_PREFIX = "allmende:switching:"
"""Our id among the message's `correlation_ids`; The Things Stack echoes them in every event."""
MESSAGES = {
    "downlink_queued": EventKind.QUEUED,
    "downlink_sent": EventKind.SENT,
    "downlink_ack": EventKind.ACK,
    "downlink_nack": EventKind.NACK,
    "downlink_failed": EventKind.FAILED,
}
"""Body key of each downlink event message -> what it means for our command."""


def push_request(
    server: str,
    *,
    application_id: str,
    webhook_id: str,
    device_id: str,
    api_key: str,
    command: Command,
    correlation: str,
    replace: bool = True,
    user_agent: str = "allmende",
) -> HttpRequest:
    """POST .../webhooks/{webhook_id}/devices/{device_id}/down/replace (or /push)."""
    path = "/".join(
        [
            "api/v3/as/applications",
            quote(application_id, safe=""),
            "webhooks",
            quote(webhook_id, safe=""),
            "devices",
            quote(device_id, safe=""),
            "down",
            "replace" if replace else "push",
        ]
    )
    downlink: dict[str, Any] = {
        "f_port": command.f_port,
        "confirmed": command.confirmed,
        "priority": command.priority,
        "correlation_ids": [CORRELATION_PREFIX + correlation],
    }
    if command.payload is not None:
        downlink["frm_payload"] = command.frm_payload
    else:
        downlink["decoded_payload"] = command.decoded
    return HttpRequest(
        "POST",
        f"{server.rstrip('/')}/{path}",
        {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "User-Agent": user_agent,
        },
        {"downlinks": [downlink]},
    )


def _ours(ids: Any) -> str | None:
    if not isinstance(ids, list):
        return None
    for value in ids:
        if isinstance(value, str) and value.startswith(CORRELATION_PREFIX):
            return value.removeprefix(CORRELATION_PREFIX)
    return None


def _device(body: dict[str, Any]) -> str:
    ids: Any = body.get("end_device_ids")
    if not isinstance(ids, dict):
        raise InvalidEvent("end_device_ids: an object is required")
    device = ids.get("device_id")
    require(isinstance(device, str) and bool(device), "end_device_ids.device_id is required")
    return str(device)


def parse_event(body: Any) -> DownlinkEvent:
    """A downlink event message (exactly one of downlink_queued/sent/ack/nack/failed)."""
    require(isinstance(body, dict), "a downlink event is a JSON object")
    device = _device(body)
    present = [key for key in MESSAGES if key in body]
    require(len(present) == 1, f"exactly one of {', '.join(MESSAGES)} is required")
    key = present[0]
    message = body[key]
    require(isinstance(message, dict), f"{key}: an object is required")
    reason = None
    downlink = message
    if key == "downlink_failed":
        downlink = message.get("downlink") or {}
        require(isinstance(downlink, dict), "downlink_failed.downlink: an object is required")
        error = message.get("error") or {}
        require(isinstance(error, dict), "downlink_failed.error: an object is required")
        reason = str(error.get("name") or error.get("message_format") or "downlink failed")[:200]
    correlation = _ours(downlink.get("correlation_ids")) or _ours(body.get("correlation_ids"))
    return DownlinkEvent(
        MESSAGES[key],
        device,
        correlation=correlation,
        reason=reason,
        details={"f_cnt": downlink.get("f_cnt"), "received_at": body.get("received_at")},
    )


def parse_uplink(body: Any) -> Uplink:
    """An uplink message's device id, FPort, raw bytes and decoded payload (if any)."""
    require(isinstance(body, dict), "an uplink is a JSON object")
    device = _device(body)
    message = body.get("uplink_message")
    require(isinstance(message, dict), "uplink_message: an object is required")
    return uplink(
        device,
        message.get("frm_payload"),
        "uplink_message.frm_payload",
        message.get("f_port"),
        message.get("decoded_payload"),
    )
