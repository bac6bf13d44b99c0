"""The node's credential service (DCP presentation API): a verifier (an EDC provider the
node consumes from) asks for the node's credentials with its own self-issued ID token,
whose `token` claim is the access token the node's STS gave it. The node answers with one
presentation (a JWT signed with its key) of the credentials the token's scopes allow — all
of them for a query by scope, those a presentation definition's input descriptors select
for a query by definition (with its presentation submission).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from allmende.node.identity.credentials import held
from allmende.node.identity.did import own_did
from allmende.node.identity.jwts import TokenError
from allmende.node.identity.presentation_exchange import Definition, read_definition
from allmende.node.identity.sts import sign
from allmende.node.identity.verifier import DCP_CONTEXT, Identity

TYPE_ALIASES = ("org.eclipse.edc.vc.type", "org.eclipse.dspace.dcp.vc.type")
ID_ALIASES = ("org.eclipse.edc.vc.id", "org.eclipse.dspace.dcp.vc.id")
VC_CONTEXT = "https://www.w3.org/2018/credentials/v1"


def granted_scopes(identity: Identity, access: str, verifier: str) -> set[str]:
    """The scopes of an access token this node issued to `verifier`."""
    node = identity.node
    did = own_did(node)
    try:
        claims = jwt.decode(
            access,
            node.key.public,
            algorithms=["EdDSA"],
            audience=did,
            issuer=did,
            options={"require": ["exp", "sub", "scope"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the access token has expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("the access token was not issued by this node") from exc
    if claims["sub"] != verifier:
        raise TokenError("the access token was issued to another verifier", 403)
    return set(str(claims["scope"]).split())


def matches(scope: str, credential: dict[str, Any]) -> bool:
    """`alias:discriminator[:read]`: a credential type or id the scope names."""
    alias, _, rest = scope.partition(":")
    wanted = rest.rsplit(":", 1)[0] if rest.endswith((":read", ":*", ":all")) else rest
    if alias in TYPE_ALIASES:
        types = credential.get("type")
        return wanted in (types if isinstance(types, list) else [types])
    if alias in ID_ALIASES:
        return credential.get("id") == wanted
    return False


@dataclass(frozen=True)
class Query:
    """What a verifier asks for: scopes, or a presentation definition (DIF Presentation
    Exchange), whose credentials must also be within the scopes its access token grants."""

    scopes: list[str] | None = None
    definition: Definition | None = None


def read_query(body: Any) -> Query:
    """A PresentationQueryMessage; ValueError names what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("the body is not a JSON object")
    kind = body.get("type", body.get("@type"))
    if kind not in ("PresentationQueryMessage", "dcp:PresentationQueryMessage"):
        raise ValueError("type must be PresentationQueryMessage")
    if "presentationDefinition" in body:
        if "scope" in body:
            raise ValueError("a query has either scope or presentationDefinition, not both")
        return Query(definition=read_definition(body["presentationDefinition"]))
    scopes = body.get("scope")
    if (
        not isinstance(scopes, list)
        or not scopes
        or not all(isinstance(s, str) and 0 < len(s) <= 300 for s in scopes)
        or len(scopes) > 50
    ):
        raise ValueError("scope must be a list of 1 to 50 scope strings")
    return Query(scopes=scopes)


async def answer(identity: Identity, bearer: str, query: Query) -> dict[str, Any]:
    """The PresentationResponseMessage for a verifier's query, or TokenError."""
    claims = await identity.self_issued(bearer, [identity.did])
    verifier = str(claims["iss"])
    access = claims.get("token")
    if not isinstance(access, str):
        raise TokenError("the self-issued ID token carries no `token` claim")
    allowed = granted_scopes(identity, access, verifier)
    refused = [s for s in query.scopes or () if s not in allowed]
    if refused:
        raise TokenError(f"the access token does not grant {', '.join(refused)}", 403)
    # a definition chooses among the credentials the granted scopes allow, never beyond
    scopes = query.scopes or sorted(allowed)
    permitted = [
        (token, credential)
        for token, credential in held(identity.node.settings.directory)
        if any(matches(scope, credential) for scope in scopes)
    ]
    message: dict[str, Any] = {"@context": [DCP_CONTEXT], "type": "PresentationResponseMessage"}
    if query.definition is None:
        chosen = [token for token, _ in permitted]
        message["presentation"] = [presentation(identity, verifier, chosen)] if chosen else []
        return message
    submitted = query.definition.select([credential for _, credential in permitted])
    chosen = [permitted[index][0] for index in sorted({i for _, i in submitted})]
    position = {index: n for n, index in enumerate(sorted({i for _, i in submitted}))}
    message["presentation"] = [presentation(identity, verifier, chosen)] if chosen else []
    message["presentationSubmission"] = {
        "id": str(uuid.uuid4()),
        "definition_id": query.definition.id,
        "descriptor_map": [
            {
                "id": descriptor,
                "format": "jwt_vp",
                "path": "$.presentation[0]",
                "path_nested": {
                    "id": descriptor,
                    "format": "jwt_vc",
                    "path": f"$.vp.verifiableCredential[{position[index]}]",
                },
            }
            for descriptor, index in submitted
        ],
    }
    return message


def presentation(identity: Identity, verifier: str, credentials: list[str]) -> str:
    """A verifiable presentation as JWT (VC data model 1.1) for `verifier`."""
    did = identity.did
    now = int(time.time())
    return sign(
        identity.node,
        {
            "iss": did,
            "sub": did,
            "aud": verifier,
            "iat": now,
            "nbf": now,
            "exp": now + identity.settings.token_seconds,
            "jti": str(uuid.uuid4()),
            "vp": {
                "@context": [VC_CONTEXT],
                "type": ["VerifiablePresentation"],
                "holder": did,
                "verifiableCredential": credentials,
            },
        },
    )
