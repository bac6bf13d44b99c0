"""Where a network server says a device is: for devices registered without a position.

- The Things Stack: an uplink's `locations` (`user`, the position set in its console, first;
  then `frm-payload`, a GPS fix the device sent; then any solved one) and the
  `location_solved` message.
- ChirpStack: a `location` event's `location`; otherwise the position of the gateway that
  heard the uplink best (`rxInfo[].location`, highest RSSI) — approximate, within that
  gateway's range, which the node says when it uses it.

Each result names the device as the message does (DevEUI and device id or name), so the
node can find it however it was registered.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

TTS_PREFERENCE = ("user", "frm-payload")


@dataclass(frozen=True)
class Position:
    device_id: str
    alias: str | None
    lat: float
    lon: float
    source: str
    """`device` (the device's or operator's own position) or `gateway` (approximate)."""


def _point(location: Any) -> tuple[float, float] | None:
    if not isinstance(location, Mapping):
        return None
    lat, lon = location.get("latitude"), location.get("longitude")
    if isinstance(lat, bool) or isinstance(lon, bool):
        return None
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return float(lat), float(lon)


def _tts_messages(payload: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(payload, Mapping):
        yield payload
    elif isinstance(payload, list):
        yield from (m for m in payload if isinstance(m, Mapping))


def tts_positions(payload: Any) -> list[Position]:
    """Positions in a The Things Stack message or batch (uplinks and location_solved)."""
    found = []
    for message in _tts_messages(payload):
        ids = message.get("end_device_ids")
        if not isinstance(ids, Mapping) or not isinstance(ids.get("device_id"), str):
            continue
        eui = ids.get("dev_eui")
        device: str = eui if isinstance(eui, str) else ids["device_id"]
        point = None
        solved = message.get("location_solved")
        if isinstance(solved, Mapping):
            point = _point(solved.get("location"))
        uplink = message.get("uplink_message")
        locations = uplink.get("locations") if isinstance(uplink, Mapping) else None
        if point is None and isinstance(locations, Mapping):
            ordered = [*TTS_PREFERENCE, *sorted(k for k in locations if k not in TTS_PREFERENCE)]
            point = next((p for k in ordered if (p := _point(locations.get(k)))), None)
        if point is not None:
            found.append(Position(device, ids["device_id"], *point, "device"))
    return found


def chirpstack_positions(event_type: str | None, payload: Any) -> list[Position]:
    """The position of a ChirpStack v4 `location` event, or of the best gateway of an
    `up` event (v4 or v3)."""
    if not isinstance(payload, Mapping):
        return []
    given = payload.get("deviceInfo")
    info: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    device = info.get("devEui") or payload.get("devEUI")
    if not isinstance(device, str):
        return []
    if len(device) != 16:  # v3's base64
        from allmende.connectors.chirpstack_v3 import eui_hex

        try:
            device = eui_hex(device)
        except ValueError:
            return []
    name = info.get("deviceName") or payload.get("deviceName")
    alias = name if isinstance(name, str) else None
    if event_type == "location":
        point = _point(payload.get("location"))
        return [Position(device, alias, *point, "device")] if point else []
    if event_type not in (None, "up"):
        return []
    best: tuple[float, tuple[float, float]] | None = None
    receptions = payload.get("rxInfo")
    for rx in receptions if isinstance(receptions, list) else ():
        if not isinstance(rx, Mapping):
            continue
        point = _point(rx.get("location"))
        rssi = rx.get("rssi")
        strength = float(rssi) if isinstance(rssi, int | float) else -1000.0
        if point is not None and (best is None or strength > best[0]):
            best = (strength, point)
    return [Position(device, alias, *best[1], "gateway")] if best else []
