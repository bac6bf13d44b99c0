"""Event signatures: single and batch, and every way they must fail."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from allmende.node.events import VerificationError, new_event
from allmende.node.events.signing import sign_batch, sign_event, verify_batch, verify_event
from allmende.node.keys import NodeKey
from allmende.policies import jws

SOURCE = "https://luetjenholm.example/"


@pytest.fixture
def key() -> NodeKey:
    return NodeKey(Ed25519PrivateKey.generate())


def events(count: int) -> list[dict[str, object]]:
    return [
        new_event(SOURCE, "graph.extended", {"graph": "urn:g", "n": index, "text": "Feuchte ü"})
        for index in range(count)
    ]


def keys_of(key: NodeKey) -> dict[str, object]:
    return jws.keys_from_jwks(key.jwks())


def test_event_signature_verifies_with_published_jwks(key: NodeKey) -> None:
    event = events(1)[0]
    verify_event(event, sign_event(event, key), keys_of(key))


def test_signature_survives_reserialisation(key: NodeKey) -> None:
    event = events(1)[0]
    signature = sign_event(event, key)
    reordered = dict(reversed(list(event.items())))
    verify_event(reordered, signature, keys_of(key))


def test_tampered_payload_fails(key: NodeKey) -> None:
    event = events(1)[0]
    signature = sign_event(event, key)
    tampered = copy.deepcopy(event)
    tampered["data"]["n"] = 1  # type: ignore[index]
    with pytest.raises(VerificationError, match="does not match"):
        verify_event(tampered, signature, keys_of(key))


def test_wrong_key_fails(key: NodeKey) -> None:
    event = events(1)[0]
    other = NodeKey(Ed25519PrivateKey.generate())
    forged = jws.sign_detached(event, other.private, key.kid)  # claims the right kid
    with pytest.raises(VerificationError, match="does not match"):
        verify_event(event, forged, keys_of(key))


def test_unknown_kid_fails(key: NodeKey) -> None:
    event = events(1)[0]
    other = NodeKey(Ed25519PrivateKey.generate())
    with pytest.raises(VerificationError, match="unknown key id"):
        verify_event(event, sign_event(event, other), keys_of(key))


@pytest.mark.parametrize(
    "token",
    ["", "a.b.c", "eyJhbGciOiJub25lIn0..", "eyJhbGciOiJIUzI1NiIsImtpZCI6IngifQ..AAAA"],
)
def test_malformed_or_foreign_algorithms_fail(key: NodeKey, token: str) -> None:
    with pytest.raises(VerificationError):
        verify_event(events(1)[0], token, keys_of(key))


def test_batch_verifies(key: NodeKey) -> None:
    batch = events(5)
    digests, signature = sign_batch("b1", batch, key)
    verify_batch("b1", batch, digests, signature, keys_of(key))


def test_reordered_batch_fails(key: NodeKey) -> None:
    batch = events(5)
    digests, signature = sign_batch("b1", batch, key)
    swapped = [batch[1], batch[0], *batch[2:]]
    with pytest.raises(VerificationError, match="event 0 does not match"):
        verify_batch("b1", swapped, digests, signature, keys_of(key))
    with pytest.raises(VerificationError, match="does not match"):
        verify_batch("b1", swapped, [digests[1], digests[0], *digests[2:]], signature, keys_of(key))


def test_batch_with_dropped_or_changed_event_fails(key: NodeKey) -> None:
    batch = events(5)
    digests, signature = sign_batch("b1", batch, key)
    with pytest.raises(VerificationError, match="5 digests"):
        verify_batch("b1", batch[:4], digests, signature, keys_of(key))
    changed = copy.deepcopy(batch)
    changed[3]["data"]["text"] = "Feuchte u"  # type: ignore[index]
    with pytest.raises(VerificationError, match="event 3"):
        verify_batch("b1", changed, digests, signature, keys_of(key))
    with pytest.raises(VerificationError):
        verify_batch("b2", batch, digests, signature, keys_of(key))


def test_single_batch_member_verifies_on_its_own(key: NodeKey) -> None:
    from allmende.node.events.signing import verify_batch_member

    batch = events(4)
    digests, signature = sign_batch("b1", batch, key)
    verify_batch_member(batch[2], 2, "b1", digests, signature, keys_of(key))
    with pytest.raises(VerificationError, match="event 1 does not match"):
        verify_batch_member(batch[2], 1, "b1", digests, signature, keys_of(key))
    with pytest.raises(VerificationError):
        verify_batch_member(batch[2], 7, "b1", digests, signature, keys_of(key))


def test_signature_has_no_second_spelling(key: NodeKey) -> None:
    """Flipping the unused low bits of the last base64url character must not verify."""
    event = events(1)[0]
    signature = sign_event(event, key)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = signature[-1]
    twin = signature[:-1] + alphabet[alphabet.index(last) ^ 1]
    with pytest.raises(VerificationError):
        verify_event(event, twin, keys_of(key))
