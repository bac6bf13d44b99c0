"""What TTN and ChirpStack have in common: decoder results and gateway receptions.

Both network servers run a payload decoder (a "payload formatter" in TTN, a "codec" in
ChirpStack) and hand us its JSON object. Each scalar member becomes one observation;
nested objects become dotted field names (`{"air": {"t": 21}}` -> `air.t`); nulls are
reported, since they are no measured value.

Lists of samples: some devices record several samples and send them in one uplink. The
Adeunis decoders send them as `{"temperature": {"values": [19.7, 19.9, ...]}}` and say
in a `decodingInfo` member of an enclosing object that the list runs newest first
(`"values: [t=0, t-1, t-2, ...]"`). The interval between samples is a setting of the
device, reported only in its configuration frame and never with the samples, so their
times cannot be known from the uplink: the newest sample becomes the observation of the
list's field (`temperature.values`), at the uplink's time, and the older ones are not
stored. A list whose decoder does not say its order is reported, as is any other array.

When the network server sends only the raw payload (TTS `frm_payload`, ChirpStack
`data`, both base64), the connector hands it to a `Decoder` the node supplies: it knows
the device's model and codec (see `connectors.codecs`). Without one, or when the device
has no codec, the uplink is reported.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allmende.connectors.codecs import CodecFailed
from allmende.connectors.model import Observation, Provenance, Rejection, value_problem
from allmende.connectors.validation import pointer
from allmende.vocab.messages import N_, say


@dataclass(frozen=True, slots=True)
class RawUplink:
    """An undecoded uplink as the connector found it, for the node's `Decoder`.

    `device_id` is canonical (as the observations will name the device); `version_ids`
    are The Things Stack's end-device version identifiers (`brand_id`, `model_id`,
    `firmware_version`, `band_id` ...) when the message carries them.
    """

    device_id: str
    payload: bytes
    f_port: int
    received: datetime
    device_name: str | None = None
    version_ids: Mapping[str, Any] | None = None


Decoder = Callable[[RawUplink], Mapping[str, Any] | None]
"""Decodes a raw uplink with the device's codec: the decoded fields, None when the device
has no codec, or `connectors.codecs.CodecFailed` raised when the codec fails."""

NO_CODEC = N_(
    "no decoder result and no codec for this device: register it with its device model, "
    "upload a codec for it, or set a payload formatter in the network server"
)


NEWEST_FIRST = re.compile(r"\[\s*t\s*=\s*0\s*,\s*t\s*-\s*1\b")
"""How a decoder's `decodingInfo` says its lists of samples run newest first (Adeunis:
`values: [t=0, t-1, t-2, ...]`)."""


def newest_first(obj: Mapping[str, Any]) -> bool:
    """Whether this decoded object says, in its `decodingInfo`, that its lists of samples
    start with the newest."""
    info = obj.get("decodingInfo")
    return isinstance(info, str) and NEWEST_FIRST.search(info) is not None


def decode_raw(
    decoder: Decoder | None,
    raw_b64: str,
    *,
    device_id: str,
    f_port: int,
    received: datetime,
    path: str,
    device_name: str | None = None,
    version_ids: Mapping[str, Any] | None = None,
) -> tuple[Mapping[str, Any] | None, Rejection | None]:
    """Decode a base64 raw payload with the node's decoder: the fields, or why not.
    Without a decoder, neither (the caller reports the missing decoder result)."""
    if decoder is None:
        return None, None
    try:
        payload = base64.b64decode(raw_b64, validate=True)
    except (binascii.Error, ValueError):
        return None, Rejection(path, say("the raw payload is not base64"), "bad-payload")
    if not payload:
        return None, Rejection(path, say("the raw payload is empty"), "empty")
    raw = RawUplink(device_id, payload, f_port, received, device_name, version_ids)
    try:
        decoded = decoder(raw)
    except CodecFailed as failure:
        return None, Rejection(path, failure.reason, failure.code)
    if decoded is None:
        return None, Rejection(path, say(NO_CODEC), "no-decoder-result")
    return decoded, None


def decoded_observations(
    decoded: Mapping[str, Any],
    *,
    device_id: str,
    result_time: datetime,
    source: str,
    provenance: Provenance,
    path: str,
) -> tuple[list[Observation], list[Rejection]]:
    """One observation per scalar member of a decoder result (of a list of samples the
    newest, see the module's docstring), problems for the rest."""
    observations: list[Observation] = []
    rejections: list[Rejection] = []

    def walk(prefix: str, obj: Mapping[str, Any], at: str, ordered: bool) -> None:
        ordered = ordered or newest_first(obj)
        for key, value in obj.items():
            where = at + pointer((key,))
            if isinstance(value, Mapping):
                walk(prefix + key + ".", value, where, ordered)
                continue
            if isinstance(value, list) and ordered:
                if not value:
                    rejections.append(Rejection(where, say("empty list of samples"), "empty"))
                    continue
                value, where = value[0], where + "/0"  # the newest sample
            problem = value_problem(value)
            if problem is not None:
                rejections.append(Rejection(where, problem, "bad-value"))
                continue
            observations.append(
                Observation(
                    device_id=device_id,
                    field=prefix + key,
                    value=value,
                    result_time=result_time,
                    source=source,
                    provenance=provenance,
                    path=where,
                )
            )

    walk("", decoded, path, False)
    return observations, rejections


def best_reception(
    receptions: Iterable[tuple[float | None, float | None]],
) -> tuple[float | None, float | None]:
    """(rssi, snr) of the gateway that heard the device best: highest RSSI wins."""
    best: tuple[float | None, float | None] = (None, None)
    for rssi, snr in receptions:
        if rssi is not None and (best[0] is None or rssi > best[0]):
            best = (rssi, snr)
    return best
