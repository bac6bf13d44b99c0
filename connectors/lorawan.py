"""What TTN and ChirpStack have in common: decoder results and gateway receptions.

Both network servers run a payload decoder (a "payload formatter" in TTN, a "codec" in
ChirpStack) and hand us its JSON object. Each scalar member becomes one observation;
nested objects become dotted field names (`{"air": {"t": 21}}` -> `air.t`); arrays and
nulls are reported, since neither is one measured value.

When the network server sends only the raw payload (TTS `frm_payload`, ChirpStack
`data`, both base64), the connector hands it to a `Decoder` the node supplies: it knows
the device's model and codec (see `connectors.codecs`). Without one, or when the device
has no codec, the uplink is reported.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allmende.connectors.codecs import CodecFailed
from allmende.connectors.model import Observation, Provenance, Rejection, value_problem
from allmende.connectors.validation import pointer


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

NO_CODEC = (
    "no decoder result and no codec for this device: register it with its device model, "
    "upload a codec for it, or set a payload formatter in the network server"
)


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
        return None, Rejection(path, "the raw payload is not base64", "bad-payload")
    if not payload:
        return None, Rejection(path, "the raw payload is empty", "empty")
    raw = RawUplink(device_id, payload, f_port, received, device_name, version_ids)
    try:
        decoded = decoder(raw)
    except CodecFailed as failure:
        return None, Rejection(path, failure.reason, failure.code)
    if decoded is None:
        return None, Rejection(path, NO_CODEC, "no-decoder-result")
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
    """One observation per scalar member of a decoder result, problems for the rest."""
    observations: list[Observation] = []
    rejections: list[Rejection] = []

    def walk(prefix: str, obj: Mapping[str, Any], at: str) -> None:
        for key, value in obj.items():
            where = at + pointer((key,))
            if isinstance(value, Mapping):
                walk(prefix + key + ".", value, where)
                continue
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

    walk("", decoded, path)
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
