"""The node's secure token service: what it sends an EDC provider as its identity.

A self-issued ID token (iss = sub = the node's DID, aud = the provider's participant id)
whose `token` claim is an access token for the node's own credential service, scoped to the
credentials the provider may read and bound to that provider (`sub`), as EDC's embedded STS
makes them. The DSP consumer side puts the result in the `Authorization` header.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

import jwt

from allmende.node.identity.did import own_did, own_key_id
from allmende.node.runtime import Node


def sign(node: Node, claims: dict[str, Any]) -> str:
    """A JWT signed with the node's key, naming it by its DID verification method."""
    headers = {"kid": own_key_id(node), "typ": "JWT"}
    return jwt.encode(claims, node.key.private, algorithm="EdDSA", headers=headers)


def access_token(node: Node, audience: str, scopes: Iterable[str]) -> str:
    """An access token for the node's credential service: `audience` may read `scopes`."""
    did = own_did(node)
    now = int(time.time())
    return sign(
        node,
        {
            "iss": did,
            "sub": audience,
            "aud": did,
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + node.settings.dcp.token_seconds,
            "jti": str(uuid.uuid4()),
        },
    )


def self_issued_token(node: Node, audience: str, scopes: Iterable[str] | None = None) -> str:
    """The node's self-issued ID token for a DSP request to `audience` (the provider's
    participant id, usually its DID); `scopes` default to dcp.scopes."""
    did = own_did(node)
    chosen = list(node.settings.dcp.scopes if scopes is None else scopes)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": did,
        "sub": did,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + node.settings.dcp.token_seconds,
        "jti": str(uuid.uuid4()),
    }
    if chosen:
        claims["token"] = access_token(node, audience, chosen)
    return sign(node, claims)
