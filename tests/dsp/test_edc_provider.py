"""The node as consumer of a stock Eclipse EDC 0.15.1 provider (an EDC asset under an
access and a contract policy, set up through EDC's management API): the operator starts the
negotiation with the node's admin API and the node's own consumer side
(node/dsp/consumer.py) takes it to FINALIZED with EDC's agreement.

The same identity bridge as in test_edc_consumer.py stands in front of EDC (its
configuration-only `iam-mock` reads no bearer token). The transfer is a push (`HttpData-PUSH`):
EDC 0.15.1 on Maven Central ships no public API for HTTP pull (the module was removed), but
its data plane pushes, so EDC's own data plane fetches the asset from the partner's backend
(a loopback server of the test) and sends it to the endpoint the node's request names.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web

from allmende.node.auth import mint_token
from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from tests.services.edc import EdcConnector, IdentityBridge, Management, vocab
from tests.services.ports import ServiceUnavailable, free_port, tail
from tests.support import admin_headers, make_node

PROVIDER = "urn:partner:stadtwerke"
ASSET = "pegel-messstellen"


@pytest.fixture(scope="module")
def edc() -> Iterator[EdcConnector]:
    """One EDC runtime for the module: the partner's provider connector."""
    # a contract policy may bind use to a purpose: EDC ships no function for odrl:purpose
    # and by default refuses a policy definition naming an operand without one; the partner
    # checks the purpose when it agrees, as EDC compares the request with its offer
    connector = EdcConnector(PROVIDER, settings={"edc.policy.validation.enabled": "false"})
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


async def latest(
    http: aiohttp.ClientSession, node: Node, kind: str, done: tuple[str, ...], wait: float = 60
) -> dict[str, Any]:
    """The newest process of `kind` once it reached one of `done` (or as it is after `wait`)."""
    deadline = time.monotonic() + wait
    while True:
        async with http.get(
            f"{node.base_url}/admin/dsp/{kind}", headers=admin_headers(node)
        ) as found:
            row: dict[str, Any] = (await found.json())["items"][0]
        if row["state"] in done or time.monotonic() > deadline:
            return row
        await asyncio.sleep(0.05)


