"""Detached Ed25519 JWS over RFC 8785 canonical JSON.

Events, offers and agreements are all signed the same way, so that anyone holding a node's
JWKS can check them without knowing which part of Allmende made them. The payload is never
embedded (RFC 7515, appendix F): the signed bytes are the JCS form of the document itself,
so a signature stays valid however the JSON is re-serialised on the way.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import orjson
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALGORITHM = "EdDSA"


class SignatureError(ValueError):
    """A signature that does not verify, whatever the reason (shape, key or bytes)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict: only the one canonical spelling decodes, so a signature has no twins."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise SignatureError("not base64url") from exc
    if b64url(data) != text:
        raise SignatureError("not canonical base64url")
    return data


def canonical(obj: Any) -> bytes:
    """RFC 8785 (JCS) bytes: one byte string per JSON value, whoever serialised it.

    Documents of strings, booleans, nulls and safe integers with keys below U+D800 (events
    and policies, in practice) serialise identically through orjson with sorted keys (the
    same escapes, and UTF-8 order is UTF-16 order below U+D800), which is many times faster
    on large literals such as an event's N-Triples; anything else (floats above all) takes
    the `rfc8785` reference path.
    """
    if _plain(obj):
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # lone surrogates: let the reference path say why
            pass
    return rfc8785.dumps(obj)


_SAFE_INTEGER = 2**53 - 1


def _plain(value: Any) -> bool:
    """True where JCS and sorted compact JSON (orjson, `json.dumps`) agree byte for byte.

    They differ only for numbers (ECMAScript number formatting) and for keys outside the
    Basic Multilingual Plane's lower part, where UTF-16 order is not code point order.
    """
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and (key.isascii() or max(key) < "\ud800") and _plain(item)
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    return False


def digest(obj: Any) -> str:
    """SHA-256 of the canonical form, base64url: what a batch signature covers per event."""
    return b64url(hashlib.sha256(canonical(obj)).digest())


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}


def thumbprint(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint, used as `kid` so a key id can be checked against the key."""
    jwk = public_jwk(public_key)
    members = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":")
    )
    return b64url(hashlib.sha256(members.encode()).digest())


def key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
        raise SignatureError("only OKP/Ed25519 keys are accepted")
    raw = b64url_decode(jwk["x"])
    if len(raw) != 32:
        raise SignatureError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def keys_from_jwks(jwks: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """Map kid -> key for every usable key of a JWKS document; others are ignored."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.get("keys", []):
        try:
            key = key_from_jwk(jwk)
        except SignatureError:
            continue
        keys[str(jwk.get("kid") or thumbprint(key))] = key
    return keys


def sign_bytes(data: bytes, private_key: Ed25519PrivateKey, kid: str) -> str:
    header = b64url(canonical({"alg": ALGORITHM, "kid": kid}))
    signing_input = header.encode() + b"." + b64url(data).encode()
    return f"{header}..{b64url(private_key.sign(signing_input))}"


def verify_bytes(data: bytes, token: str, keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """Check a detached compact JWS against `data`; return its protected header."""
    parts = token.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise SignatureError("not a detached compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
    except ValueError as exc:
        raise SignatureError("protected header is not JSON") from exc
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        raise SignatureError("only alg EdDSA is accepted")
    if header.get("crit"):
        raise SignatureError("unsupported critical header parameters")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise SignatureError(f"unknown key id {kid!r}")
    signing_input = parts[0].encode() + b"." + b64url(data).encode()
    try:
        keys[kid].verify(b64url_decode(parts[2]), signing_input)
    except InvalidSignature as exc:
        raise SignatureError("signature does not match") from exc
    return header


def sign_detached(obj: Any, private_key: Ed25519PrivateKey, kid: str) -> str:
    """Sign the canonical form of a JSON value; the JWS carries no payload."""
    return sign_bytes(canonical(obj), private_key, kid)


def verify_detached(obj: Any, token: str, keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    return verify_bytes(canonical(obj), token, keys)
