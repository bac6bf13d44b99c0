"""Signed offers and agreements, verifiable by anyone holding the signers' JWKS.

A signed document is a JSON object with exactly two members:

    {
      "policy": { ...the ODRL policy in JSON-LD, exactly as signed... },
      "signatures": [
        {"role": "provider", "kid": "<key id>", "jws": "<protected header>..<signature>"},
        {"role": "consumer", "kid": "<key id>", "jws": "..."}
      ]
    }

Each `jws` is a detached compact Ed25519 JWS (`policies.jws`) over the RFC 8785 canonical
bytes of `{"policy": <policy>, "role": <role>}`: the role is signed, so a provider's
signature cannot be passed off as a consumer's, and the JSON may be re-serialised freely.
The parties sign independently (list order means nothing). The provider signs offers and
agreements; the consumer countersigns agreements only, to show what it accepted. Nothing
outside `policy` and `signatures` is allowed, so a changed character anywhere either breaks
a signature or makes the document invalid.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from allmende.policies import jws
from allmende.policies.jsonld import from_jsonld, to_jsonld
from allmende.policies.jws import SignatureError
from allmende.policies.model import Policy, PolicyType

PROVIDER = "provider"
CONSUMER = "consumer"
ROLES = (PROVIDER, CONSUMER)


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    role: str
    kid: str


def _signed_content(policy: Mapping[str, Any], role: str) -> dict[str, Any]:
    return {"policy": policy, "role": role}


def _policy_document(policy: Policy | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-LD to sign; a mapping must read as a policy (we never sign what we can't)."""
    if isinstance(policy, Policy):
        return to_jsonld(policy)
    document: dict[str, Any] = json.loads(json.dumps(policy))  # a detached, plain-JSON copy
    from_jsonld(document)
    return document


def _check_role(role: str, policy: Mapping[str, Any]) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    if role == CONSUMER and from_jsonld(policy).type is not PolicyType.AGREEMENT:
        raise ValueError("a consumer countersigns agreements only")


def _signature(
    policy: Mapping[str, Any], private_key: Ed25519PrivateKey, kid: str, role: str
) -> dict[str, str]:
    token = jws.sign_detached(_signed_content(policy, role), private_key, kid)
    return {"role": role, "kid": kid, "jws": token}


def sign_policy(
    policy: Policy | Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    kid: str,
    *,
    role: str = PROVIDER,
) -> dict[str, Any]:
    """A new signed document carrying one signature."""
    document = _policy_document(policy)
    _check_role(role, document)
    return {"policy": document, "signatures": [_signature(document, private_key, kid, role)]}


def countersign(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    kid: str,
    *,
    role: str = CONSUMER,
) -> dict[str, Any]:
    """The document with one more party's signature (the existing ones are not checked)."""
    policy, signatures = _shape(document)
    _check_role(role, policy)
    if any(entry["role"] == role for entry in signatures):
        raise ValueError(f"the document is already signed by the {role}")
    return {
        "policy": policy,
        "signatures": [*signatures, _signature(policy, private_key, kid, role)],
    }


def verify_document(
    document: Mapping[str, Any],
    keys: Mapping[str, Ed25519PublicKey],
    *,
    required_roles: Sequence[str] = (PROVIDER,),
) -> list[VerifiedSignature]:
    """Check every signature against `keys` (kid -> key); raise `SignatureError` if any fails.

    Returns who signed. `required_roles` must all be among them (an agreement the node
    accepts as binding for both sides passes `("provider", "consumer")`).
    """
    policy, signatures = _shape(document)
    verified: list[VerifiedSignature] = []
    for index, entry in enumerate(signatures):
        token = entry["jws"]
        _require_canonical(token, index)
        header = jws.verify_detached(_signed_content(policy, entry["role"]), token, keys)
        if header.get("kid") != entry["kid"]:
            raise SignatureError(f"signatures[{index}]: kid does not match the signature")
        verified.append(VerifiedSignature(entry["role"], entry["kid"]))
    missing = set(required_roles) - {signature.role for signature in verified}
    if missing:
        raise SignatureError(f"missing signature by {', '.join(sorted(missing))}")
    return verified


def _shape(document: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    if not isinstance(document, Mapping) or set(document) != {"policy", "signatures"}:
        raise SignatureError("a signed document has exactly 'policy' and 'signatures'")
    policy, signatures = document["policy"], document["signatures"]
    if not isinstance(policy, dict):
        raise SignatureError("policy: a JSON object is required")
    if not isinstance(signatures, list) or not signatures:
        raise SignatureError("signatures: a non-empty list is required")
    roles: set[str] = set()
    for index, entry in enumerate(signatures):
        if (
            not isinstance(entry, dict)
            or set(entry) != {"role", "kid", "jws"}
            or not all(isinstance(value, str) for value in entry.values())
        ):
            raise SignatureError(f"signatures[{index}]: needs exactly role, kid and jws")
        if entry["role"] not in ROLES or entry["role"] in roles:
            raise SignatureError(f"signatures[{index}]: unknown or repeated role")
        roles.add(entry["role"])
    return policy, signatures


def _require_canonical(token: str, index: int) -> None:
    """Refuse base64url with stray trailing bits: one token, one spelling."""
    for part in token.split("."):
        if jws.b64url(jws.b64url_decode(part)) != part:
            raise SignatureError(f"signatures[{index}]: jws is not canonical base64url")


def sign_file(
    path: str | Path, private_key: Ed25519PrivateKey, kid: str, *, role: str | None = None
) -> dict[str, Any]:
    """Sign the policy in a JSON(-LD) file, or countersign a signed document.

    A plain policy is signed as provider, a signed document countersigned as consumer,
    unless `role` says otherwise. The file is not changed; the result is returned.
    """
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(document, dict) and "signatures" in document:
        return countersign(document, private_key, kid, role=role or CONSUMER)
    return sign_policy(document, private_key, kid, role=role or PROVIDER)


def signed_policy(document: Mapping[str, Any]) -> Policy:
    """The policy of a signed document, read (call `verify_document` first)."""
    policy, _signatures = _shape(document)
    return from_jsonld(policy)
