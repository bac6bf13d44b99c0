"""JWTs signed with a key from a DID document: PyJWT does the cryptography; here only which
algorithms are allowed (asymmetric ones, never `none` or a shared secret) and how the key is
found (the `kid` names a verification method of the signer's DID)."""

from __future__ import annotations

from typing import Any

import jwt

from allmende.node.identity.did import DidError, document_url, parse_document, public_jwk
from allmende.node.identity.fetch import Fetcher, FetchError

ALGORITHMS = ("EdDSA", "ES256", "ES256K", "ES384", "PS256", "RS256")
"""What EDC and its identity hub sign with (EdDSA and ES256 by default)."""


class TokenError(Exception):
    """A token or credential that is refused: `status` 401 (who is it?) or 403 (not allowed),
    the message safe to show and to log."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def unverified(token: str, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before verification, to know whom to ask for the key."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenError(f"{what} is not a JWT") from exc
    if header.get("alg") not in ALGORITHMS:
        raise TokenError(
            f"{what} is signed with {header.get('alg')!r}; allowed: {', '.join(ALGORITHMS)}"
        )
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise TokenError(f"{what} names no key (kid)")
    return header, claims


async def signer_key(fetcher: Fetcher, did: str, kid: str, what: str) -> jwt.PyJWK:
    """The public key `kid` of `did`, from its DID document fetched over https."""
    if not kid.startswith("#") and kid.split("#", 1)[0] not in (did, kid):
        raise TokenError(f"{what} is signed with key {kid!r}, which does not belong to {did}")
    try:
        raw = await fetcher.get_json(document_url(did), f"the DID document of {did}")
        jwk = public_jwk(parse_document(did, raw), kid)
        return jwt.PyJWK(jwk)
    except (DidError, FetchError) as exc:
        raise TokenError(f"{what}: {exc}") from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"{what}: the key {kid!r} of {did} is not usable ({exc})") from exc


def check_signature(
    token: str,
    key: jwt.PyJWK,
    what: str,
    *,
    audience: list[str] | None = None,
    require: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The claims if the signature, `exp`, `nbf` (and `aud`, when given) hold."""
    algorithm = jwt.get_unverified_header(token).get("alg")
    if key.algorithm_name != algorithm and not (
        algorithm == "EdDSA" and key.algorithm_name in ("EdDSA", "Ed25519")
    ):
        raise TokenError(f"{what}: its alg {algorithm!r} does not fit the signer's key")
    try:
        return jwt.decode(
            token,
            key.key,
            algorithms=[str(algorithm)],
            audience=audience,
            options={"require": list(require), "verify_aud": audience is not None},
            leeway=5,
        )
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError(f"{what} lacks the {exc.claim!r} claim") from exc
    except jwt.ExpiredSignatureError as exc:
        raise TokenError(f"{what} has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise TokenError(f"{what} is not valid yet") from exc
    except jwt.InvalidAudienceError as exc:
        raise TokenError(f"{what} is meant for another audience, not this node") from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenError(f"{what}: the signature does not verify") from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"{what} is not valid ({exc})") from exc
