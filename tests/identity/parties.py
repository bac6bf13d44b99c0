"""A data space as a partner's side of it looks in the tests: a credential issuer and a
partner connector (holder) with did:web identities, served over real HTTPS on loopback
with a certificate from a throwaway CA (trustme) that only the node under test trusts.

All of it is sample data: the DIDs, keys and credentials exist for the tests only.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import trustme
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from allmende.node.identity.credentials import encode_status_list

VC_CONTEXT = "https://www.w3.org/2018/credentials/v1"
DCP_CONTEXT = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"
MEMBERSHIP_SCOPE = "org.eclipse.edc.vc.type:MembershipCredential:read"


@dataclass
class Party:
    """One did:web with one signing key (EdDSA or ES256, as EDC uses both)."""

    did: str
    key: Any
    alg: str
    services: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kid(self) -> str:
        return f"{self.did}#key-1"

    def jwk(self) -> dict[str, Any]:
        algorithm = OKPAlgorithm if self.alg == "EdDSA" else ECAlgorithm
        return dict(json.loads(algorithm.to_jwk(self.key.public_key())))

    def document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": self.did,
            "verificationMethod": [
                {
                    "id": self.kid,
                    "type": "JsonWebKey2020",
                    "controller": self.did,
                    "publicKeyJwk": self.jwk(),
                }
            ],
            "authentication": [self.kid],
            "service": self.services,
        }

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        return jwt.encode(claims, self.key, algorithm=self.alg, headers={"kid": kid or self.kid})


def credential(
    issuer: Party,
    holder: str,
    *,
    types: tuple[str, ...] = ("MembershipCredential",),
    expires_in: float = 3600,
    status_index: int | None = None,
    status_url: str = "",
    subject: dict[str, Any] | None = None,
) -> str:
    """A VC data model 1.1 credential as JWT, as EDC's issuer service writes one;
    `subject`: further claims about the holder."""
    now = int(time.time())
    vc: dict[str, Any] = {
        "@context": [VC_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", *types],
        "issuer": issuer.did,
        "issuanceDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)),
        "expirationDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + expires_in)),
        "credentialSubject": {
            "id": holder,
            "memberOf": "Amt Beispiel (sample data)",
            **(subject or {}),
        },
    }
    if status_index is not None:
        vc["credentialStatus"] = {
            "id": f"{status_url}#{status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(status_index),
            "statusListCredential": status_url,
        }
    claims = {"iss": issuer.did, "sub": holder, "jti": vc["id"], "nbf": now - 60, "vc": vc}
    if expires_in > 0:  # an expired one keeps only expirationDate, so the date check refuses it
        claims["exp"] = now + int(expires_in)
    return issuer.sign(claims)


def credential_v2(issuer: Party, holder: str, *, valid_for: float = 3600) -> str:
    """A VC data model 2.0 credential secured with JOSE (vc+jwt): the payload is the credential."""
    now = time.time()
    stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    return jwt.encode(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential", "MembershipCredential"],
            "issuer": {"id": issuer.did},
            "validFrom": stamp(now - 60),
            "validUntil": stamp(now + valid_for),
            "credentialSubject": {"id": holder, "memberOf": "Amt Beispiel (sample data)"},
        },
        issuer.key,
        algorithm=issuer.alg,
        headers={"kid": issuer.kid, "typ": "vc+jwt"},
    )


def status_list(issuer: Party, url: str, revoked: set[int]) -> str:
    now = int(time.time())
    return issuer.sign(
        {
            "iss": issuer.did,
            "nbf": now - 60,
            "vc": {
                "@context": [VC_CONTEXT],
                "id": url,
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "issuer": issuer.did,
                "credentialSubject": {
                    "id": url + "#list",
                    "type": "BitstringStatusList",
                    "statusPurpose": "revocation",
                    "encodedList": encode_status_list(revoked),
                },
            },
        }
    )


class Dataspace:
    """An issuer and a partner on one HTTPS server; `credentials` is what the partner's
    credential service presents, `queries` what verifiers asked it."""

    def __init__(self, port: int, ca: trustme.CA) -> None:
        self.port = port
        self.ca = ca
        self.base = f"https://127.0.0.1:{port}"
        host = f"did:web:127.0.0.1%3A{port}"
        self.issuer = Party(f"{host}:issuer", Ed25519PrivateKey.generate(), "EdDSA")
        self.stranger = Party(f"{host}:stranger", Ed25519PrivateKey.generate(), "EdDSA")
        self.partner = Party(
            f"{host}:partner",
            ec.generate_private_key(ec.SECP256R1()),
            "ES256",
            services=[
                {
                    "id": f"{host}:partner#credential-service",
                    "type": "CredentialService",
                    "serviceEndpoint": f"{self.base}/partner/cs",
                }
            ],
        )
        self.status_url = f"{self.base}/issuer/status/1"
        self.revoked: set[int] = set()
        self.credentials: list[str] = [credential(self.issuer, self.partner.did)]
        self.queries: list[dict[str, Any]] = []
        self.data_model = 1
        """1: a VP as JWT with a `vp` claim; 2: VC-JOSE-COSE, credentials enveloped."""
        self.runner: web.AppRunner | None = None

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(context)
        return context

    def access_token(self, audience: str) -> str:
        now = int(time.time())
        return self.partner.sign(
            {
                "iss": self.partner.did,
                "sub": audience,
                "aud": self.partner.did,
                "scope": MEMBERSHIP_SCOPE,
                "iat": now,
                "exp": now + 300,
                "jti": str(uuid.uuid4()),
            }
        )

    def id_token(self, audience: str, **changes: Any) -> str:
        """The partner's self-issued ID token for a DSP request, as EDC's STS makes it."""
        now = int(time.time())
        claims = {
            "iss": self.partner.did,
            "sub": self.partner.did,
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
            "token": self.access_token(audience),
            **changes,
        }
        return self.partner.sign({k: v for k, v in claims.items() if v is not None})

    async def _document(self, request: web.Request) -> web.Response:
        party = {"issuer": self.issuer, "partner": self.partner, "stranger": self.stranger}
        return web.json_response(party[request.match_info["who"]].document())

    async def _slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.json_response({})

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(
            text=status_list(self.issuer, self.status_url, self.revoked),
            content_type="application/vc+jwt",
        )

    async def _query(self, request: web.Request) -> web.Response:
        """The partner's credential service: it checks that the verifier's token carries the
        access token it gave out, then presents its credentials."""
        header = request.headers.get("Authorization", "")
        body = await request.json()
        bearer = jwt.decode(header.removeprefix("Bearer "), options={"verify_signature": False})
        access = jwt.decode(
            bearer["token"],
            self.partner.key.public_key(),
            algorithms=["ES256"],
            audience=self.partner.did,
        )
        self.queries.append({"verifier": bearer["iss"], "body": body, "access": access})
        if access["sub"] != bearer["iss"]:
            return web.json_response({"error": "token for another verifier"}, status=403)
        now = int(time.time())
        if self.data_model == 2:
            vp = jwt.encode(
                {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiablePresentation"],
                    "holder": self.partner.did,
                    "verifiableCredential": [
                        {
                            "@context": ["https://www.w3.org/ns/credentials/v2"],
                            "type": "EnvelopedVerifiableCredential",
                            "id": f"data:application/vc+jwt,{c}",
                        }
                        for c in self.credentials
                    ],
                    "iss": self.partner.did,
                    "aud": bearer["iss"],
                    "exp": now + 300,
                },
                self.partner.key,
                algorithm=self.partner.alg,
                headers={"kid": self.partner.kid, "typ": "vp+jwt"},
            )
        else:
            vp = self.partner.sign(
                {
                    "iss": self.partner.did,
                    "aud": bearer["iss"],
                    "iat": now,
                    "exp": now + 300,
                    "jti": str(uuid.uuid4()),
                    "vp": {
                        "@context": [VC_CONTEXT],
                        "type": ["VerifiablePresentation"],
                        "holder": self.partner.did,
                        "verifiableCredential": self.credentials,
                    },
                }
            )
        return web.json_response(
            {
                "@context": [DCP_CONTEXT],
                "type": "PresentationResponseMessage",
                "presentation": [vp],
            }
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/slow/did.json", self._slow)
        app.router.add_get("/{who}/did.json", self._document)
        app.router.add_get("/issuer/status/1", self._status)
        app.router.add_post("/partner/cs/presentations/query", self._query)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(
            self.runner, "127.0.0.1", self.port, ssl_context=self.server_context()
        ).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
