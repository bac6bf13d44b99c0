"""A partner that speaks DCP, as EDC does: its DSP request carries a self-issued ID token
(`Authorization: <JWT>`, without "Bearer"), signed with a key of its did:web, for this node
(`aud`), used once (`jti`). Its `token` claim lets this node ask the partner's credential
service for a presentation of the credentials the operator requires, each from a trusted
issuer. The partner's DID is then its participant id, exactly as the subject of a
participant token of this node would be, so agreements and policies work unchanged.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

from allmende.node.identity.credentials import Credential, verify_credential
from allmende.node.identity.did import (
    CREDENTIAL_SERVICE,
    DidError,
    document_url,
    own_did,
    parse_document,
    service_endpoint,
)
from allmende.node.identity.fetch import Fetcher, FetchError, check_url
from allmende.node.identity.jwts import TokenError, check_signature, signer_key, unverified
from allmende.node.identity.sts import sign
from allmende.node.runtime import Node

log = logging.getLogger(__name__)
IDENTITY = "dcp_identity"
"""App key of the node's `Identity` (set up by node.identity.routes)."""
DCP_CONTEXT = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"
PRESENTATION_EXCHANGE_CONTEXT = "https://identity.foundation/presentation-exchange/submission/v1"
SI_CLAIMS = ("iss", "sub", "aud", "exp", "jti")
MAX_TOKEN_SECONDS = 3600
SUBJECT_CLAIMS = ("memberOf", "amtMembership", "organisationType")
"""Claims of a credential subject that policies read as attributes of the assignee."""


@dataclass(frozen=True)
class Partner:
    """A partner proven by DCP: its DID and what its credentials say."""

    did: str
    credentials: tuple[Credential, ...]

    @property
    def attributes(self) -> dict[str, Any]:
        """Verified facts for policies (policies.evaluator.Request.attributes): what its
        credentials' subjects say about it (`memberOf`: the party collections it belongs
        to; `amtMembership`, `organisationType`: the terms of Allmende's policies on the
        assignee), and the credential types and issuers it proved. Any trusted issuer's
        credential counts; a claim missing from all of them is no attribute."""
        facts: dict[str, Any] = {}
        for claim in SUBJECT_CLAIMS:
            values: set[str] = set()
            for credential in self.credentials:
                value = credential.claims.get(claim)
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item:
                        values.add(item)
            if values or claim == "memberOf":
                facts[claim] = sorted(values)
        return {
            **facts,
            "credentialTypes": sorted({t for c in self.credentials for t in c.types}),
            "credentialIssuers": sorted({c.issuer for c in self.credentials}),
        }


@dataclass
class Replay:
    """`jti`s seen, kept until their token expires: a token is accepted once."""

    seen: dict[str, float] = field(default_factory=dict)

    def first_use(self, jti: str, expires: float) -> bool:
        now = time.time()
        if len(self.seen) > 10000:
            self.seen = {k: v for k, v in self.seen.items() if v > now}
        if jti in self.seen and self.seen[jti] > now:
            return False
        self.seen[jti] = max(expires, now) + 10
        return True


