"""A stock Eclipse EDC 0.15.1 (tests/services/edc.py) as a partner's consumer connector
against a node on loopback, driven through EDC's management API only: catalog request ->
negotiation -> agreement (EDC checks it equals the offer it sent) -> HTTP-pull transfer ->
data fetched with the token of the EDR that EDC received.

Identity: EDC can present no bearer token of ours with the modules the registry serves (its
only real identity service, DCP, needs a token service that is not served at 0.15.1), so
EDC runs with its configuration-only `iam-mock`, and `IdentityBridge` stands where a partner's
identity would: it passes every protocol message unchanged and only swaps the
Authorization header — EDC's mock token for the participant token the node issued to this
partner, the node's token for a mock token naming the node. What is tested is the protocol
and usage control, not how EDC proves who it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import Session, select

from allmende.node.auth import mint_token
from allmende.node.catalog import service
from allmende.node.http.app import create_app
from allmende.node.identity.did import own_did
from allmende.node.runtime import Node
from allmende.node.usage import audit
from allmende.node.usage.agreements import revoke
from allmende.node.usage.models import Agreement
from allmende.policies.templates import template_document
from allmende.policies.terms import ALLMENDE
from tests.ingest.conftest import dataset_body
from tests.services.edc import EdcConnector, IdentityBridge, Management
from tests.services.ports import ServiceUnavailable, free_port
from tests.support import make_node

PARTNER = "urn:partner:kreis-nf"
PARTNER_DID = "did:web:edc.kreis-nf.example"  # sample data
OPEN, RESTRICTED = "parken-dorfplatz", "raumklima-dgh"
WAIT = 30.0


@pytest.fixture(scope="module")
def bridge_port() -> int:
    """Where the identity bridge listens: EDC's callback address names it."""
    return free_port()


@pytest.fixture(scope="module")
def edc(bridge_port: int) -> Iterator[EdcConnector]:
    """One EDC runtime for the module: the partner's consumer connector."""
    connector = EdcConnector(
        PARTNER, settings={"edc.dsp.callback.address": f"http://127.0.0.1:{bridge_port}/edc"}
    )
    try:
        connector.start()
    except ServiceUnavailable as exc:
        from tests.conftest import _missing

        _missing(f"Eclipse EDC unavailable: {exc}")
    yield connector
    connector.stop()


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


@dataclass
class Partner:
    """The partner's EDC (through its management API), the bridge and the village's node."""

    node: Node
    edc: Management
    bridge: IdentityBridge
    http: aiohttp.ClientSession

    async def negotiate(self, dataset_id: str, offer: dict[str, Any]) -> dict[str, Any]:
        return await self.edc.negotiate(self.bridge.node_address, offer, dataset_id)

    async def offer(self, dataset_id: str) -> dict[str, Any]:
        return await self.edc.offer(self.bridge.node_address, self.bridge.node_id, dataset_id)

    async def pull(self, agreement_id: str) -> tuple[str, str]:
        """An HTTP-pull transfer; the EDR's endpoint and Authorization header."""
        await self.edc.transfer(self.bridge.node_address, agreement_id, self.bridge.hook)
        event = await asyncio.wait_for(self.bridge.events.get(), WAIT)
        return edr(event["payload"]["dataAddress"])


@pytest.fixture
async def bridge(edc: EdcConnector, bridge_port: int, tmp_path: Path) -> AsyncIterator[Partner]:
    async with partner(edc, bridge_port, tmp_path, PARTNER) as found:
        yield found


@pytest.fixture
async def did_bridge(edc: EdcConnector, bridge_port: int, tmp_path: Path) -> AsyncIterator[Partner]:
    """The partner known by a DID, as under DCP: the node names itself by its DID then."""
    async with partner(edc, bridge_port, tmp_path, PARTNER_DID, by_did=True) as found:
        yield found


