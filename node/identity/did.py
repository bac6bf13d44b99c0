"""did:web for the node and for partners (https://w3c-ccg.github.io/did-method-web/).

A did:web names a host (its port as `%3A`) and an optional path; its document lives at
`https://host/.well-known/did.json`, or `https://host/path/did.json` with a path.
pydid parses and dereferences the documents; only the name-to-URL mapping is ours.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pydid import DIDDocument, VerificationMethod
from pydid.doc.doc import IDNotFoundError

from allmende.node.runtime import Node

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
JWS_2020_CONTEXT = "https://w3id.org/security/suites/jws-2020/v1"
CREDENTIAL_SERVICE = "CredentialService"
PROTOCOL_ENDPOINT = "ProtocolEndpoint"
"""The DSP endpoint as EDC's identity hub publishes it in a participant's DID document."""
CREDENTIAL_SERVICE_PATH = "/dcp"
"""Where the node's credential service answers (`/dcp/presentations/query`)."""
WELL_KNOWN = "/.well-known/did.json"


class DidError(ValueError):
    """A DID that cannot be resolved or a document that does not fit; safe to show."""


def did_web(base_url: str) -> str:
    """The did:web of a base URL: `https://data.example:8443/amt` ->
    `did:web:data.example%3A8443:amt`."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise DidError(f"{base_url!r} has no host")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is not None:
        host += f"%3A{parts.port}"
    segments = [quote(unquote(s), safe="") for s in parts.path.split("/") if s]
    return ":".join(["did:web", host, *segments])


def document_url(did: str) -> str:
    """Where a did:web's document is fetched from (always https)."""
    if not did.startswith("did:web:"):
        raise DidError(f"only did:web identifiers are resolved, not {did.split('#')[0]!r}")
    specific = did.removeprefix("did:web:").split("#", 1)[0]
    host, *segments = specific.split(":")
    host = unquote(host)
    if not host or any(c in host for c in "/?#@\\ ") or any(not s for s in segments):
        raise DidError(f"{did!r} is not a valid did:web")
    names = [unquote(s) for s in segments]
    if any(n in (".", "..") or any(c in n for c in "/?#\\") for n in names):
        raise DidError(f"{did!r} is not a valid did:web")
    path = "/".join(quote(n, safe="") for n in names)
    return f"https://{host}/{path}/did.json" if segments else f"https://{host}{WELL_KNOWN}"


def own_did(node: Node) -> str:
    return node.settings.dcp.did or did_web(node.base_url)


def own_key_id(node: Node) -> str:
    """The verification method id of the node's key: what its JWTs name as `kid`."""
    return f"{own_did(node)}#{node.key.kid}"


def own_document(node: Node) -> dict[str, Any]:
    """The node's DID document: its Ed25519 key (as in its JWKS) and where its credential
    service and DSP endpoint answer."""
    did = own_did(node)
    key_id = own_key_id(node)
    base = node.base_url.rstrip("/")
    return {
        "@context": [DID_CONTEXT, JWS_2020_CONTEXT],
        "id": did,
        "verificationMethod": [
            {
                "id": key_id,
                "type": "JsonWebKey2020",
                "controller": did,
                "publicKeyJwk": node.key.jwk(),
            }
        ],
        "authentication": [key_id],
        "assertionMethod": [key_id],
        "service": [
            {
                "id": f"{did}#credential-service",
                "type": CREDENTIAL_SERVICE,
                "serviceEndpoint": base + CREDENTIAL_SERVICE_PATH,
            },
            {"id": f"{did}#dsp", "type": PROTOCOL_ENDPOINT, "serviceEndpoint": base + "/dsp"},
        ],
    }


def parse_document(did: str, raw: Any) -> DIDDocument:
    """A fetched document, checked to be the one of `did`."""
    if not isinstance(raw, dict):
        raise DidError(f"the DID document of {did} is not a JSON object")
    try:
        document = DIDDocument.deserialize(raw)
    except Exception as exc:  # pydid raises pydantic and its own errors alike
        raise DidError(f"the DID document of {did} is not valid") from exc
    if str(document.id) != did:
        raise DidError(f"the document at {document_url(did)} is for {document.id}, not {did}")
    return document


def public_jwk(document: DIDDocument, kid: str) -> dict[str, Any]:
    """The public JWK of verification method `kid` (a DID URL, or `#fragment`)."""
    did = str(document.id)
    reference = did + kid if kid.startswith("#") else kid
    if reference.split("#", 1)[0] != did:
        raise DidError(f"key {kid!r} does not belong to {did}")
    try:
        method = document.dereference(reference)
    except (IDNotFoundError, ValueError, LookupError):
        method = None
    if method is None and "#" not in kid:  # some issuers name the bare fragment
        return public_jwk(document, "#" + kid)
    if not isinstance(method, VerificationMethod):
        raise DidError(f"{did} has no verification method {kid!r}")
    jwk = getattr(method, "public_key_jwk", None)
    if not isinstance(jwk, dict):
        raise DidError(f"verification method {kid!r} of {did} has no publicKeyJwk")
    return dict(jwk)


def service_endpoint(document: DIDDocument, type_: str) -> str:
    for service in document.service or []:
        if getattr(service, "type", None) == type_:
            endpoint = getattr(service, "service_endpoint", None)
            if isinstance(endpoint, str):
                return endpoint
    raise DidError(f"the DID document of {document.id} names no {type_}")
