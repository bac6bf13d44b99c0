"""Verifiable credentials as JWTs: VC data model 1.1 (`vc` claim, JWT encoding) and 2.0
(VC-JOSE-COSE: the payload is the credential), their status lists (StatusList2021 and
Bitstring Status List), and the credentials the node holds itself.

A credential is believed when its issuer is trusted by the operator, its signature verifies
with the issuer's did:web key, it is in its validity period, it is about the holder that
presents it, and its status list (if it names one) does not mark it revoked or suspended.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt

from allmende.node.identity.fetch import Fetcher, FetchError
from allmende.node.identity.jwts import TokenError, check_signature, signer_key, unverified

STATUS_TYPES = ("StatusList2021Entry", "BitstringStatusListEntry")
MAX_STATUS_BITS = 16 * 1024 * 1024 * 8
CREDENTIALS_DIR = "credentials"


@dataclass(frozen=True)
class Credential:
    """What the node learnt from one verified credential."""

    id: str | None
    types: tuple[str, ...]
    issuer: str
    subject: str
    claims: dict[str, Any]
    """The credentialSubject, as the issuer wrote it."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _time(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise TokenError(f"{what} is not a date", 403) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def credential_body(claims: dict[str, Any]) -> dict[str, Any]:
    """The credential inside a JWT payload: the `vc` claim (1.1) or the payload (2.0)."""
    body = claims.get("vc", claims)
    if not isinstance(body, dict) or "VerifiableCredential" not in _as_list(body.get("type")):
        raise TokenError("a presented credential is not a VerifiableCredential", 403)
    return body


def issuer_of(claims: dict[str, Any]) -> str:
    body = credential_body(claims)
    issuer = body.get("issuer", claims.get("iss"))
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    if not isinstance(issuer, str) or not issuer:
        raise TokenError("a presented credential names no issuer", 403)
    if "iss" in claims and claims["iss"] != issuer:
        raise TokenError("a presented credential names two different issuers", 403)
    return issuer


