"""The node as consumer of a stock Eclipse EDC 0.15.1 provider (an EDC asset under an
access and a contract policy, set up through EDC's management API): the operator starts the
negotiation with the node's admin API and the node's own consumer side
(node/dsp/consumer.py) takes it to FINALIZED with EDC's agreement.

The same identity bridge as in test_edc_consumer.py stands in front of EDC (its
configuration-only `iam-mock` reads no bearer token). Transfers are not tested here: EDC
0.15.1 ships no HTTP-pull data plane (its public API module was removed), so a stock EDC
provider cannot start one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from allmende.node.auth import mint_token
from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from tests.services.edc import EdcConnector, IdentityBridge, Management, vocab
from tests.services.ports import ServiceUnavailable, free_port
from tests.support import admin_headers, make_node

PROVIDER = "urn:partner:stadtwerke"
ASSET = "pegel-messstellen"


@pytest.fixture(scope="module")
def edc() -> Iterator[EdcConnector]:
    """One EDC runtime for the module: the partner's provider connector."""
    connector = EdcConnector(PROVIDER)
    try:
        connector.start()
    except ServiceUnavailable as exc:
        from tests.conftest import _missing

        _missing(f"Eclipse EDC unavailable: {exc}")
    yield connector
    connector.stop()


async def processes(http: aiohttp.ClientSession, node: Node) -> list[dict[str, Any]]:
    async with http.get(
        f"{node.base_url}/admin/dsp/negotiations", headers=admin_headers(node)
    ) as found:
        items: list[dict[str, Any]] = (await found.json())["items"]
        return items


@pytest.fixture
async def village(
    edc: EdcConnector, tmp_path: Path
) -> AsyncIterator[tuple[Node, IdentityBridge, aiohttp.ClientSession]]:
    port, bridge_port = free_port(), free_port()
    node = make_node(
        tmp_path / "node",
        port=port,
        environ={"ALLMENDE_DSP_CALLBACK_HOSTS": f"127.0.0.1:{bridge_port}"},
    )
    runner = web.AppRunner(create_app(node))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    def token() -> str:
        return mint_token(node.key, node.id, role="participant", subject=node.id)

    bridge = await IdentityBridge(edc, node.base_url, node.id, token, bridge_port).start()
    async with aiohttp.ClientSession() as http:
        yield node, bridge, http
    await bridge.stop()
    await runner.cleanup()


async def test_the_node_negotiates_with_an_edc_provider(
    edc: EdcConnector, village: tuple[Node, IdentityBridge, aiohttp.ClientSession]
) -> None:
    node, bridge, http = village
    provider = Management(edc, http)
    await provider.provide(ASSET)
    # the offer as EDC's DSP catalog states it (the node reads the catalog the same way)
    address = bridge.edc_address + "/2025-1"
    async with http.post(
        f"{address}/catalog/request",
        json={
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "CatalogRequestMessage",
        },
        headers={"Authorization": f"Bearer {bridge.token()}"},
    ) as found:
        assert found.status == 200, await found.text()
        catalog = await found.json()
    [dataset] = [d for d in catalog["dataset"] if d["@id"] == ASSET]
    offer = dataset["hasPolicy"][0]
    async with http.post(
        f"{node.base_url}/admin/dsp/negotiations",
        json={
            "providerId": PROVIDER,
            "connectorAddress": address,
            "datasetId": ASSET,
            "offer": {**offer, "assigner": PROVIDER},
        },
        headers=admin_headers(node),
    ) as started:
        assert started.status == 201, await started.text()
    deadline = time.monotonic() + 30
    while True:
        [row] = await processes(http, node)
        if row["state"] in ("FINALIZED", "TERMINATED") or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert row["state"] == "FINALIZED", row
    agreement = row["received"]
    assert agreement["@type"] == "Agreement" and agreement["target"] == ASSET
    [seen] = await provider.call(
        "POST", "/v3/contractagreements/request", vocab(**{"@type": "QuerySpec"})
    )
    assert seen["assetId"] == ASSET
