"""How signed events travel between nodes, on the HTTP feed and in Kafka messages alike.

A bundle lists events with their proofs; a batch's digest list and signature are written
once per bundle, not once per event, so a bundle of a thousand observations of one batch
costs one list and one signature check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsonschema_rs

from allmende.node.events.log import BatchProof, SignedEvent

MAX_EVENTS = 5000
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["events"],
    "properties": {
        "events": {
            "type": "array",
            "maxItems": MAX_EVENTS,
            "items": {
                "type": "object",
                "required": ["event"],
                "properties": {
                    "event": {"type": "object"},
                    "signature": {"type": "string", "maxLength": 1000},
                    "batch": {
                        "type": "object",
                        "required": ["id", "index"],
                        "properties": {
                            "id": {"type": "string", "maxLength": 64},
                            "index": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
        },
        "batches": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["digests", "signature"],
                "properties": {
                    "digests": {
                        "type": "array",
                        "maxItems": 100_000,
                        "items": {"type": "string", "maxLength": 64},
                    },
                    "signature": {"type": "string", "maxLength": 1000},
                },
            },
        },
    },
}
_VALIDATOR = jsonschema_rs.validator_for(_SCHEMA)


class WireError(ValueError):
    """A bundle that is not shaped as one; nothing of it is taken."""


def pack(events: Sequence[SignedEvent], **extra: Any) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    batches: dict[str, dict[str, Any]] = {}
    for signed in events:
        item: dict[str, Any] = {"event": signed.event}
        if signed.signature is not None:
            item["signature"] = signed.signature
        if signed.batch is not None:
            item["batch"] = {"id": signed.batch.id, "index": signed.batch.index}
            batches.setdefault(
                signed.batch.id,
                {"digests": signed.batch.digests, "signature": signed.batch.signature},
            )
        items.append(item)
    return {**extra, "events": items, "batches": batches}


def unpack(body: Any) -> list[SignedEvent]:
    errors = [error.message for error in _VALIDATOR.iter_errors(body)]
    if errors:
        raise WireError(f"not an event bundle: {errors[0]}")
    batches = body.get("batches") or {}
    events: list[SignedEvent] = []
    for item in body["events"]:
        proof = None
        if "batch" in item:
            batch = batches.get(item["batch"]["id"])
            if batch is None:
                raise WireError(f"batch {item['batch']['id']!r} is not in the bundle")
            proof = BatchProof(
                item["batch"]["id"], item["batch"]["index"], batch["digests"], batch["signature"]
            )
        events.append(SignedEvent(item["event"], item.get("signature"), proof))
    return events
