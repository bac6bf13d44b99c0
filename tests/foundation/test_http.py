"""The HTTP surface every node has: health, keys, OpenAPI, problems, limits and admin auth."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from allmende.node.auth import mint_token
from allmende.node.events import SignedEvent
from allmende.node.events.log import BatchProof
from allmende.node.http.app import create_app
from allmende.node.keys import NodeKey
from allmende.node.runtime import Node
from allmende.policies import jws
from tests.support import admin_headers, make_node


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_node(tmp_path)


async def client_for(aiohttp_client: Any, node: Node, extra: Any = None) -> Any:
    app = create_app(node)
    if extra is not None:
        extra(app)
    return await aiohttp_client(app)


async def test_health_is_ready(aiohttp_client: Any, node: Node) -> None:
    client = await client_for(aiohttp_client, node)
    response = await client.get("/health")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "store": "ok", "kafka": "not configured"}


async def test_health_reports_unreachable_kafka(aiohttp_client: Any, tmp_path: Path) -> None:
    node = make_node(tmp_path, environ={"ALLMENDE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"})
    client = await client_for(aiohttp_client, node)
    response = await client.get("/health")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["kafka"].startswith("failing")


async def test_jwks_verifies_what_the_node_signed(aiohttp_client: Any, node: Node) -> None:
    node.commit([node.event("graph.dropped", {"graph": "urn:a"})])
    node.commit([node.event("graph.dropped", {"graph": f"urn:{n}"}) for n in range(3)])
    client = await client_for(aiohttp_client, node)
    jwks_response = await client.get("/.well-known/jwks.json")
    assert jwks_response.status == 200
    document = await jwks_response.json(content_type=None)
    assert document["keys"][0]["kty"] == "OKP" and document["keys"][0]["crv"] == "Ed25519"
    assert "d" not in document["keys"][0]
    keys = jws.keys_from_jwks(document)
    page = await (await client.get("/admin/events", headers=admin_headers(node))).json()
    items = page["items"]
    assert len(items) == 4
    batch_events = [item["event"] for item in items if "batch" in item]
    for item in items:
        signed = SignedEvent(
            event=item["event"],
            signature=item.get("signature"),
            batch=BatchProof(**item["batch"]) if "batch" in item else None,
        )
        signed.verify(keys, batch_events)
    items[0]["event"]["data"]["graph"] = "urn:b"
    with pytest.raises(ValueError):
        SignedEvent(event=items[0]["event"], signature=items[0]["signature"]).verify(keys)


async def test_openapi_describes_every_route(aiohttp_client: Any, node: Node) -> None:
    client = await client_for(aiohttp_client, node)
    document = await (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in client.app.router.routes()
        if route.method not in {"HEAD", "*"}
        and not isinstance(route.resource, web.StaticResource)  # files, not operations
    }
    described = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert served == described
    assert document["paths"]["/admin/events"]["get"]["security"] == [{"bearer": []}]


async def test_unknown_route_is_problem_json(aiohttp_client: Any, node: Node) -> None:
    client = await client_for(aiohttp_client, node)
    response = await client.get("/no/such/page")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert (await response.json(content_type=None))["status"] == 404


async def test_crash_is_500_problem_without_trace(aiohttp_client: Any, node: Node) -> None:
    async def crash(_request: web.Request) -> web.Response:
        raise RuntimeError("secret internals /etc/passwd")

    client = await client_for(aiohttp_client, node, lambda app: app.router.add_get("/crash", crash))
    response = await client.get("/crash")
    text = await response.text()
    assert response.status == 500
    assert "secret internals" not in text and "Traceback" not in text


async def test_body_over_limit_is_413_problem(aiohttp_client: Any, tmp_path: Path) -> None:
    node = make_node(tmp_path, environ={"ALLMENDE_HTTP_MAX_BODY_BYTES": "2048"})

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"bytes": len(await request.read())})

    client = await client_for(aiohttp_client, node, lambda app: app.router.add_post("/echo", echo))
    assert (await client.post("/echo", data=b"x" * 2048)).status == 200
    response = await client.post("/echo", data=b"x" * 2049)
    assert response.status == 413
    body = await response.json(content_type=None)
    assert "2048 bytes" in body["detail"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def claims_for(node: Node, **override: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": node.id,
        "sub": "operator",
        "aud": node.id,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "role": "admin",
    }
    claims.update(override)
    return claims


def bad_tokens(node: Node) -> dict[str, str]:
    public_raw = node.key.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    stranger = NodeKey(Ed25519PrivateKey.generate())
    hs256 = jwt.api_jws.PyJWS(algorithms=["HS256"]).encode(
        json.dumps(claims_for(node)).encode(),
        public_raw,
        algorithm="HS256",
        headers={"kid": node.key.kid},
    )

    def sign(**override: Any) -> str:
        return jwt.encode(
            claims_for(node, **override),
            node.key.private,
            algorithm="EdDSA",
            headers={"kid": node.key.kid},
        )

    return {
        "alg none": unsigned_token(claims_for(node)),
        "HS256 with the public key": hs256,
        "expired": sign(exp=int(time.time()) - 120, iat=int(time.time()) - 600),
        "not yet valid": sign(nbf=int(time.time()) + 600),
        "wrong audience": sign(aud="https://bredstedt.example/"),
        "unknown key": mint_token(stranger, node.id),
        "stranger claiming our kid": jwt.encode(
            claims_for(node), stranger.private, algorithm="EdDSA", headers={"kid": node.key.kid}
        ),
        "garbage": "not-a-token",
    }


async def test_admin_routes_reject_bad_tokens(aiohttp_client: Any, node: Node) -> None:
    client = await client_for(aiohttp_client, node)
    assert (await client.get("/admin/events")).status == 401
    for reason, token in bad_tokens(node).items():
        response = await client.get("/admin/events", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 401, reason
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = await response.json(content_type=None)
        assert token not in json.dumps(body), reason
    response = await client.get("/admin/events", headers=admin_headers(node))
    assert response.status == 200


async def test_admin_query_parameters_are_checked(aiohttp_client: Any, node: Node) -> None:
    client = await client_for(aiohttp_client, node)
    response = await client.get("/admin/events?limit=abc", headers=admin_headers(node))
    assert response.status == 400
    assert "limit" in (await response.json(content_type=None))["detail"]
