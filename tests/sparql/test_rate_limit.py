"""Quotas by query time: a client that keeps the workers busy with heavy aggregates is
told to wait (429 with Retry-After) while others go on; agreement holders and trusted peer
nodes have larger quotas, and a token nobody trusts earns none."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from allmende.node.auth import mint_token
from allmende.node.federation.trust import add_peer, checked_peer
from allmende.node.keys import NodeKey
from allmende.node.runtime import Node
from tests.sparql.test_safety import load_numbers

pytestmark = [pytest.mark.stores("embedded", "oxigraph"), pytest.mark.usefixtures("store_backend")]

HEAVY = "SELECT (SUM(?v) AS ?total) (COUNT(*) AS ?n) { ?s <http://example.org/v> ?v }"
JSON = {"Accept": "application/sparql-results+json"}
PEER = "https://nachbar.example/"


async def _ask(client: TestClient, headers: dict[str, str] | None = None) -> Any:
    return await client.get("/sparql", params={"query": HEAVY}, headers={**JSON, **(headers or {})})


async def _until_refused(
    client: TestClient, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """Heavy aggregates one after another until one is refused: how many were answered,
    and the refusal."""
    for answered in range(500):
        response = await _ask(client, headers)
        if response.status != 200:
            return answered, response
        assert (await response.json())["results"]["bindings"][0]["n"]["value"] == "3000"
    raise AssertionError("500 heavy queries and never refused")


def _holder(node: Node, subject: str) -> dict[str, str]:
    token = mint_token(node.key, node.id, role="access", subject=subject)
    return {"Authorization": f"Bearer {token}"}


def _peer_token(key: NodeKey, node: Node, subject: str = PEER) -> dict[str, str]:
    token = mint_token(key, node.id, role="participant", subject=subject, issuer=PEER)
    return {"Authorization": f"Bearer {token}"}


async def test_a_client_that_keeps_sending_heavy_queries_waits_while_others_go_on(
    sparql_node: Any,
) -> None:
    node, client = await sparql_node(
        query_seconds=0.2, query_seconds_per_second=0.002, agreement_quota=1
    )
    await load_numbers(client, node, 3000)
    answered, refused = await _until_refused(client)
    assert answered >= 1
    assert refused.status == 429
    assert refused.content_type == "application/problem+json"
    problem = await refused.json()
    assert "query time" in problem["detail"], problem
    wait = int(refused.headers["Retry-After"])
    assert wait == problem["retry_after"] and wait >= 1
    # the budget comes back at 0.002 s a second: nothing spent can be back at once
    assert (await _ask(client)).status == 429
    other = await _ask(client, _holder(node, "https://kreis.example/"))
    assert other.status == 200, await other.text()


async def test_agreement_holders_and_trusted_peers_have_larger_quotas(
    sparql_node: Any,
) -> None:
    """With a quota so small that one heavy query uses it up, anyone anonymous is refused
    at the second; a holder of this node's token and a trusted peer, with 500 times as
    much, are not; a token signed by a key nobody trusts counts as its address."""
    node, client = await sparql_node(
        query_seconds=0.001,
        query_seconds_per_second=0.0001,
        agreement_quota=500,
        peer_quota=500,
    )
    await load_numbers(client, node, 3000)
    peer_key = NodeKey(Ed25519PrivateKey.generate())
    body = {"id": PEER, "name": "Nachbar", "base_url": PEER.rstrip("/"), "jwk": peer_key.jwk()}
    add_peer(node.engine, checked_peer(body, node.id))

    assert (await _ask(client)).status == 200
    anonymous = await _ask(client)
    assert anonymous.status == 429, await anonymous.text()
    assert int(anonymous.headers["Retry-After"]) >= 1

    for headers in (_holder(node, "https://kreis.example/"), _peer_token(peer_key, node)):
        for _ in range(3):
            response = await _ask(client, headers)
            assert response.status == 200, await response.text()

    stranger = NodeKey(Ed25519PrivateKey.generate())
    forged = await _ask(client, _peer_token(stranger, node))
    assert forged.status == 429, await forged.text()
    # a peer's token that names someone else than the peer earns no peer quota either
    posing = await _ask(client, _peer_token(peer_key, node, "https://kreis.example/"))
    assert posing.status == 429, await posing.text()


async def test_a_lookup_costs_almost_nothing(sparql_node: Any) -> None:
    """400 lookups fit in a budget of five worker-seconds (each holds a worker for under a
    millisecond on an idle machine, a few on a busy one; the first also waits while the
    worker loads its copy of the store), where a few dozen aggregates use up 0.2."""
    node, client = await sparql_node(query_seconds=5, query_seconds_per_second=0.001)
    await load_numbers(client, node, 3000)
    for i in range(400):
        lookup = f"SELECT ?v {{ <http://example.org/n{i}> <http://example.org/v> ?v }}"
        response = await client.get("/sparql", params={"query": lookup}, headers=JSON)
        assert response.status == 200, (i, await response.text())
