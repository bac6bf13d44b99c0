"""HTTP: the node's DID document and its credential service's presentation API."""

from __future__ import annotations

import json

from aiohttp import web

from allmende.node.http.bodies import BodyIncomplete, BodyTooLarge, request_body
from allmende.node.http.openapi import describe, json_request
from allmende.node.http.problems import Problem
from allmende.node.http.security import CHALLENGE
from allmende.node.identity import service
from allmende.node.identity.did import CREDENTIAL_SERVICE_PATH, WELL_KNOWN, own_document
from allmende.node.identity.jwts import TokenError
from allmende.node.identity.verifier import IDENTITY, Identity

TAGS = ["Decentralized Claims Protocol"]
MAX_QUERY_BYTES = 64 * 1024
QUERY_SCHEMA = {
    "type": "object",
    "required": ["@context"],
    "oneOf": [{"required": ["scope"]}, {"required": ["presentationDefinition"]}],
    "properties": {
        "@context": {"type": "array", "items": {"type": "string"}},
        "type": {"type": "string", "enum": ["PresentationQueryMessage"]},
        "@type": {"type": "string", "enum": ["PresentationQueryMessage"]},
        "scope": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 300},
            "minItems": 1,
            "maxItems": 50,
        },
        "presentationDefinition": {
            "type": "object",
            "description": "DIF Presentation Exchange: input_descriptors with constraints.fields",
            "required": ["id", "input_descriptors"],
        },
    },
}


@describe("The node's did:web document: its signing key and its DCP and DSP endpoints", tags=TAGS)
async def did_document(request: web.Request) -> web.Response:
    return web.json_response(own_document(request.app["node"]), content_type="application/did+json")


@describe(
    "DCP presentation query: a verifier reads the node's credentials with the access token "
    "the node's secure token service gave it (self-issued ID token as bearer)",
    tags=TAGS,
    bearer=True,
    request_body=json_request(QUERY_SCHEMA),
    responses={
        "200": {"description": "a PresentationResponseMessage"},
        "400": {"$ref": "#/components/responses/Problem"},
        "403": {"$ref": "#/components/responses/Problem"},
        "501": {"$ref": "#/components/responses/Problem"},
    },
)
async def presentations_query(request: web.Request) -> web.Response:
    header = request.headers.get("Authorization", "")
    scheme, _, bearer = header.partition(" ")
    if scheme.lower() != "bearer" or not bearer.strip():
        raise Problem(
            401, "Unauthorized", "a self-issued ID token is required as bearer", headers=CHALLENGE
        )
    try:
        raw = await request_body(request, MAX_QUERY_BYTES)
    except BodyTooLarge:
        raise Problem(413, "Payload Too Large", f"at most {MAX_QUERY_BYTES} bytes") from None
    except BodyIncomplete as exc:
        raise Problem(400, "Bad Request", str(exc)) from None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise Problem(400, "Bad Request", "the body is not JSON") from None
    try:
        query = service.read_query(body)
    except NotImplementedError as exc:
        raise Problem(501, "Not Implemented", str(exc)) from None
    except ValueError as exc:
        raise Problem(400, "Bad Request", str(exc)) from None
    identity: Identity = request.app[IDENTITY]
    try:
        answer = await service.answer(identity, bearer.strip(), query)
    except TokenError as exc:
        title = "Unauthorized" if exc.status == 401 else "Forbidden"
        headers = CHALLENGE if exc.status == 401 else None
        raise Problem(exc.status, title, str(exc), headers=headers) from None
    return web.json_response(answer)


def setup(app: web.Application) -> None:
    identity = Identity(app["node"])
    app[IDENTITY] = identity

    async def close(_app: web.Application) -> None:
        await identity.fetcher.close()

    app.on_cleanup.append(close)
    app.router.add_get(WELL_KNOWN, did_document)
    app.router.add_post(CREDENTIAL_SERVICE_PATH + "/presentations/query", presentations_query)
