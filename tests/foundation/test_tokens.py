"""Every token's `iss`, `aud`, `exp` and `nbf` is checked, and none of them may be missing:
each wrong value is refused with its own reason, on the function and on an admin route."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from allmende.node.auth import REQUIRED_CLAIMS, AuthError, mint_token, verify_token
from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from tests.support import make_node

OTHER = "https://bredstedt.example/"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Node:
    return make_node(Path(tmp_path_factory.mktemp("node")))


def signed(node: Node, drop: str = "", **override: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": node.id,
        "sub": "operator",
        "aud": node.id,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "role": "admin",
        **override,
    }
    claims.pop(drop, None)
    return jwt.encode(claims, node.key.private, algorithm="EdDSA", headers={"kid": node.key.kid})


# claims as functions of the time of signing: a time read when the module is collected may
# be long past when the test runs
WRONG: dict[str, tuple[Callable[[int], dict[str, Any]], str]] = {
    "wrong issuer": (lambda now: {"iss": OTHER}, "another issuer"),
    "wrong audience": (lambda now: {"aud": OTHER}, "another audience"),
    "expired": (lambda now: {"exp": now - 60, "iat": now - 600}, "expired"),
    "not yet valid": (lambda now: {"nbf": now + 600}, "not yet valid"),
}


def keys(node: Node) -> dict[str, Any]:
    return {node.key.kid: node.key.public}


def test_a_well_formed_token_passes(node: Node) -> None:
    assert verify_token(signed(node), keys(node), node.id).subject == "operator"
    assert verify_token(mint_token(node.key, node.id), keys(node), node.id).role == "admin"


@pytest.mark.parametrize("case", WRONG)
def test_each_wrong_value_is_refused(node: Node, case: str) -> None:
    override, reason = WRONG[case]
    with pytest.raises(AuthError, match=reason):
        verify_token(signed(node, **override(int(time.time()))), keys(node), node.id)


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_each_missing_claim_is_refused(node: Node, claim: str) -> None:
    with pytest.raises(AuthError, match=f"lacks the '{claim}' claim"):
        verify_token(signed(node, drop=claim), keys(node), node.id)


def test_a_peer_token_must_name_its_signer_as_issuer(node: Node) -> None:
    """A key stands for one issuer: a peer's key cannot issue in the node's own name."""
    peer_token = mint_token(node.key, node.id, role="participant", issuer=OTHER)
    assert verify_token(peer_token, keys(node), node.id, issuer={node.key.kid: OTHER})
    with pytest.raises(AuthError, match="another issuer"):
        verify_token(peer_token, keys(node), node.id)
    with pytest.raises(AuthError, match="no known issuer"):
        verify_token(peer_token, keys(node), node.id, issuer={"another-kid": OTHER})


async def test_admin_route_refuses_each_wrong_claim(node: Node, aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(node))
    now = int(time.time())
    tokens = {case: signed(node, **override(now)) for case, (override, _) in WRONG.items()}
    tokens |= {f"no {claim}": signed(node, drop=claim) for claim in REQUIRED_CLAIMS}
    for case, token in tokens.items():
        response = await client.get("/admin/events", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 401, case
        assert response.content_type == "application/problem+json", case
    response = await client.get(
        "/admin/events", headers={"Authorization": f"Bearer {signed(node)}"}
    )
    assert response.status == 200
