"""The Things Stack v3 (TTN, TTI) webhook messages -> observations.

Accepts one application message as a TTS webhook posts it, or a JSON array of uplink
messages (Allmende's batch convention). Only uplinks carry observations: a join-accept,
downlink or location message alone is acknowledged and ignored; inside a batch it is
reported. The device is named by its DevEUI when TTS sends one (lower-cased), otherwise
by its TTS device id; the TTS device id is kept as `provenance.device_name`.

The result time is when the Network Server received the uplink
(`uplink_message.received_at`, else the Application Server's `received_at`). TTS leaves
out members whose value is 0, so a missing `f_cnt`/`f_port` means 0.

An uplink without `decoded_payload` but with `frm_payload` is decoded by the `decoder`
the node passes (the device model's codec, see `connectors.lorawan.Decoder`), given the
message's `version_ids` so that a model can be chosen from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from allmende.connectors.lorawan import Decoder, best_reception, decode_raw, decoded_observations
from allmende.connectors.model import (
    ConnectorResult,
    Observation,
    Provenance,
    Rejection,
    canonical_device_id,
    parse_time,
)
from allmende.connectors.validation import check
from allmende.vocab.messages import say

SCHEMA = "ttn.schema.json"
SOURCE = "ttn"
MAX_BATCH = 1000
DEFAULT_NETWORK_SERVER = "the-things-stack"
_OTHER_MESSAGES = (
    "join_accept",
    "downlink_ack",
    "downlink_nack",
    "downlink_sent",
    "downlink_failed",
    "downlink_queued",
    "downlink_queue_invalidated",
    "location_solved",
    "service_data",
)


def parse(
    payload: Any, *, network_server: str | None = None, decoder: Decoder | None = None
) -> ConnectorResult:
    """Observations from one TTS message or a batch; raises `PayloadRejected` on schema
    violations. `network_server` overrides the name taken from `network_ids`; `decoder`
    decodes raw payloads."""
    check(payload, SCHEMA)
    if isinstance(payload, list):
        observations: list[Observation] = []
        rejections: list[Rejection] = []
        for index, message in enumerate(payload):
            if "uplink_message" not in message:
                reason = say("not an uplink message (%(kind)s)", kind=_kind(message))
                rejections.append(Rejection(f"/{index}", reason, "not-an-uplink"))
                continue
            found, problems = _uplink(message, f"/{index}", network_server, decoder)
            observations.extend(found)
            rejections.extend(problems)
        return ConnectorResult(tuple(observations), tuple(rejections))
    if "uplink_message" not in payload:
        return ConnectorResult.ignore(f"The Things Stack {_kind(payload)} message: no data")
    found, problems = _uplink(payload, "", network_server, decoder)
    return ConnectorResult(tuple(found), tuple(problems))


def _kind(message: Mapping[str, Any]) -> str:
    return next((name for name in _OTHER_MESSAGES if name in message), "unknown")


def _uplink(
    message: Mapping[str, Any], path: str, network_server: str | None, decoder: Decoder | None
) -> tuple[list[Observation], list[Rejection]]:
    ids = message["end_device_ids"]
    up = message["uplink_message"]
    received = up.get("received_at") or message.get("received_at")
    if received is None:
        return [], [Rejection(path + "/received_at", say("no reception time"), "missing-time")]
    try:
        result_time = parse_time(received)
    except ValueError as error:
        where = path + ("/uplink_message/received_at" if "received_at" in up else "/received_at")
        return [], [Rejection(where, str(error), "bad-time")]

    dev_eui = ids.get("dev_eui")
    device_id = canonical_device_id(dev_eui) if dev_eui else ids["device_id"]
    decoded = up.get("decoded_payload")
    decoded_at = path + "/uplink_message/decoded_payload"
    if decoded is None and "frm_payload" in up:
        version_ids = up.get("version_ids")
        decoded, problem = decode_raw(
            decoder,
            up["frm_payload"],
            device_id=device_id,
            f_port=up.get("f_port", 0),
            received=result_time,
            path=path + "/uplink_message/frm_payload",
            device_name=ids["device_id"],
            version_ids=version_ids if isinstance(version_ids, Mapping) else None,
        )
        if problem is not None:
            return [], [problem]
        if decoded is not None:
            decoded_at = path + "/uplink_message/frm_payload"
    if decoded is None:
        reason = say("no decoder result: set a payload formatter for this device in TTS")
        return [], [Rejection(decoded_at, reason, "no-decoder-result")]

    receptions = up.get("rx_metadata", ())
    rssi, snr = best_reception((r.get("rssi"), r.get("snr")) for r in receptions)
    network_ids = up.get("network_ids", {})
    provenance = Provenance(
        network_server=network_server
        or network_ids.get("cluster_address")
        or network_ids.get("cluster_id")
        or DEFAULT_NETWORK_SERVER,
        application_id=ids["application_ids"]["application_id"],
        device_name=ids["device_id"],
        uplink_id=next(
            (c for c in message.get("correlation_ids", ()) if c.startswith("as:up:")), None
        ),
        gateway_ids=tuple(_gateway(r["gateway_ids"]) for r in receptions if "gateway_ids" in r),
        rssi=rssi,
        snr=snr,
        f_port=up.get("f_port", 0),
        f_cnt=up.get("f_cnt", 0),
        simulated=bool(message.get("simulated", False)),
    )
    observations, rejections = decoded_observations(
        decoded,
        device_id=device_id,
        result_time=result_time,
        source=SOURCE,
        provenance=provenance,
        path=decoded_at,
    )
    if not decoded:
        rejections.append(Rejection(decoded_at, say("decoder result is empty"), "empty"))
    return observations, rejections


def _gateway(ids: Mapping[str, Any]) -> str:
    """A gateway's EUI (lower case) when TTS knows it, its TTS gateway id otherwise."""
    eui = ids.get("eui")
    return str(eui).lower() if eui else str(ids["gateway_id"])
