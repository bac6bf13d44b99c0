"""Restricted data opens only to a valid agreement, through every path, and every decision is
on the record.

Matrix: a restricted dataset x {no token, token for another dataset, expired token, expired
agreement, revoked agreement, wrong purpose, forged signature, valid} x {download, SPARQL,
observations API}. Only the valid cells get data; the others leak none of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import Session, select

from allmende.node.catalog import service
from allmende.node.http.app import create_app
from allmende.node.ingest.registry import Registry, register
from allmende.node.ingest.sources import new_secret
from allmende.node.keys import generate_key
from allmende.node.runtime import Node
from allmende.node.usage.agreements import access_token, grant, revoke
from allmende.node.usage.models import AuditEntry
from allmende.policies.templates import template_document
from tests.ingest.conftest import dataset_body, payload
from tests.support import admin_headers, make_node

pytestmark = [
    pytest.mark.stores("embedded", "oxigraph", "fuseki"),
    pytest.mark.usefixtures("store_backend"),
]

RESTRICTED, OTHER = "raumklima-dgh", "parken-dorfplatz"
DEVICE = "70B3D57ED00AB001"
FILE_CONTENT = b"zeit,feuchte\n2024-05-14T08:15:00Z,61.5\n"
RESEARCH = "https://w3id.org/allmende/ns#research"
PARTNER = "https://uni-kiel.example/"
HUMIDITY = "47.25"  # the uplink's value: must never appear in a refused answer


@dataclass
class Setup:
    node: Node
    client: Any
    tokens: dict[str, str | None]


async def restricted_village(
    tmp_path: Path, aiohttp_client: Any, database_url: str | None = None
) -> Setup:
    node = make_node(
        tmp_path,
        name="Lütjenholm",
        node_id="https://luetjenholm.example/",
        database_url=database_url,
    )
    for dataset_id in (RESTRICTED, OTHER):
        policy = template_document("research-only", assigner=node.id)
        body = {**dataset_body(dataset_id), "license": "other-closed", "policy": policy}
        await service.create(node, body)
    await register(
        node,
        Registry(node),
        {"device": DEVICE, "dataset": RESTRICTED, "profile": "room-climate", "lat": 54.6, "lon": 9},
    )
    secret = new_secret(node, "ttn")
    client = await aiohttp_client(create_app(node))
    uploaded = await client.post(
        f"/admin/datasets/{RESTRICTED}/distributions?file_name=feuchte.csv",
        data=FILE_CONTENT,
        headers={**admin_headers(node), "Content-Type": "text/csv"},
    )
    assert uploaded.status == 201, await uploaded.text()
    uplink = payload("ttn-uplink-humidity.json")
    uplink["uplink_message"]["decoded_payload"]["humidity"] = float(HUMIDITY)
    ingested = await client.post(
        "/ingest/ttn", json=uplink, headers={"X-Allmende-Webhook-Secret": secret}
    )
    assert ingested.status == 202, await ingested.text()
    await asyncio.to_thread(node.project)
    return Setup(node, client, await asyncio.to_thread(tokens, node))


def tokens(node: Node) -> dict[str, str | None]:
    valid = grant(node, RESTRICTED, PARTNER, purpose="research")
    other = grant(node, OTHER, PARTNER, purpose="research")
    ended = datetime.now(UTC) - timedelta(seconds=1)
    lapsed = grant(node, RESTRICTED, PARTNER, purpose="research", expires=ended)
    revoked = revoke(node, grant(node, RESTRICTED, PARTNER, purpose="research").id)
    assert revoked is not None
    forger = SimpleNamespace(key=generate_key(node.settings.directory / "forger.pem"), id=node.id)
    return {
        "no token": None,
        "token for another dataset": access_token(node, other),
        "expired token": access_token(node, valid, ttl=-60),
        "expired agreement": access_token(node, lapsed),
        "revoked agreement": access_token(node, revoked),
        "wrong purpose": access_token(node, valid, purpose="commercial"),
        "forged signature": access_token(forger, valid),  # type: ignore[arg-type]
        "valid": access_token(node, valid),
    }


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def download(client: Any, token: str | None) -> tuple[int, bytes]:
    response = await client.get(
        f"/datasets/{RESTRICTED}/distributions/feuchte/download", headers=bearer(token)
    )
    return response.status, await response.read()


async def sparql(client: Any, token: str | None) -> tuple[int, bytes]:
    query = "SELECT ?v WHERE { ?o <http://www.w3.org/ns/sosa/hasSimpleResult> ?v }"
    response = await client.post(
        "/sparql",
        data={"query": query},
        headers={**bearer(token), "Accept": "application/sparql-results+json"},
    )
    return response.status, await response.read()


async def observations(client: Any, token: str | None) -> tuple[int, bytes]:
    response = await client.get(
        f"/datasets/{RESTRICTED}/observations",
        params={"sensor": DEVICE.lower(), "from": "2024-01-01T00:00:00Z"},
        headers=bearer(token),
    )
    return response.status, await response.read()


CHANNELS: dict[str, Callable[[Any, str | None], Awaitable[tuple[int, bytes]]]] = {
    "download": download,
    "sparql": sparql,
    "observations": observations,
}


def holds_data(channel: str, body: bytes) -> bool:
    return FILE_CONTENT in body if channel == "download" else HUMIDITY.encode() in body


async def test_restricted_data_opens_only_to_a_valid_agreement(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    setup = await restricted_village(tmp_path, aiohttp_client)
    outcomes: dict[tuple[str, str], tuple[int, bool]] = {}
    for cell, token in setup.tokens.items():
        for channel, use in CHANNELS.items():
            status, body = await use(setup.client, token)
            outcomes[cell, channel] = (status, holds_data(channel, body))
    granted = {key for key, (status, data) in outcomes.items() if status == 200 and data}
    assert granted == {("valid", channel) for channel in CHANNELS}
    leaked = {key for key, (_status, data) in outcomes.items() if data and key[0] != "valid"}
    assert not leaked
    for (cell, channel), (status, _data) in outcomes.items():
        if channel == "sparql" and cell in ("no token", "token for another dataset"):
            assert status == 200  # the public view, or the other dataset's: not this one
        elif cell in ("no token", "expired token", "forged signature"):
            assert status == 401, (cell, channel, status)
        elif cell != "valid":
            assert status == 403, (cell, channel, status)


async def test_every_decision_is_audited_and_the_public_sees_counts(
    tmp_path: Path, aiohttp_client: Any, database_url: str | None
) -> None:
    setup = await restricted_village(tmp_path, aiohttp_client, database_url)
    for cell in ("valid", "wrong purpose", "revoked agreement"):
        for use in CHANNELS.values():
            await use(setup.client, setup.tokens[cell])
    with Session(setup.node.engine) as session:
        entries = session.exec(select(AuditEntry)).all()
    assert len(entries) == 9
    permits = [e for e in entries if e.decision == "permit"]
    assert {e.channel for e in permits} == set(CHANNELS)
    assert all(e.subject == PARTNER and e.purpose == RESEARCH for e in permits)
    refused = {e.said_reason for e in entries if e.decision == "deny"}
    assert "the agreement was revoked" in refused
    assert any("does not permit" in reason for reason in refused)

    log = await setup.client.get(
        "/admin/audit", params={"decision": "deny"}, headers=admin_headers(setup.node)
    )
    assert log.status == 200 and len((await log.json())["entries"]) == 6
    assert (await setup.client.get("/admin/audit")).status == 401
    public = await (await setup.client.get("/usage")).json()
    row = next(d for d in public["datasets"] if d["dataset"] == RESTRICTED)
    assert row["permitted"] == 3 and row["refused"] == 6 and row["purposes"] == {RESEARCH: 3}
    assert row["title"].startswith(RESTRICTED)
    assert PARTNER not in str(public)
    page = await setup.client.get("/usage", headers={"Accept": "text/html"})
    text = await page.text()
    assert page.status == 200 and "Forschung: 3" in text and PARTNER not in text


async def test_agreements_are_granted_signed_and_revoked_through_the_admin_api(
    tmp_path: Path, aiohttp_client: Any, database_url: str | None
) -> None:
    setup = await restricted_village(tmp_path, aiohttp_client, database_url)
    admin = admin_headers(setup.node)
    refused = await setup.client.post(
        "/admin/agreements",
        json={"dataset": RESTRICTED, "assignee": PARTNER, "purpose": "commercial"},
        headers=admin,
    )
    assert refused.status == 409 and "does not permit" in (await refused.json())["detail"]
    invalid = await setup.client.post(
        "/admin/agreements", json={"dataset": RESTRICTED, "extra": 1}, headers=admin
    )
    assert invalid.status == 422
    made = await setup.client.post(
        "/admin/agreements",
        json={"dataset": RESTRICTED, "assignee": PARTNER, "purpose": "research"},
        headers=admin,
    )
    assert made.status == 201
    agreement = await made.json()
    signed = agreement["agreement"]
    assert signed["policy"]["@type"] == "Agreement" and signed["policy"]["assignee"] == PARTNER
    assert [s["role"] for s in signed["signatures"]] == ["provider"]

    issued = await setup.client.post(
        f"/admin/agreements/{agreement['id']}/token", json={"ttl": 600}, headers=admin
    )
    token = (await issued.json())["access_token"]
    assert (await observations(setup.client, token))[0] == 200
    revoked = await setup.client.post(f"/admin/agreements/{agreement['id']}/revoke", headers=admin)
    assert revoked.status == 200 and (await revoked.json())["revoked"]
    assert (await observations(setup.client, token))[0] == 403  # at once, same token
    again = await setup.client.post(f"/admin/agreements/{agreement['id']}/token", headers=admin)
    assert again.status == 409
