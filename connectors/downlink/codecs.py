"""Command codecs as data: how a controller is told "on for N seconds" and says "I am on".

A codec is a JSON object an operator can write for a controller without code:

- `f_port`: the FPort of the command;
- either `bytes`: a hex template whose `{name:type}` fields are filled in (types u8,
  u16le, u16be, u32le, u32be; `seconds` is the switching duration, other names come from
  `values`), or `object`: a JSON object for the network server's payload formatter, where
  the string "{seconds}" becomes the duration;
- `status` (optional), how an uplink reports the relay: `{"field": name, "on": value}` of
  a decoded uplink, or `{"channel": hex, "byte": i, "mask": m}` of raw bytes (the byte i
  after the channel header, ANDed with the mask, is non-zero while on).

The duration always travels in the command: the controller switches itself off, so a
node that goes down never leaves a street lit.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from typing import Any

from allmende.connectors.downlink.model import Command

_FIELD = re.compile(r"\{(\w+):(u8|u16le|u16be|u32le|u32be)\}")
_FORMATS = {"u8": "<B", "u16le": "<H", "u16be": ">H", "u32le": "<I", "u32be": ">I"}

READY: dict[str, dict[str, Any]] = {
    "milesight-ws558": {
        "label": "Milesight WS558 (switch 1 on, off after the duration as delay task 1)",
        "f_port": 85,
        # 08 <mask> <status>: switch now; FF 32 <task> <delay u16le> <mask> <status>: a delay
        # task that switches off after `seconds` (Milesight SensorDecoders WS558_Encoder.js,
        # user guide); a new task with the same id replaces the old one, which extends.
        "bytes": "08{mask:u8}{mask:u8}ff32{task:u8}{seconds:u16le}{mask:u8}00",
        "values": {"mask": 1, "task": 1},
        "max_seconds": 65535,
        "status": {"channel": "0831", "byte": 1, "mask": 1},
    },
    "formatter-on-for": {
        "label": "Any controller whose network-server formatter encodes {state, duration}",
        "f_port": 10,
        "object": {"state": "on", "duration": "{seconds}"},
        "status": {"field": "state", "on": "on"},
    },
}
"""Ready codecs for common controllers, by name."""


class CodecError(ValueError):
    """A codec that cannot encode a command; the message names the field."""


def check(codec: Mapping[str, Any]) -> None:
    """Refuse a codec that could not encode a 15-minute command (at registration)."""
    encode(codec, 900, confirmed=True)
    status = codec.get("status")
    if status is not None:
        if not isinstance(status, dict):
            raise CodecError("status: an object is required")
        if "field" in status:
            if not isinstance(status["field"], str):
                raise CodecError("status.field: a name is required")
        else:
            try:
                bytes.fromhex(str(status.get("channel", "")))
                int(status.get("byte", 0)), int(status.get("mask", 1))
            except (TypeError, ValueError):
                raise CodecError("status: channel (hex), byte and mask are required") from None


def resolve(codec: Mapping[str, Any] | str) -> dict[str, Any]:
    """A ready codec by name, or the codec object itself."""
    if isinstance(codec, str):
        if codec not in READY:
            raise CodecError(f"unknown codec {codec!r}; ready: {', '.join(sorted(READY))}")
        return dict(READY[codec])
    return dict(codec)


def encode(codec: Mapping[str, Any], seconds: int, *, confirmed: bool = True) -> Command:
    """The command "on for `seconds`" for this codec."""
    f_port = codec.get("f_port")
    if not isinstance(f_port, int) or isinstance(f_port, bool):
        raise CodecError("f_port: a whole number is required")
    limit = codec.get("max_seconds", 86400)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise CodecError("max_seconds: a whole number is required")
    if not isinstance(seconds, int) or not 1 <= seconds <= limit:
        raise CodecError(f"the duration must be 1..{limit} seconds for this controller")
    if ("bytes" in codec) == ("object" in codec):
        raise CodecError("a codec has either 'bytes' or 'object'")
    try:
        if "object" in codec:
            if not isinstance(codec["object"], dict):
                raise CodecError("object: a JSON object is required")
            return Command(f_port, decoded=_fill(codec["object"], seconds), confirmed=confirmed)
        return Command(f_port, payload=_bytes(codec, seconds), confirmed=confirmed)
    except RecursionError:
        raise CodecError("object: nested too deeply") from None
    except (ValueError, struct.error) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(str(exc)) from None


def _bytes(codec: Mapping[str, Any], seconds: int) -> bytes:
    template = codec["bytes"]
    if not isinstance(template, str):
        raise CodecError("bytes: a hex template is required")
    values = dict(codec.get("values") or {})
    values["seconds"] = seconds

    def field(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if name not in values:
            raise CodecError(f"bytes: no value for {{{name}}}")
        value = values[name]
        if not isinstance(value, int) or isinstance(value, bool):
            raise CodecError(f"values.{name}: a whole number is required")
        return struct.pack(_FORMATS[kind], value).hex()

    text = _FIELD.sub(field, template)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise CodecError("bytes: not a hex template") from None


def _fill(value: Any, seconds: int) -> Any:
    if value == "{seconds}":
        return seconds
    if isinstance(value, dict):
        return {key: _fill(inner, seconds) for key, inner in value.items()}
    if isinstance(value, list):
        return [_fill(inner, seconds) for inner in value]
    return value


def relay_on(
    codec: Mapping[str, Any], payload: bytes, decoded: Mapping[str, Any] | None
) -> bool | None:
    """Does this uplink report the relay on? None: it says nothing about the relay."""
    status = codec.get("status")
    if not isinstance(status, dict):
        return None
    if "field" in status:
        if decoded is None or status["field"] not in decoded:
            return None
        return bool(decoded[status["field"]] == status.get("on", True))
    header = bytes.fromhex(str(status.get("channel", "")))
    at = payload.find(header) if header else -1
    if at < 0:
        return None
    index = at + len(header) + int(status.get("byte", 0))
    if index >= len(payload):
        return None
    return payload[index] & int(status.get("mask", 1)) != 0