def subject_of(claims: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    subjects = _as_list(credential_body(claims).get("credentialSubject"))
    subject = subjects[0] if subjects and isinstance(subjects[0], dict) else {}
    holder = subject.get("id", claims.get("sub"))
    return (holder if isinstance(holder, str) else None), subject


async def verify_credential(
    fetcher: Fetcher,
    token: str,
    *,
    holder: str,
    trusted: list[str],
    now: datetime | None = None,
) -> Credential:
    """A credential `holder` presented, or TokenError (403) saying why it is not believed."""
    header, claims = unverified(token, "a presented credential")
    issuer = issuer_of(claims)
    if issuer not in trusted:
        raise TokenError(f"a credential issued by {issuer}, which this node does not trust", 403)
    key = await signer_key(fetcher, issuer, header["kid"], f"the credential of {issuer}")
    try:
        claims = check_signature(token, key, f"the credential of {issuer}")
    except TokenError as exc:
        raise TokenError(str(exc), 403) from exc
    body = credential_body(claims)
    now = now or datetime.now(UTC)
    until = _time(body.get("expirationDate", body.get("validUntil")), "the expiry")
    if until is not None and until <= now:
        raise TokenError(f"the credential of {issuer} expired at {until.isoformat()}", 403)
    since = _time(body.get("issuanceDate", body.get("validFrom")), "the issuance date")
    if since is not None and since > now:
        raise TokenError(f"the credential of {issuer} is valid only from {since.isoformat()}", 403)
    subject, subject_claims = subject_of(claims)
    if subject != holder:
        raise TokenError(f"a credential of {issuer} is about {subject}, not {holder}", 403)
    for status in _as_list(body.get("credentialStatus")):
        await check_status(fetcher, status, issuer)
    types = tuple(str(t) for t in _as_list(body.get("type")))
    identifier = body.get("id", claims.get("jti"))
    return Credential(
        identifier if isinstance(identifier, str) else None, types, issuer, holder, subject_claims
    )


def _decode_list(encoded: str) -> bytes:
    """StatusList2021: base64url of the GZIP'd bits; Bitstring: the same with a multibase `u`."""
    text = encoded[1:] if encoded.startswith("u") else encoded
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
        bits = stream.read(MAX_STATUS_BITS // 8 + 1)
    if len(bits) > MAX_STATUS_BITS // 8:
        raise ValueError("status list too long")
    return bits


async def check_status(fetcher: Fetcher, status: Any, issuer: str) -> None:
    """Refuse a credential its issuer's status list marks (revoked or suspended)."""
    if not isinstance(status, dict) or status.get("type") not in STATUS_TYPES:
        kind = status.get("type") if isinstance(status, dict) else type(status).__name__
        raise TokenError(f"the credential of {issuer} has a status of unknown type {kind!r}", 403)
    url = status.get("statusListCredential")
    try:
        index = int(status.get("statusListIndex", ""))
    except ValueError as exc:
        raise TokenError(f"the credential of {issuer} has no valid statusListIndex", 403) from exc
    if not isinstance(url, str) or index < 0:
        raise TokenError(f"the credential of {issuer} names no usable status list", 403)
    purpose = str(status.get("statusPurpose", "revocation"))
    try:
        raw = (await fetcher.get(url, f"the status list of {issuer}")).decode().strip()
    except (FetchError, UnicodeDecodeError) as exc:
        raise TokenError(
            f"the status of the credential of {issuer} is unknown: {exc}", 403
        ) from exc
    header, claims = unverified(raw, f"the status list of {issuer}")
    if issuer_of(claims) != issuer:
        raise TokenError(f"the status list of {issuer} is signed by someone else", 403)
    key = await signer_key(fetcher, issuer, header["kid"], f"the status list of {issuer}")
    try:
        claims = check_signature(raw, key, f"the status list of {issuer}")
        subject = subject_of(claims)[1]
        bits = _decode_list(str(subject.get("encodedList", "")))
    except (TokenError, ValueError, OSError, EOFError) as exc:
        raise TokenError(f"the status list of {issuer} is not usable", 403) from exc
    if index >= len(bits) * 8:
        raise TokenError(f"the status list of {issuer} is shorter than the credential's index", 403)
    if bits[index // 8] >> (7 - index % 8) & 1:
        word = "revoked" if purpose == "revocation" else purpose
        raise TokenError(f"the credential of {issuer} is {word}", 403)


def encode_status_list(set_bits: set[int], length: int = 131072) -> str:
    """A Bitstring status list's `encodedList` (multibase base64url of the GZIP'd bits)."""
    bits = bytearray(length // 8)
    for index in set_bits:
        bits[index // 8] |= 1 << (7 - index % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits))).decode().rstrip("=")


# -- the node's own credentials (it is the holder) ------------------------------------------


def store_path(directory: Path) -> Path:
    return directory / CREDENTIALS_DIR


def import_credential(directory: Path, did: str, text: str) -> tuple[Path, dict[str, Any]]:
    """Keep a credential issued to the node (a VC as JWT) in the node folder; refuse one
    about someone else, an expired one or anything that is not a credential."""
    token = text.strip()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise ValueError("not a verifiable credential as JWT (header.payload.signature)") from exc
    try:
        issuer = issuer_of(claims)
        subject = subject_of(claims)[0]
        body = credential_body(claims)
        until = _time(
            body.get("expirationDate", body.get("validUntil", claims.get("exp"))), "expiry"
        )
    except TokenError as exc:
        raise ValueError(str(exc)) from exc
    if subject != did:
        raise ValueError(f"the credential is about {subject}, not this node ({did})")
    if until is not None and until <= datetime.now(UTC):
        raise ValueError(f"the credential expired at {until.isoformat()}")
    folder = store_path(directory)
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / (hashlib.sha256(token.encode()).hexdigest()[:32] + ".jwt")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return path, {"issuer": issuer, "types": _as_list(body.get("type")), "id": body.get("id")}


def held(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """The node's credentials: (JWT, credential) for each imported one still valid."""
    found = []
    now = datetime.now(UTC)
    for path in sorted(store_path(directory).glob("*.jwt")):
        token = path.read_text().strip()
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            body = credential_body(claims)
            until = _time(
                body.get("expirationDate", body.get("validUntil", claims.get("exp"))), "expiry"
            )
        except (jwt.PyJWTError, TokenError):
            continue
        if until is None or until > now:
            found.append((token, body))
    return found
