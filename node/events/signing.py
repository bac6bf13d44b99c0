"""Signatures on events: one JWS per event, or one per ordered batch of event digests.

A batch signature covers the list of the events' JCS digests in order, so a single Ed25519
verification vouches for thousands of observations, and moving, dropping or changing any
event of the batch breaks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from allmende.node.keys import NodeKey
from allmende.policies import jws


class VerificationError(ValueError):
    """An event or batch whose signature cannot be trusted."""


def batch_statement(batch_id: str, digests: Sequence[str]) -> dict[str, Any]:
    return {"batch": batch_id, "digests": list(digests)}


def sign_event(event: Mapping[str, Any], key: NodeKey) -> str:
    return key.sign(event)


def sign_batch(
    batch_id: str, events: Sequence[Mapping[str, Any]], key: NodeKey
) -> tuple[list[str], str]:
    digests = [jws.digest(event) for event in events]
    return digests, key.sign(batch_statement(batch_id, digests))


def verify_event(
    event: Mapping[str, Any], signature: str, keys: Mapping[str, Ed25519PublicKey]
) -> None:
    try:
        jws.verify_detached(event, signature, keys)
    except jws.SignatureError as exc:
        raise VerificationError(f"event {event.get('id')!r}: {exc}") from exc


def verify_batch(
    batch_id: str,
    events: Sequence[Mapping[str, Any]],
    digests: Sequence[str],
    signature: str,
    keys: Mapping[str, Ed25519PublicKey],
) -> None:
    """The signature must cover exactly these events, in this order."""
    try:
        jws.verify_detached(batch_statement(batch_id, digests), signature, keys)
    except jws.SignatureError as exc:
        raise VerificationError(f"batch {batch_id!r}: {exc}") from exc
    if len(events) != len(digests):
        raise VerificationError(f"batch {batch_id!r}: {len(events)} events, {len(digests)} digests")
    for index, (event, expected) in enumerate(zip(events, digests, strict=True)):
        if jws.digest(event) != expected:
            raise VerificationError(f"batch {batch_id!r}: event {index} does not match its digest")


def verify_batch_member(
    event: Mapping[str, Any],
    index: int,
    batch_id: str,
    digests: Sequence[str],
    signature: str,
    keys: Mapping[str, Ed25519PublicKey],
) -> None:
    """Check one event of a batch on its own: the signed digest list must name it at `index`.

    Callers that verify many members of one batch may cache the statement check.
    """
    try:
        jws.verify_detached(batch_statement(batch_id, digests), signature, keys)
    except jws.SignatureError as exc:
        raise VerificationError(f"batch {batch_id!r}: {exc}") from exc
    if not 0 <= index < len(digests) or jws.digest(event) != digests[index]:
        raise VerificationError(f"batch {batch_id!r}: event {index} does not match its digest")