async def negotiate(
    node: Node,
    bridge: IdentityBridge,
    http: aiohttp.ClientSession,
    asset: str,
    change: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The node's negotiation for EDC's asset, as the operator starts it, once it ended."""
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
    [dataset] = [d for d in catalog["dataset"] if d["@id"] == asset]
    offer = dataset["hasPolicy"][0]
    if change is not None:
        offer = await change(offer)
    async with http.post(
        f"{node.base_url}/admin/dsp/negotiations",
        json={
            "providerId": PROVIDER,
            "connectorAddress": address,
            "datasetId": asset,
            "offer": {**offer, "assigner": PROVIDER},
        },
        headers=admin_headers(node),
    ) as started:
        assert started.status == 201, await started.text()
    return await latest(http, node, "negotiations", ("FINALIZED", "TERMINATED"))


async def why(edc: EdcConnector, http: aiohttp.ClientSession, row: dict[str, Any]) -> str:
    """Both sides' account of a process that did not end as expected: the node's row with
    its reason, EDC's negotiations with their `errorDetail`, and the end of EDC's log."""
    seen = await Management(edc, http).call(
        "POST", "/v3/contractnegotiations/request", vocab(**{"@type": "QuerySpec"})
    )
    edc_side = [{k: n.get(k) for k in ("@id", "type", "state", "errorDetail")} for n in seen]
    return f"node: {json.dumps(row)}\nEDC: {json.dumps(edc_side)}\n{tail(edc.log_file, chars=6000)}"


async def test_the_node_negotiates_with_an_edc_provider(
    edc: EdcConnector, village: tuple[Node, IdentityBridge, aiohttp.ClientSession]
) -> None:
    node, bridge, http = village
    provider = Management(edc, http)
    await provider.provide(ASSET)
    row = await negotiate(node, bridge, http, ASSET)
    assert row["state"] == "FINALIZED", await why(edc, http, row)
    agreement = row["received"]
    assert agreement["@type"] == "Agreement" and agreement["target"] == ASSET
    seen = await provider.call(
        "POST", "/v3/contractagreements/request", vocab(**{"@type": "QuerySpec"})
    )
    assert ASSET in {a["assetId"] for a in seen}


PUSHED = "pegel-messwerte"
READINGS = b'{"note": "sample data", "pegel": [{"station": "Musterbach", "cm": 312}]}'


@pytest.fixture
async def backend() -> AsyncIterator[str]:
    """The partner's backend behind its EDC asset: one loopback route with sample data."""
    app = web.Application()

    async def readings(request: web.Request) -> web.Response:
        return web.Response(body=READINGS, content_type="application/json")

    app.router.add_get("/readings", readings)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/readings"
    await runner.cleanup()


async def test_the_node_receives_an_edc_providers_data_pushed_by_its_data_plane(
    edc: EdcConnector,
    village: tuple[Node, IdentityBridge, aiohttp.ClientSession],
    backend: str,
) -> None:
    node, bridge, http = village
    await Management(edc, http).provide(PUSHED, backend)
    negotiation = await negotiate(node, bridge, http, PUSHED)
    assert negotiation["state"] == "FINALIZED", await why(edc, http, negotiation)
    async with http.post(
        f"{node.base_url}/admin/dsp/transfers",
        json={
            "providerId": PROVIDER,
            "connectorAddress": bridge.edc_address + "/2025-1",
            "agreementId": negotiation["agreement_id"],
            "format": "HttpData-PUSH",
        },
        headers=admin_headers(node),
    ) as started:
        assert started.status == 201, await started.text()
    transfer = await latest(http, node, "transfers", ("COMPLETED", "TERMINATED"))
    assert transfer["state"] == "COMPLETED", json.dumps(transfer)  # with its reason
    assert transfer["data"]["bytes"] == len(READINGS)  # the listing says what arrived
    data = f"{node.base_url}/admin/dsp/transfers/{quote(transfer['pid'], safe='')}/data"
    async with http.get(data, headers=admin_headers(node)) as fetched:
        assert fetched.status == 200, await fetched.text()
        assert await fetched.read() == READINGS
    async with http.get(data) as anonymous:
        assert anonymous.status == 401
    # the push endpoint takes only the token the request named, and only while it is open
    push = f"{node.base_url}/dsp/consumer/transfers/{quote(transfer['pid'], safe='')}/data"
    forged = mint_token(node.key, node.id, role="participant", subject=PROVIDER)
    async with http.post(push, data=b"other", headers={"Authorization": f"Bearer {forged}"}) as r:
        assert r.status == 401, await r.text()


RESEARCH = "pegel-forschung"
PURPOSE = "https://w3id.org/allmende/ns#research"


async def test_the_node_negotiates_a_purpose_bound_edc_asset_with_its_purpose(
    edc: EdcConnector, village: tuple[Node, IdentityBridge, aiohttp.ClientSession]
) -> None:
    """An EDC asset whose contract policy binds its use to research: the node's request with
    the offer's purpose is agreed, the agreement carries the purpose. Asked for another
    purpose, EDC agrees its own offer all the same; the node does not verify an agreement
    that is not what it asked for and terminates the negotiation, so it holds none."""
    node, bridge, http = village
    bound = [{"leftOperand": "purpose", "operator": "eq", "rightOperand": PURPOSE}]
    await Management(edc, http).provide(RESEARCH, constraints=bound)
    row = await negotiate(node, bridge, http, RESEARCH)
    assert row["state"] == "FINALIZED", await why(edc, http, row)
    [constraint] = row["received"]["permission"][0]["constraint"]
    assert constraint["rightOperand"] in (PURPOSE, {"@id": PURPOSE}), constraint

    async def other(offer: dict[str, Any]) -> dict[str, Any]:
        changed = json.loads(json.dumps(offer).replace("ns#research", "ns#commercial"))
        assert changed != offer
        return changed

    row = await negotiate(node, bridge, http, RESEARCH, change=other)
    assert row["state"] == "TERMINATED", row
    assert row["agreement_id"] is None, json.dumps(row)
    assert "differs in" in row["reason"], row["reason"]  # the operator sees why
