"""What a downlink adapter takes and gives: commands, HTTP requests, downlink events."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

PRIORITIES = ("LOWEST", "LOW", "BELOW_NORMAL", "NORMAL", "ABOVE_NORMAL", "HIGH", "HIGHEST")
"""The Things Stack's downlink priorities (data-formats, "Downlink Messages")."""


class InvalidEvent(ValueError):
    """A downlink event that does not have the documented shape; the message says why."""


@dataclass(frozen=True)
class Command:
    """One downlink: raw bytes on an FPort, or an object for the server's payload formatter.

    Exactly one of `payload` and `decoded` is set. `confirmed` asks the device for a
    LoRaWAN ACK, which is what turns "sent" into "acked"."""

    f_port: int
    payload: bytes | None = None
    decoded: dict[str, Any] | None = None
    confirmed: bool = True
    priority: str = "HIGH"

    def __post_init__(self) -> None:
        if (self.payload is None) == (self.decoded is None):
            raise ValueError("a command has either payload bytes or a decoded object")
        if not 1 <= self.f_port <= 223:
            raise ValueError("f_port must be in the application range 1..223")
        if self.priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")

    @property
    def frm_payload(self) -> str | None:
        return base64.b64encode(self.payload).decode() if self.payload is not None else None


@dataclass(frozen=True)
class HttpRequest:
    """A request to send as is (JSON body); `redacted` is safe to log or show."""

    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]

    def redacted(self) -> dict[str, Any]:
        hidden = {"authorization", "grpc-metadata-authorization"}
        headers = {k: ("***" if k.lower() in hidden else v) for k, v in self.headers.items()}
        return {"method": self.method, "url": self.url, "headers": headers, "body": self.body}


class EventKind(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    ACK = "ack"
    NACK = "nack"
    FAILED = "failed"
    EXPIRED = "expired"


@dataclass(frozen=True)
class DownlinkEvent:
    """What a network server reports about one of our downlinks.

    `correlation` is our own id (The Things Stack echoes it in `correlation_ids`) or the
    server's queue item id (ChirpStack); `device` is the device the event names, so the
    node can refuse an event about another device than the one it commanded."""

    kind: EventKind
    device: str
    correlation: str | None = None
    queue_item: str | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def require(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidEvent(message)


class Uplink(NamedTuple):
    """What a button's uplink carries for the actuation room: who, on which port, what."""

    device: str
    f_port: int | None
    payload: bytes
    decoded: dict[str, Any] | None


def uplink(device: str, raw: Any, where: str, f_port: Any, decoded: Any) -> Uplink:
    """An uplink from a network server's fields; `where` names the payload field in errors."""
    raw = raw or ""
    require(isinstance(raw, str), f"{where}: base64 text is required")
    try:
        payload = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidEvent(f"{where} is not base64") from None
    return Uplink(
        device,
        f_port if isinstance(f_port, int) else None,
        payload,
        decoded if isinstance(decoded, dict) else None,
    )