@contextlib.asynccontextmanager
async def partner(
    edc: EdcConnector, bridge_port: int, tmp_path: Path, subject: str, by_did: bool = False
) -> AsyncIterator[Partner]:
    port = free_port()
    node = make_node(
        tmp_path / "node",
        port=port,
        environ={"ALLMENDE_DSP_CALLBACK_HOSTS": f"127.0.0.1:{bridge_port}"},
    )
    await service.create(node, dataset_body(OPEN))
    research = template_document("research-only", assigner=node.id)
    await service.create(
        node, {**dataset_body(RESTRICTED), "license": "other-closed", "policy": research}
    )
    runner = web.AppRunner(create_app(node))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    def token() -> str:
        return mint_token(node.key, node.id, role="participant", subject=subject)

    name = own_did(node) if by_did else node.id
    identity = await IdentityBridge(edc, node.base_url, name, token, bridge_port).start()
    async with aiohttp.ClientSession() as http:
        yield Partner(node, Management(edc, http), identity, http)
    await identity.stop()
    await runner.cleanup()


def agreements(node: Node) -> list[Agreement]:
    with Session(node.engine) as session:
        return list(session.exec(select(Agreement)).all())


async def test_edc_negotiates_and_pulls_an_open_dataset(bridge: Partner) -> None:
    offer = await bridge.offer(OPEN)
    negotiation = await bridge.negotiate(OPEN, offer)
    assert negotiation["state"] == "FINALIZED", negotiation
    endpoint, authorization = await bridge.pull(negotiation["contractAgreementId"])
    assert endpoint.startswith(bridge.node.base_url)
    async with bridge.http.get(endpoint, headers={"Authorization": authorization}) as data:
        assert data.status == 200, await data.text()


async def test_edc_with_the_offers_purpose_gets_restricted_data_until_revoked(
    bridge: Partner,
) -> None:
    offer = await bridge.offer(RESTRICTED)
    negotiation = await bridge.negotiate(RESTRICTED, offer)
    assert negotiation["state"] == "FINALIZED", negotiation
    [agreement] = agreements(bridge.node)
    assert agreement.purpose == ALLMENDE + "research" and agreement.assignee == PARTNER

    endpoint, authorization = await bridge.pull(negotiation["contractAgreementId"])
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


async def test_edc_with_another_purpose_is_terminated_and_gets_no_data(bridge: Partner) -> None:
    offer = await bridge.offer(RESTRICTED)
    changed = json.loads(json.dumps(offer).replace(ALLMENDE + "research", ALLMENDE + "commercial"))
    assert changed != offer
    negotiation = await bridge.negotiate(RESTRICTED, changed)
    assert negotiation["state"] == "TERMINATED", negotiation
    assert "does not permit" in negotiation.get("errorDetail", ""), negotiation
    assert "purpose" in negotiation["errorDetail"]
    assert agreements(bridge.node) == []


async def test_edc_accepts_the_nodes_did_as_participant_id_and_assigner(
    did_bridge: Partner,
) -> None:
    """A partner known by a DID (as under DCP) reads the node's DID as the catalog's
    participantId and the offers' assigner; EDC negotiates with the node under it, checks
    the agreement (assigner: the DID) against its offer and pulls."""
    node, did = did_bridge.node, own_did(did_bridge.node)
    offer = await did_bridge.offer(OPEN)
    assert offer["assigner"] == did
    negotiation = await did_bridge.negotiate(OPEN, offer)
    assert negotiation["state"] == "FINALIZED", negotiation
    assert negotiation["counterPartyId"] == did
    [agreement] = agreements(node)
    assert agreement.assignee == PARTNER_DID
    assert json.loads(agreement.document)["policy"]["assigner"] == did
    endpoint, authorization = await did_bridge.pull(negotiation["contractAgreementId"])
    async with did_bridge.http.get(endpoint, headers={"Authorization": authorization}) as data:
        assert data.status == 200, await data.text()
