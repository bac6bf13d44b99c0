"""A stock Eclipse EDC 0.15.1 (tests/services/edc.py) as a partner's consumer connector
against a node on loopback, driven through EDC's management API only: catalog request ->
negotiation -> agreement (EDC checks it equals the offer it sent) -> HTTP-pull transfer ->
data fetched with the token of the EDR that EDC received.

Identity: EDC can present no bearer token of ours with the modules the registry serves (its
only real identity service, DCP, needs a token service that is not served at 0.15.1), so
EDC runs with its configuration-only `iam-mock`, and `EdcBridge` stands where a partner's
identity would: it passes every protocol message unchanged and only swaps the
Authorization header — EDC's mock token for the participant token the node issued to this
partner, the node's token for a mock token naming the node. What is tested is the protocol
and usage control, not how EDC proves who it is.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import Session, select

from node.auth import mint_token
from node.catalog import service
from node.http.app import create_app
from node.runtime import Node
from node.usage import audit
from node.usage.agreements import revoke
from node.usage.models import Agreement
from policies.templates import template_document
from policies.terms import ALLMENDE, DCT, ODRL_CONTEXT
from tests.ingest.conftest import dataset_body
from tests.services.edc import API_KEY, PROTOCOL, EdcConnector, vocab
from tests.services.ports import ServiceUnavailable, free_port
from tests.support import make_node

PARTNER = "urn:partner:kreis-nf"
OPEN, RESTRICTED = "parken-dorfplatz", "raumklima-dgh"
BRIDGE_PORT = free_port()
WAIT = 30.0


@pytest.fixture(scope="module")
def edc() -> Iterator[EdcConnector]:
    """One EDC runtime for the module: the partner's consumer connector."""
    connector = EdcConnector(
        PARTNER, settings={"edc.dsp.callback.address": f"http://127.0.0.1:{BRIDGE_PORT}/edc"}
    )
    try:
        connector.start()
    except ServiceUnavailable as exc:
        from tests.conftest import _missing

        _missing(f"Eclipse EDC unavailable: {exc}")
    yield connector
    connector.stop()


