"""Bearer JWTs (EdDSA) for admin routes: minted by `allmende token`, checked on every request.

Only EdDSA is accepted, so `alg: none` and the HS256-with-a-public-key confusion are refused
by construction; `exp`, `iat` and `aud` are required.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.keys import NodeKey

ROLES = ("admin", "access", "participant")
"""admin: the operator's API; access: data under one agreement (node.usage); participant:
a partner organisation negotiating and transferring over the Dataspace Protocol (node.dsp),
its `sub` the participant id agreements are made out to."""
DEFAULT_TTL = 12 * 3600


class AuthError(Exception):
    """A token that does not grant what was asked; the message is safe to show."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    claims: dict[str, Any]


def mint_token(
    key: NodeKey,
    audience: str,
    *,
    role: str = "admin",
    subject: str = "operator",
    ttl: int = DEFAULT_TTL,
    extra: Mapping[str, Any] | None = None,
    issuer: str | None = None,
) -> str:
    """A token for `audience`; the issuer is the audience itself (a node's own tokens)
    unless a node mints one for another node (`issuer` = its own id)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    issued = int(time.time())
    claims = {
        "iss": issuer or audience,
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
        "role": role,
        **(extra or {}),
    }
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})


def verify_token(token: str, keys: Mapping[str, Ed25519PublicKey], audience: str) -> Principal:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError("malformed token") from exc
    if header.get("alg") != "EdDSA":
        raise AuthError("only EdDSA-signed tokens are accepted")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise AuthError("token signed by an unknown key")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            audience=audience,
            options={"require": ["exp", "iat", "aud", "sub"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise AuthError("token not yet valid") from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthError("token is for another audience") from exc
    except jwt.PyJWTError as exc:
        raise AuthError("invalid token") from exc
    return Principal(subject=str(claims["sub"]), role=str(claims.get("role", "")), claims=claims)
