"""Village to village over the Dataspace Protocol: Bredstedt's node, as consumer, negotiates
with Lütjenholm's for a restricted dataset and pulls it; Struckum's policy says no.

Both sides are real nodes on loopback that trust each other as peers: each signs its own
participant tokens with its node key, and the other verifies them against the pinned key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session, select

from allmende.node.catalog import service
from allmende.node.usage.models import AuditEntry
from tests.federation.villages import Running, make_villages, serve
from tests.ingest.conftest import dataset_body

DATASET = "wasserstand-au"
CONTENT = b"zeit,pegel_cm\n2024-05-14T08:15:00Z,112\n"


async def until_state(
    http: aiohttp.ClientSession, village: Running, kind: str, pid: str, states: set[str]
) -> dict[str, Any]:
    """The consumer's record of a process once it reached one of `states`."""
    async with asyncio.timeout(15):
        while True:
            async with http.get(f"{village.url}/admin/dsp/{kind}", headers=village.admin()) as r:
                found = next(p for p in (await r.json())["items"] if p["pid"] == pid)
            if found["state"] in states:
                return found
            await asyncio.sleep(0.05)


@pytest.fixture
async def villages(tmp_path: Path) -> AsyncIterator[list[Running]]:
    placed = make_villages(tmp_path)
    luetjenholm, bredstedt, _ = placed
    offer = {
        "@context": "https://w3id.org/dspace/2025/1/context.jsonld",
        "@type": "Offer",
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {
                        "leftOperand": "recipient",
                        "operator": "eq",
                        "rightOperand": {"@id": bredstedt.node.id},
                    }
                ],
            }
        ],
    }
    body = {**dataset_body(DATASET), "license": "other-closed", "policy": offer}
    await service.create(luetjenholm.node, body)
    for village in placed:
        await serve(village)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{luetjenholm.url}/admin/datasets/{DATASET}/distributions?file_name=pegel.csv",
            data=CONTENT,
            headers={**luetjenholm.admin(), "Content-Type": "text/csv"},
        ) as uploaded,
    ):
        assert uploaded.status == 201, await uploaded.text()
    yield placed
    for village in placed:
        assert village.runner is not None
        await village.runner.cleanup()


async def negotiate(http: aiohttp.ClientSession, consumer: Running, provider: Running) -> str:
    async with http.post(
        f"{provider.url}/dsp/catalog/request",
        json={
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "CatalogRequestMessage",
        },
    ) as r:
        catalog = await r.json()
    dataset = next(d for d in catalog["dataset"] if d["@id"] == DATASET)
    async with http.post(
        f"{consumer.url}/admin/dsp/negotiations",
        json={
            "providerId": provider.node.id,
            "connectorAddress": f"{provider.url}/dsp",
            "datasetId": DATASET,
            "offer": dataset["hasPolicy"][0],
        },
        headers=consumer.admin(),
    ) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["consumerPid"])


async def test_a_neighbour_negotiates_and_pulls_restricted_data(villages: list[Running]) -> None:
    luetjenholm, bredstedt, _ = villages
    async with aiohttp.ClientSession() as http:
        pid = await negotiate(http, bredstedt, luetjenholm)
        negotiation = await until_state(
            http, bredstedt, "negotiations", pid, {"FINALIZED", "TERMINATED"}
        )
        assert negotiation["state"] == "FINALIZED"
        agreement = negotiation["received"]
        assert agreement["assignee"] == bredstedt.node.id  # the verified peer, not a claim
        async with http.post(
            f"{bredstedt.url}/admin/dsp/transfers",
            json={
                "providerId": luetjenholm.node.id,
                "connectorAddress": f"{luetjenholm.url}/dsp",
                "agreementId": agreement["@id"],
                "format": "HttpData-PULL",
            },
            headers=bredstedt.admin(),
        ) as r:
            assert r.status == 201, await r.text()
            transfer_pid = (await r.json())["consumerPid"]
        transfer = await until_state(
            http, bredstedt, "transfers", transfer_pid, {"STARTED", "TERMINATED"}
        )
        assert transfer["state"] == "STARTED"
        address = transfer["received"]
        token = next(
            p["value"] for p in address["endpointProperties"] if p["name"] == "authorization"
        )
        async with http.get(address["endpoint"]) as refused:
            assert refused.status == 401
        async with http.get(address["endpoint"], headers={"Authorization": token}) as pulled:
            assert pulled.status == 200
            assert await pulled.read() == CONTENT
    with Session(luetjenholm.node.engine) as session:
        used = session.exec(select(AuditEntry).where(AuditEntry.subject == bredstedt.node.id)).all()
    assert {(e.channel, e.decision) for e in used} >= {
        ("transfer", "permit"),
        ("download", "permit"),
    }


async def test_a_neighbour_the_policy_does_not_name_is_turned_down(villages: list[Running]) -> None:
    luetjenholm, _, struckum = villages
    async with aiohttp.ClientSession() as http:
        pid = await negotiate(http, struckum, luetjenholm)
        negotiation = await until_state(
            http, struckum, "negotiations", pid, {"FINALIZED", "TERMINATED"}
        )
    assert negotiation["state"] == "TERMINATED"
    assert negotiation["agreement_id"] is None