@dataclass
class EdcBridge:
    """Loopback stand-in for the partner's identity (see the module docstring)."""

    node: Node
    edc: EdcConnector
    http: aiohttp.ClientSession
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    @property
    def node_address(self) -> str:
        return f"http://127.0.0.1:{BRIDGE_PORT}/node"

    async def _forward(self, request: web.Request, url: str, authorization: str) -> web.Response:
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        if "Authorization" in request.headers:
            headers["Authorization"] = authorization
        async with self.http.request(
            request.method, url, data=await request.read(), headers=headers
        ) as answer:
            return web.Response(
                status=answer.status,
                body=await answer.read(),
                content_type=answer.content_type,
            )

    async def to_node(self, request: web.Request) -> web.Response:
        token = mint_token(self.node.key, self.node.id, role="participant", subject=PARTNER)
        url = f"{self.node.base_url}/dsp/{request.match_info['tail']}"
        return await self._forward(request, url, f"Bearer {token}")

    async def to_edc(self, request: web.Request) -> web.Response:
        mock = json.dumps({"region": "eu", "audience": PARTNER, "clientId": self.node.id})
        return await self._forward(
            request, f"{self.edc.protocol}/{request.match_info['tail']}", mock
        )

    async def hook(self, request: web.Request) -> web.Response:
        await self.events.put(await request.json())
        return web.Response(status=204)

    # -- the partner's side: EDC's management API ------------------------------------------

    async def management(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(
            method, self.edc.management + path, json=body, headers={"x-api-key": API_KEY}
        ) as answer:
            text = await answer.text()
            assert answer.status < 300, (answer.status, text)
            return json.loads(text) if text else None

    async def offer(self, dataset_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The dataset's offer as EDC's catalog request shows it, and the response's context."""
        catalog = await self.management(
            "POST",
            "/v3/catalog/request",
            vocab(
                **{"@type": "CatalogRequest"},
                counterPartyAddress=self.node_address,
                counterPartyId=self.node.id,
                protocol=PROTOCOL,
            ),
        )
        datasets = catalog.get("dataset", [])
        datasets = datasets if isinstance(datasets, list) else [datasets]
        found = [d for d in datasets if d.get("@id") == dataset_id]
        assert len(found) == 1, catalog
        [dataset] = found
        policy = dataset["hasPolicy"]
        return (policy[0] if isinstance(policy, list) else policy), catalog["@context"]

    async def negotiate(
        self, dataset_id: str, offer: dict[str, Any], context: Any
    ) -> dict[str, Any]:
        """Start a negotiation for the offer and wait until it ends; EDC's negotiation."""
        policy = {"@context": [ODRL_CONTEXT, {"dct": DCT}], **offer, "target": dataset_id}
        started = await self.management(
            "POST",
            "/v3/contractnegotiations",
            vocab(
                **{"@type": "ContractRequest"},
                counterPartyAddress=self.node_address,
                protocol=PROTOCOL,
                policy=policy,
            ),
        )
        return await self.until(
            f"/v3/contractnegotiations/{started['@id']}", {"FINALIZED", "TERMINATED"}
        )

    async def until(self, path: str, states: set[str]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while True:
            found: dict[str, Any] = await self.management("GET", path)
            if found.get("state") in states or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.05)

    async def pull(self, agreement_id: str) -> dict[str, Any]:
        """An HTTP-pull transfer under the agreement; the EDR EDC got (endpoint, token)."""
        await self.management(
            "POST",
            "/v3/transferprocesses",
            vocab(
                **{"@type": "TransferRequest"},
                counterPartyAddress=self.node_address,
                contractId=agreement_id,
                protocol=PROTOCOL,
                transferType="HttpData-PULL",
                callbackAddresses=[
                    {
                        "uri": f"http://127.0.0.1:{BRIDGE_PORT}/hook",
                        "events": ["transfer.process.started"],
                        "transactional": False,
                    }
                ],
            ),
        )
        event = await asyncio.wait_for(self.events.get(), WAIT)
        address: dict[str, Any] = event["payload"]["dataAddress"]
        return address


def edr(address: dict[str, Any]) -> tuple[str, str]:
    """The endpoint and Authorization header of an EDR as EDC's event carries it; the
    observations endpoint is asked for one sensor (its `sensor` query parameter)."""
    properties = address.get("properties", address)

    def value(name: str) -> str:
        for key, found in properties.items():
            if key.rsplit("/", 1)[-1] == name:
                return str(found)
        raise KeyError(f"{name} not in {properties}")

    return value("endpoint") + "?sensor=70b3d57ed0000001", value("authorization")


@pytest.fixture
async def bridge(edc: EdcConnector, tmp_path: Path) -> AsyncIterator[EdcBridge]:
    port = free_port()
    node = make_node(
        tmp_path / "node",
        port=port,
        environ={"ALLMENDE_DSP_CALLBACK_HOSTS": f"127.0.0.1:{BRIDGE_PORT}"},
    )
    await service.create(node, dataset_body(OPEN))
    research = template_document("research-only", assigner=node.id)
    await service.create(
        node, {**dataset_body(RESTRICTED), "license": "other-closed", "policy": research}
    )
    runner = web.AppRunner(create_app(node))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with aiohttp.ClientSession() as http:
        bridge = EdcBridge(node, edc, http)
        app = web.Application()
        app.router.add_route("*", "/node/{tail:.*}", bridge.to_node)
        app.router.add_route("*", "/edc/{tail:.*}", bridge.to_edc)
        app.router.add_post("/hook", bridge.hook)
        bridge_runner = web.AppRunner(app)
        await bridge_runner.setup()
        await web.TCPSite(bridge_runner, "127.0.0.1", BRIDGE_PORT).start()
        yield bridge
        await bridge_runner.cleanup()
    await runner.cleanup()


def agreements(node: Node) -> list[Agreement]:
    with Session(node.engine) as session:
        return list(session.exec(select(Agreement)).all())


async def test_edc_negotiates_and_pulls_an_open_dataset(bridge: EdcBridge) -> None:
    offer, context = await bridge.offer(OPEN)
    negotiation = await bridge.negotiate(OPEN, offer, context)
    assert negotiation["state"] == "FINALIZED", negotiation
    endpoint, authorization = edr(await bridge.pull(negotiation["contractAgreementId"]))
    assert endpoint.startswith(bridge.node.base_url)
    async with bridge.http.get(endpoint, headers={"Authorization": authorization}) as data:
        assert data.status == 200, await data.text()


async def test_edc_with_the_offers_purpose_gets_restricted_data_until_revoked(
    bridge: EdcBridge,
) -> None:
    offer, context = await bridge.offer(RESTRICTED)
    negotiation = await bridge.negotiate(RESTRICTED, offer, context)
    assert negotiation["state"] == "FINALIZED", negotiation
    [agreement] = agreements(bridge.node)
    assert agreement.purpose == ALLMENDE + "research" and agreement.assignee == PARTNER

    endpoint, authorization = edr(await bridge.pull(negotiation["contractAgreementId"]))
    async with bridge.http.get(endpoint, headers={"Authorization": authorization}) as data:
        assert data.status == 200, await data.text()
    async with bridge.http.get(endpoint) as anonymous:
        assert anonymous.status in (401, 403)
    permits = audit.entries(bridge.node, {"dataset": RESTRICTED, "decision": "permit"})
    assert {entry.channel for entry in permits} >= {"transfer", "observations"}
    [entry] = [entry for entry in permits if entry.channel == "observations"]
    assert (entry.subject, entry.purpose, entry.agreement_id) == (
        PARTNER,
        ALLMENDE + "research",
        agreement.id,
    )

    revoke(bridge.node, agreement.id)
    async with bridge.http.get(endpoint, headers={"Authorization": authorization}) as data:
        assert data.status == 403
    assert audit.entries(bridge.node, {"dataset": RESTRICTED})[0].decision == "deny"


async def test_edc_with_another_purpose_is_terminated_and_gets_no_data(bridge: EdcBridge) -> None:
    offer, context = await bridge.offer(RESTRICTED)
    changed = json.loads(json.dumps(offer).replace(ALLMENDE + "research", ALLMENDE + "commercial"))
    assert changed != offer
    negotiation = await bridge.negotiate(RESTRICTED, changed, context)
    assert negotiation["state"] == "TERMINATED", negotiation
    assert "does not permit" in negotiation.get("errorDetail", ""), negotiation
    assert "purpose" in negotiation["errorDetail"]
    assert agreements(bridge.node) == []
