"""ChirpStack v3 `up` events (HTTP integration, JSON marshaler) in ChirpStack v4's form.

Many villages still run ChirpStack v3. Its HTTP integration posts to the same kind of URL
(`?event=up`) but names things differently: `devEUI` and `gatewayID` are base64 (v3.11 and
later, Protobuf JSON) or hex (the legacy JSON marshaler), the codec's result is a JSON text
in `objectJSON` (or an object in `object`), the time is `publishedAt` (else the first
gateway's `time`), the signal-to-noise ratio `loRaSNR`. `to_v4` renames all of that, so
that one code path (`connectors.chirpstack`) reads both versions, raw payloads included.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from allmende.connectors.model import PayloadRejected, Rejection
from allmende.connectors.validation import check
from allmende.vocab.messages import say

SCHEMA = "chirpstack-v3.schema.json"


def is_v3(payload: Any) -> bool:
    """A v3 event: `devEUI` at the top, no v4 `deviceInfo`."""
    return isinstance(payload, Mapping) and "devEUI" in payload and "deviceInfo" not in payload


def eui_hex(text: str) -> str:
    """An EUI-64 from v3's base64 (`AgICAgICAgI=`) or hex, as 16 lower-case hex digits."""
    if len(text) == 16:
        return text.lower()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 8:
        raise ValueError("not an EUI-64 in hex or base64")
    return raw.hex()


def _uplink_id(text: str) -> str:
    """v3's base64 uplink id as the UUID text v4 uses, or as it came."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text
    if len(raw) != 16:
        return text
    hexed = raw.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def to_v4(payload: Any) -> dict[str, Any]:
    """The v3 event as a v4 `up` event; raises `PayloadRejected` on what cannot be read."""
    check(payload, SCHEMA)
    try:
        dev_eui = eui_hex(payload["devEUI"])
    except ValueError as exc:
        raise PayloadRejected([Rejection("/devEUI", str(exc), "schema")]) from None
    receptions: list[dict[str, Any]] = []
    for index, rx in enumerate(payload.get("rxInfo") or ()):
        reception: dict[str, Any] = {}
        if "gatewayID" in rx:
            try:
                reception["gatewayId"] = eui_hex(rx["gatewayID"])
            except ValueError as exc:
                where = f"/rxInfo/{index}/gatewayID"
                raise PayloadRejected([Rejection(where, str(exc), "schema")]) from None
        for old, new in (("time", "time"), ("rssi", "rssi"), ("loRaSNR", "snr")):
            if rx.get(old) is not None:
                reception[new] = rx[old]
        if isinstance(rx.get("location"), Mapping):
            reception["location"] = dict(rx["location"])
        receptions.append(reception)
    time = payload.get("publishedAt") or next(
        (rx["time"] for rx in payload.get("rxInfo") or () if rx.get("time")), None
    )
    if time is None:
        reason = "no time: neither publishedAt nor a gateway's time"
        raise PayloadRejected([Rejection("/publishedAt", reason, "schema")])
    info: dict[str, Any] = {"devEui": dev_eui}
    for old, new in (
        ("applicationID", "applicationId"),
        ("applicationName", "applicationName"),
        ("deviceName", "deviceName"),
        ("deviceProfileName", "deviceProfileName"),
        ("tags", "tags"),
    ):
        if payload.get(old) is not None:
            info[new] = payload[old]
    event: dict[str, Any] = {"time": time, "deviceInfo": info, "rxInfo": receptions}
    uplink = next(
        (rx.get("uplinkID") for rx in payload.get("rxInfo") or () if rx.get("uplinkID")), None
    )
    if uplink:
        event["deduplicationId"] = _uplink_id(uplink)
    for name in ("fCnt", "fPort"):
        if name in payload:
            event[name] = payload[name]
    if payload.get("data"):
        event["data"] = payload["data"]
    decoded = payload.get("object")
    if decoded is None and payload.get("objectJSON"):
        try:
            decoded = json.loads(payload["objectJSON"])
        except ValueError:
            raise PayloadRejected(
                [Rejection("/objectJSON", say("is not JSON text"), "schema")]
            ) from None
        if not isinstance(decoded, dict):
            raise PayloadRejected(
                [Rejection("/objectJSON", say("must hold a JSON object"), "schema")]
            )
    if decoded is not None:
        event["object"] = decoded
    return event
