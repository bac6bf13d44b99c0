"""Sealed contents of a forwarded report: readable by the village responsible only.

The federation feed is public and a Kafka topic reaches every member, yet a forwarded
report may still wait for release (moderation): its text, place and category must not
be readable by anyone but the village it is addressed to. So the origin seals them to
that village's node key, the same Ed25519 key that signs its events, turned into its
X25519 form (libsodium's crypto_sign_ed25519_pk_to_curve25519, via PyNaCl) and used in
a sealed box (anonymous X25519 + XSalsa20-Poly1305). The event stays signed by the origin,
so the recipient knows who sealed it. One box per key the peer has published (a key
rotation in flight does not lose the report); the recipient opens the one of its key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from nacl import bindings
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from allmende.node.keys import NodeKey

MAX_SEALED = 48 * 1024  # base64 of one box; the content is text of a few KB
MAX_BOXES = 8


class Unsealable(ValueError):
    """A sealed content this node cannot open (not for its key, or tampered with)."""


def _x25519_public(key: Ed25519PublicKey) -> PublicKey:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PublicKey(bindings.crypto_sign_ed25519_pk_to_curve25519(raw))


def _x25519_private(key: NodeKey) -> PrivateKey:
    seed = key.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PrivateKey(bindings.crypto_sign_ed25519_sk_to_curve25519(seed + public))


def seal(content: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> dict[str, str]:
    """`content` as JSON in one sealed box per key id of the recipient."""
    if not keys:
        raise Unsealable("no key of the recipient is known")
    plain = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return {
        kid: base64.b64encode(SealedBox(_x25519_public(public)).encrypt(plain)).decode("ascii")
        for kid, public in list(keys.items())[:MAX_BOXES]
    }


def unseal(sealed: Mapping[str, Any], key: NodeKey) -> dict[str, Any]:
    """The content sealed to this node's key, or Unsealable."""
    box = sealed.get(key.kid)
    if not isinstance(box, str):
        raise Unsealable(f"nothing sealed to this node's key {key.kid}")
    try:
        plain = SealedBox(_x25519_private(key)).decrypt(base64.b64decode(box, validate=True))
        content = json.loads(plain)
    except (CryptoError, ValueError) as exc:
        raise Unsealable(f"the sealed content cannot be opened: {exc}") from None
    if not isinstance(content, dict):
        raise Unsealable("the sealed content is not an object")
    return content


def check_sealed(sealed: Any) -> None:
    """The shape of the sealed boxes (what can be checked without opening them)."""
    if not isinstance(sealed, dict) or not 1 <= len(sealed) <= MAX_BOXES:
        raise ValueError(f"sealed must be an object of 1 to {MAX_BOXES} boxes by key id")
    for kid, box in sealed.items():
        if not isinstance(kid, str) or len(kid) > 100:
            raise ValueError("sealed: key ids are text")
        if not isinstance(box, str) or len(box) > MAX_SEALED:
            raise ValueError(f"sealed[{kid}]: base64 text of at most {MAX_SEALED} characters")
