"""Bearer JWTs (EdDSA) for admin routes: minted by `allmende token`, checked on every request.

Only EdDSA is accepted, so `alg: none` and the HS256-with-a-public-key confusion are refused
by construction; `iss`, `sub`, `aud`, `iat`, `nbf` and `exp` are required and checked, so a
token one party issued for itself cannot be replayed as another's.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from allmende.node.keys import NodeKey
from allmende.node.messages import say

ROLES = ("admin", "access", "participant", "resident")
"""admin: the operator's API; access: data under one agreement (node.usage); participant:
a partner organisation negotiating and transferring over the Dataspace Protocol (node.dsp),
its `sub` the participant id agreements are made out to; resident: a person of the
village (street lights on demand, node.actuation), its `sub` the resident's account name."""
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


REQUIRED_CLAIMS = ("iss", "sub", "aud", "iat", "nbf", "exp")


def verify_token(
    token: str,
    keys: Mapping[str, Ed25519PublicKey],
    audience: str,
    issuer: str | Mapping[str, str] | None = None,
) -> Principal:
    """The token's principal, or AuthError with a reason safe to show.

    `issuer` is the `iss` the token must carry: one value, or one per key id (a peer signs
    its own tokens); by default the audience itself, as for a node's own tokens."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError(say("malformed token")) from exc
    if header.get("alg") != "EdDSA":
        raise AuthError(say("only EdDSA-signed tokens are accepted"))
    kid = str(header.get("kid"))
    key = keys.get(kid)
    if key is None:
        raise AuthError(say("token signed by an unknown key"))
    if issuer is None:
        expected = audience
    elif isinstance(issuer, str):
        expected = issuer
    elif kid in issuer:
        expected = issuer[kid]
    else:
        raise AuthError(say("token signed by a key with no known issuer"))
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            audience=audience,
            issuer=expected,
            options={"require": list(REQUIRED_CLAIMS)},
            leeway=5,
        )
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(say("token lacks the '%(claim)s' claim", claim=exc.claim)) from exc
    except jwt.ExpiredSignatureError as exc:
        raise AuthError(say("token expired")) from exc
    except jwt.ImmatureSignatureError as exc:
        raise AuthError(say("token not yet valid")) from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthError(say("token is for another audience")) from exc
    except jwt.InvalidIssuerError as exc:
        raise AuthError(say("token is from another issuer")) from exc
    except jwt.PyJWTError as exc:
        raise AuthError(say("invalid token")) from exc
    return Principal(subject=str(claims["sub"]), role=str(claims.get("role", "")), claims=claims)
