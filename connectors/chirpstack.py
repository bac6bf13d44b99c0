"""ChirpStack v4 integration events (JSON encoding) -> observations.

ChirpStack's HTTP integration posts every event to one URL and names its type in the
`?event=` query parameter (the MQTT integration puts it at the end of the topic). Only
`up` carries data; `join`, `ack`, `txack`, `log`, `status`, `location` and
`integration` are acknowledged and ignored, any other type is refused so that a typo in
a URL does not swallow data silently. A missing type is read as `up`.

The device is its DevEUI (lower case); the result time is the event's `time`. The
Protobuf JSON mapping leaves out zero values, so a missing `fCnt`/`fPort` means 0.

An `up` event without `object` (the device profile has no codec) but with `data` is
decoded by the `decoder` the node passes (see `connectors.lorawan.Decoder`).

ChirpStack v3's events (`devEUI` at the top) are read too, renamed to v4's form by
`connectors.chirpstack_v3`.
"""

from __future__ import annotations

from typing import Any

from allmende.connectors.chirpstack_v3 import is_v3, to_v4
from allmende.connectors.lorawan import Decoder, best_reception, decode_raw, decoded_observations
from allmende.connectors.model import (
    ConnectorResult,
    PayloadRejected,
    Provenance,
    Rejection,
    canonical_device_id,
    parse_time,
)
from allmende.connectors.validation import check
from allmende.vocab.messages import say

SCHEMA = "chirpstack.schema.json"
SOURCE = "chirpstack"
DEFAULT_NETWORK_SERVER = "chirpstack"
IGNORED_EVENTS = frozenset({"join", "ack", "txack", "log", "status", "location", "integration"})


def parse(
    event_type: str | None,
    payload: Any,
    *,
    network_server: str | None = None,
    decoder: Decoder | None = None,
) -> ConnectorResult:
    """Observations from an `up` event; raises `PayloadRejected` on schema violations
    and unknown event types. `decoder` decodes raw payloads."""
    event = "up" if event_type is None else event_type
    if event in IGNORED_EVENTS:
        if not isinstance(payload, dict):
            raise PayloadRejected([Rejection("", say("an event must be a JSON object"), "schema")])
        return ConnectorResult.ignore(f"ChirpStack {event} event: no data")
    if event != "up":
        shown = event[:32]
        raise PayloadRejected([Rejection("?event", f"unknown event type {shown!r}", "event")])
    if is_v3(payload):
        payload = to_v4(payload)
    check(payload, SCHEMA)

    info = payload["deviceInfo"]
    try:
        result_time = parse_time(payload["time"])
    except ValueError as error:
        return ConnectorResult(rejections=(Rejection("/time", str(error), "bad-time"),))
    device_id = canonical_device_id(info["devEui"])
    decoded = payload.get("object")
    decoded_at = "/object"
    if decoded is None and "data" in payload:
        decoded, problem = decode_raw(
            decoder,
            payload["data"],
            device_id=device_id,
            f_port=payload.get("fPort", 0),
            received=result_time,
            path="/data",
            device_name=info.get("deviceName"),
        )
        if problem is not None:
            return ConnectorResult(rejections=(problem,))
        if decoded is not None:
            decoded_at = "/data"
    if decoded is None:
        reason = say("no decoder result: configure a codec in the device profile")
        return ConnectorResult(rejections=(Rejection("/object", reason, "no-decoder-result"),))

    receptions = payload.get("rxInfo", ())
    rssi, snr = best_reception((r.get("rssi"), r.get("snr")) for r in receptions)
    provenance = Provenance(
        network_server=network_server or DEFAULT_NETWORK_SERVER,
        application_id=info.get("applicationId"),
        device_name=info.get("deviceName"),
        uplink_id=payload.get("deduplicationId"),
        gateway_ids=tuple(r["gatewayId"].lower() for r in receptions if "gatewayId" in r),
        rssi=rssi,
        snr=snr,
        f_port=payload.get("fPort", 0),
        f_cnt=payload.get("fCnt", 0),
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
    return ConnectorResult(tuple(observations), tuple(rejections))
