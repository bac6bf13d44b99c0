"""Device codecs: JavaScript payload decoders, run in a sandbox with limits per call.

A codec is written in The Things Network device repository's format: a global function
`decodeUplink(input)` that receives `{bytes, fPort, recvTime}` (`bytes` an array of
0-255 integers, `recvTime` a `Date`) and returns `{data, warnings, errors}`. Vendors
publish codecs in this format, and so can an operator for a device of their own.

Codecs run in QuickJS (PyPI `quickjs`), one JavaScript runtime per codec: no file,
network or module access, and for every call a time limit (`TIME_LIMIT`), a memory limit
for the runtime (`MEMORY_LIMIT`) and a stack limit. A codec that loops, allocates
without bound or recurses without end is interrupted and raises `CodecFailed`; its
runtime is thrown away (it may hold half-built state) and made anew for the next call,
so one faulty codec costs its own uplinks and nobody else's; it is suspended for
`SUSPENSION` seconds, so that its uplinks fail at once instead of one time limit each. Results are read as JSON
of bounded size.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import quickjs

from allmende.connectors.model import format_time

TIME_LIMIT = 0.1
"""Seconds of CPU time one decode may take; vendor codecs need microseconds."""
MEMORY_LIMIT = 16 * 1024 * 1024
"""Bytes one codec's runtime may hold, its own code included."""
STACK_LIMIT = 256 * 1024
MAX_SOURCE = 256 * 1024
"""Largest codec accepted (the biggest vendor codecs are ~60 KB)."""
MAX_RESULT = 64 * 1024
MAX_PAYLOAD = 242
"""Largest LoRaWAN application payload (FRMPayload at DR with the longest frames)."""
MAX_MEMBERS = 64
MAX_DEPTH = 4
"""Bounds of `data`, as for decoder results a network server sends (Adeunis's decoders put
lists of samples four deep: `data.bytes.temperature.values`)."""
SUSPENSION = 60.0
"""Seconds a codec that ran out of time or memory is not run again: a batch of a
thousand uplinks of a looping codec costs one time limit, not a thousand."""
KEPT = 128
"""Runtimes kept warm, least recently used dropped first."""

_CALL = """
function __allmendeDecode(hex, fPort, recvTime) {
  var bytes = new Array(hex.length / 2);
  for (var i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.substr(2 * i, 2), 16);
  }
  if (typeof decodeUplink !== "function") {
    throw new TypeError("the codec defines no function decodeUplink(input)");
  }
  var result = decodeUplink({ bytes: bytes, fPort: fPort, recvTime: new Date(recvTime) });
  return JSON.stringify(result === undefined ? null : result);
}
"""


class CodecFailed(Exception):
    """A codec that could not decode a payload: `code` says why, for the operator.

    Codes: `codec-timeout`, `codec-memory` (memory or stack exhausted), `codec-error` (a
    JavaScript exception, or no `decodeUplink`), `codec-result` (not `{data: {...}}`), and
    `codec-errors` (the codec itself returned `errors`).
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Decoded:
    """A codec's result: the decoded fields and its warnings."""

    data: dict[str, Any]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Codec:
    """A codec's source and a short name for messages (the model or the device)."""

    name: str
    source: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


def _classify(error: quickjs.JSException) -> CodecFailed:
    message = _first_line(error)
    if "interrupted" in message:
        return CodecFailed("codec-timeout", f"the codec ran longer than {TIME_LIMIT} s")
    if "out of memory" in message or "stack overflow" in message:
        return CodecFailed("codec-memory", f"the codec exhausted its memory ({message})")
    return CodecFailed("codec-error", f"the codec failed: {message}")


class _Runtime:
    """One codec loaded into its own QuickJS runtime with the limits set."""

    def __init__(self, codec: Codec) -> None:
        self.context = quickjs.Context()
        self.context.set_time_limit(TIME_LIMIT)
        self.context.set_memory_limit(MEMORY_LIMIT)
        self.context.set_max_stack_size(STACK_LIMIT)
        try:
            self.context.eval(codec.source)
            self.context.eval(_CALL)
        except quickjs.JSException as error:
            raise _classify(error) from None
        self.call = self.context.get("__allmendeDecode")