class Identity:
    """The node's DCP side: its fetcher, its replay memory, its settings."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.settings = node.settings.dcp
        self.fetcher = Fetcher(self.settings, node.settings.directory)
        self.replay = Replay()

    @property
    def did(self) -> str:
        return own_did(self.node)

    def audiences(self) -> list[str]:
        """What a partner must name as `aud`: the node's DID. (EDC binds the access token
        in the `token` claim to the same audience, and a partner's identity hub checks that
        whoever presents it is that DID, so the node id would fail later, less clearly.)"""
        return [self.did]

    async def self_issued(self, token: str, audiences: list[str]) -> dict[str, Any]:
        """The verified claims of a self-issued ID token, or TokenError (401)."""
        header, claims = unverified(token, "the self-issued ID token")
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or issuer != claims.get("sub"):
            raise TokenError("a self-issued ID token has iss = sub = the sender's DID")
        key = await signer_key(self.fetcher, issuer, header["kid"], "the self-issued ID token")
        verified = check_signature(
            token, key, "the self-issued ID token", audience=audiences, require=SI_CLAIMS
        )
        if float(verified["exp"]) > time.time() + MAX_TOKEN_SECONDS:
            # its jti would have to be remembered that long; EDC's tokens live 5 minutes
            raise TokenError(
                f"the self-issued ID token is valid for more than {MAX_TOKEN_SECONDS} s"
            )
        if not self.replay.first_use(str(verified["jti"]), float(verified["exp"])):
            raise TokenError("this self-issued ID token was used before (jti)")
        return verified

    def own_token(self, audience: str, extra: dict[str, Any]) -> str:
        """A self-issued ID token of this node for `audience`."""
        now = int(time.time())
        claims = {
            "iss": self.did,
            "sub": self.did,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.settings.token_seconds,
            "jti": str(uuid.uuid4()),
            **extra,
        }
        return sign(self.node, claims)

    async def partner(self, token: str) -> Partner:
        """Who sent this DSP request, proven by its token and its credentials."""
        claims = await self.self_issued(token, self.audiences())
        did = str(claims["iss"])
        access = claims.get("token")
        if not isinstance(access, str) or not access:
            raise TokenError(
                "the self-issued ID token carries no `token` claim for the credential service"
            )
        if not self.settings.trusted_issuers:
            raise TokenError("this node trusts no credential issuer yet (dcp.trusted_issuers)", 403)
        presentations = await self.presentations(did, access)
        credentials: list[Credential] = []
        for presentation in presentations:
            credentials += await self.verify_presentation(did, presentation)
        have = {t for c in credentials for t in c.types}
        missing = [t for t in self.settings.credential_types if t not in have]
        if missing:
            raise TokenError(f"{did} presented no {', '.join(missing)} from a trusted issuer", 403)
        return Partner(did, tuple(credentials))

    async def presentations(self, did: str, access: str) -> list[str]:
        """Ask the partner's credential service for the required credentials."""
        try:
            raw = await self.fetcher.get_json(document_url(did), f"the DID document of {did}")
            endpoint = check_url(service_endpoint(parse_document(did, raw), CREDENTIAL_SERVICE))
        except (DidError, FetchError) as exc:
            raise TokenError(str(exc)) from exc
        query = {
            "@context": [PRESENTATION_EXCHANGE_CONTEXT, DCP_CONTEXT],
            "@type": "PresentationQueryMessage",
            "scope": list(self.settings.scopes),
        }
        bearer = self.own_token(did, {"token": access})
        try:
            answer = await self.fetcher.post_json(
                endpoint.rstrip("/") + "/presentations/query",
                query,
                {"Authorization": f"Bearer {bearer}"},
                f"the credential service of {did}",
            )
        except FetchError as exc:
            raise TokenError(str(exc)) from exc
        found = answer.get("presentation") if isinstance(answer, dict) else None
        if not isinstance(found, list) or not all(isinstance(p, str) for p in found):
            raise TokenError(f"the credential service of {did} sent no presentations as JWT", 403)
        return found

    async def verify_presentation(self, did: str, token: str) -> list[Credential]:
        """The credentials of one presentation (JWT) `did` signed for this node."""
        header, claims = unverified(token, "the presentation")
        if claims.get("iss") != did:
            raise TokenError(f"the presentation is signed by {claims.get('iss')}, not {did}", 403)
        key = await signer_key(self.fetcher, did, header["kid"], "the presentation")
        try:
            claims = check_signature(token, key, "the presentation", audience=self.audiences())
        except TokenError as exc:
            raise TokenError(str(exc), 403) from exc
        body = claims.get("vp", claims)
        types = body.get("type") if isinstance(body, dict) else None
        if not isinstance(body, dict) or "VerifiablePresentation" not in (
            types if isinstance(types, list) else [types]
        ):
            raise TokenError("the presentation is not a VerifiablePresentation", 403)
        if body.get("holder", did) != did:
            raise TokenError(f"the presentation is held by {body.get('holder')}, not {did}", 403)
        entries = body.get("verifiableCredential", [])
        credentials = []
        for entry in entries if isinstance(entries, list) else [entries]:
            credentials.append(
                await verify_credential(
                    self.fetcher,
                    enveloped(entry),
                    holder=did,
                    trusted=list(self.settings.trusted_issuers),
                )
            )
        return credentials


def enveloped(entry: Any) -> str:
    """A credential in a presentation: a JWT (1.1) or an EnvelopedVerifiableCredential (2.0)."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        kind, _, token = entry["id"].partition(",")
        if kind in ("data:application/vc+jwt", "data:application/vc+ld+json+jwt"):
            return token
    raise TokenError("the presentation holds a credential that is not a JWT", 403)


def presented_token(request: web.Request) -> str | None:
    """The self-issued ID token of a DCP caller, or None when the caller does not speak DCP
    (no token, or a bearer token of this node): EDC sends it without "Bearer"."""
    header = request.headers.get("Authorization", "").strip()
    token = header[7:].strip() if header[:7].lower() == "bearer " else header
    if token.count(".") != 2:
        return None
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return token if isinstance(issuer, str) and issuer.startswith("did:") else None


async def dcp_participant(request: web.Request) -> str | None:
    """The participant id (DID) of a DCP caller, None for a caller without DCP; TokenError
    (status 401 or 403, a reason safe to show) when its proof fails. What its credentials
    say is kept on the request as `participant_attributes` for policies."""
    token = presented_token(request)
    identity: Identity | None = request.app.get(IDENTITY)
    if token is None or identity is None:
        return None
    try:
        partner = await identity.partner(token)
    except TokenError as exc:
        log.info("DCP caller refused: %s", exc, extra={"status": exc.status})
        raise
    request["participant_attributes"] = partner.attributes
    log.info("DCP caller %s verified", partner.did)
    return partner.did