class CodecRunner:
    """Runs codecs, keeping a warm runtime per codec; safe to share between threads."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._runtimes: OrderedDict[str, _Runtime] = OrderedDict()
        self._suspended: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, codec: Codec) -> None:
        """Load a codec once, to refuse one that does not compile or lacks `decodeUplink`."""
        if len(codec.source.encode()) > MAX_SOURCE:
            raise CodecFailed("codec-error", f"a codec may have at most {MAX_SOURCE} bytes")
        with self._lock:
            runtime = _Runtime(codec)
            try:
                defined = runtime.context.eval("typeof decodeUplink")
            except quickjs.JSException as error:
                raise _classify(error) from None
        if defined != "function":
            raise CodecFailed("codec-error", "the codec defines no function decodeUplink(input)")

    def decode(self, codec: Codec, payload: bytes, f_port: int, received: datetime) -> Decoded:
        """Run `decodeUplink` on one payload; raises `CodecFailed` with the reason."""
        if len(payload) > MAX_PAYLOAD:
            raise CodecFailed("codec-error", f"a payload may have at most {MAX_PAYLOAD} bytes")
        key = codec.digest
        with self._lock:
            until = self._suspended.get(key)
            if until is not None:
                if time.monotonic() < until:
                    raise CodecFailed(
                        "codec-suspended",
                        f"the codec {codec.name!r} ran out of time or memory and is "
                        f"suspended for {SUSPENSION:.0f} s",
                    )
                del self._suspended[key]
            runtime = self._runtimes.get(key)
            if runtime is None:
                runtime = _Runtime(codec)
                self._runtimes[key] = runtime
                while len(self._runtimes) > self._kept:
                    self._runtimes.popitem(last=False)
            else:
                self._runtimes.move_to_end(key)
            try:
                text = runtime.call(payload.hex(), f_port, format_time(received))
            except quickjs.JSException as error:
                failure = _classify(error)
                if failure.code in ("codec-timeout", "codec-memory"):
                    del self._runtimes[key]  # may hold half-built state: start afresh
                    self._suspended[key] = time.monotonic() + SUSPENSION
                raise failure from None
        return _result(text)


def _result(text: Any) -> Decoded:
    if not isinstance(text, str):
        raise CodecFailed("codec-result", "decodeUplink returned nothing JSON can hold")
    if len(text) > MAX_RESULT:
        raise CodecFailed("codec-result", f"the codec's result exceeds {MAX_RESULT} bytes")
    try:
        result = json.loads(text)
    except RecursionError:
        raise CodecFailed("codec-result", "the codec's result is nested too deeply") from None
    if not isinstance(result, dict):
        raise CodecFailed("codec-result", "decodeUplink must return an object {data: {...}}")
    errors = result.get("errors")
    if isinstance(errors, list) and errors:
        listed = "; ".join(str(e)[:200] for e in errors[:5])
        raise CodecFailed("codec-errors", f"the codec reported: {listed}")
    data = result.get("data")
    if not isinstance(data, dict):
        raise CodecFailed("codec-result", "decodeUplink's result has no object 'data'")
    if not _bounded(data, MAX_DEPTH):
        raise CodecFailed(
            "codec-result",
            f"the codec's data may hold at most {MAX_MEMBERS} members per object, "
            f"nested at most {MAX_DEPTH} levels",
        )
    warnings = result.get("warnings")
    listed_warnings = (
        tuple(str(w)[:200] for w in warnings[:5]) if isinstance(warnings, list) else ()
    )
    return Decoded(data, listed_warnings)


def _bounded(value: Any, depth: int) -> bool:
    """Whether a decoded object keeps within MAX_MEMBERS per object and `depth` levels."""
    if isinstance(value, dict):
        if depth == 0 or len(value) > MAX_MEMBERS:
            return False
        return all(_bounded(member, depth - 1) for member in value.values())
    if isinstance(value, list):
        if depth == 0 or len(value) > MAX_MEMBERS:
            return False
        return all(_bounded(item, depth - 1) for item in value)
    return True
