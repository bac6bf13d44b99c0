"""A partner negotiates and transfers over DSP 2025-1 with a node on loopback, as a consumer
connector would: its callback endpoint is a real HTTP server the node posts to."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import Session

from allmende.node.auth import mint_token
from allmende.node.catalog import service
from allmende.node.dsp.models import Negotiation, recent
from allmende.node.http.app import create_app
from allmende.node.keys import generate_key
from allmende.node.runtime import Node
from allmende.node.usage.agreements import access_token, grant, revoke
from allmende.node.usage.enforcement import decide
from allmende.node.usage.models import Agreement
from allmende.policies.signing import verify_document
from allmende.policies.templates import template_document
from allmende.policies.terms import DSP_CONTEXT
from tests.ingest.conftest import dataset_body
from tests.services.ports import free_port
from tests.support import make_node

PARTNER = "https://kreis-nf.example/"
OPEN, RESTRICTED = "parken-dorfplatz", "raumklima-dgh"


@dataclass
class Consumer:
    """The partner's callback endpoint: every message the node sends ends up in `inbox`."""

    address: str
    inbox: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)

    async def next(self, suffix: str) -> dict[str, Any]:
        path, body = await asyncio.wait_for(self.inbox.get(), 10)
        assert path.endswith(suffix), (path, body)
        return body


@dataclass
class Village:
    node: Node
    base: str
    http: aiohttp.ClientSession
    consumer: Consumer
    headers: dict[str, str]

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.base + path, json=body, headers=self.headers) as r:
            return r.status, (await r.json() if r.content_length else {})


@pytest.fixture
async def village(tmp_path: Path) -> AsyncIterator[Village]:
    consumer_port, port = free_port(), free_port()
    consumer = Consumer(f"http://127.0.0.1:{consumer_port}/callback")

    async def receive(request: web.Request) -> web.Response:
        await consumer.inbox.put((request.path, await request.json()))
        return web.Response(status=200)

    consumer_app = web.Application()
    consumer_app.router.add_post("/callback/{tail:.*}", receive)
    consumer_runner = web.AppRunner(consumer_app)
    await consumer_runner.setup()
    await web.TCPSite(consumer_runner, "127.0.0.1", consumer_port).start()

    node = make_node(
        tmp_path / "node",
        port=port,
        environ={"ALLMENDE_DSP_CALLBACK_HOSTS": f"127.0.0.1:{consumer_port}"},
    )
    await service.create(node, dataset_body(OPEN))
    research = template_document("research-only", assigner=node.id)
    await service.create(
        node, {**dataset_body(RESTRICTED), "license": "other-closed", "policy": research}
    )
    runner = web.AppRunner(create_app(node))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    token = mint_token(node.key, node.id, role="participant", subject=PARTNER)
    async with aiohttp.ClientSession() as http:
        yield Village(node, node.base_url, http, consumer, {"Authorization": f"Bearer {token}"})
    await runner.cleanup()
    await consumer_runner.cleanup()


def contract_request(
    village: Village, dataset_id: str, callback: str | None = None
) -> dict[str, Any]:
    return {
        "@context": [DSP_CONTEXT],
        "@type": "ContractRequestMessage",
        "consumerPid": "urn:uuid:consumer-1",
        "offer": {"@id": f"{village.base}/datasets/{dataset_id}#offer", "@type": "Offer"},
        "callbackAddress": callback or village.consumer.address,
    }


def reply(type_: str, provider_pid: str, **fields: Any) -> dict[str, Any]:
    return {
        "@context": [DSP_CONTEXT],
        "@type": type_,
        "providerPid": provider_pid,
        "consumerPid": "urn:uuid:consumer-1",
        **fields,
    }


async def test_negotiate_then_pull_the_data(village: Village) -> None:
    status, negotiation = await village.post(
        "/dsp/negotiations/request", contract_request(village, OPEN)
    )
    assert status == 201, negotiation
    assert negotiation["state"] == "REQUESTED"
    pid = negotiation["providerPid"]
    agreement = (await village.consumer.next("/negotiations/urn:uuid:consumer-1/agreement"))[
        "agreement"
    ]
    assert agreement["assignee"] == PARTNER and agreement["@type"] == "Agreement"
    async with village.http.get(f"{village.base}/dsp/agreements/{agreement['@id']}") as found:
        signed = await found.json()
    assert verify_document(
        signed, {village.node.key.kid: village.node.key.public}
    )  # provable later
    status, _ = await village.post(
        f"/dsp/negotiations/{pid}/agreement/verification",
        reply("ContractAgreementVerificationMessage", pid),
    )
    assert status == 200
    finalized = await village.consumer.next("/events")
    assert finalized["eventType"] == "FINALIZED"
    # a consumer that missed our answer verifies again (EDC does, when busy): acknowledged,
    # and the FINALIZED event it waits for comes once more; the negotiation stays finalized
    status, body = await village.post(
        f"/dsp/negotiations/{pid}/agreement/verification",
        reply("ContractAgreementVerificationMessage", pid),
    )
    assert status == 200, body
    assert (await village.consumer.next("/events"))["eventType"] == "FINALIZED"
    [row] = recent(village.node.engine, Negotiation)
    assert row["state"] == "FINALIZED", row

    transfer_request = {
        "@context": [DSP_CONTEXT],
        "@type": "TransferRequestMessage",
        "consumerPid": "urn:uuid:consumer-1",
        "agreementId": agreement["@id"],
        "format": "HttpData-PULL",
        "callbackAddress": village.consumer.address,
    }
    status, transfer = await village.post("/dsp/transfers/request", transfer_request)
    assert status == 201, transfer
    start = await village.consumer.next("/transfers/urn:uuid:consumer-1/start")
    address = start["dataAddress"]
    properties = {p["name"]: p["value"] for p in address["endpointProperties"]}
    assert address["endpoint"] == f"{village.base}/datasets/{OPEN}/observations"
    token = properties["authorization"].removeprefix("Bearer ")
    assert decide(village.node, token, OPEN, "download").permitted
    tpid = transfer["providerPid"]
    status, _ = await village.post(
        f"/dsp/transfers/{tpid}/suspension", reply("TransferSuspensionMessage", tpid)
    )
    assert status == 200
    refused = decide(village.node, token, OPEN, "download")  # a suspended transfer's token
    assert not refused.permitted and refused.reason == "the transfer is suspended"


async def test_policy_that_does_not_permit_terminates(village: Village) -> None:
    """research-only: the partner's verified attributes say nothing of research -> no agreement."""
    async with village.http.get(f"{village.base}/dsp/catalog/datasets/{RESTRICTED}") as found:
        offer_id = (await found.json())["hasPolicy"][0]["@id"]
    request = contract_request(village, RESTRICTED)
    request["offer"]["@id"] = offer_id
    status, negotiation = await village.post("/dsp/negotiations/request", request)
    assert status == 201, negotiation
    termination = await village.consumer.next("/termination")
    assert termination["@type"] == "ContractNegotiationTerminationMessage"
    assert "does not permit" in termination["reason"][0]
    [row] = recent(village.node.engine, Negotiation)  # the operator sees the same reason
    assert row["state"] == "TERMINATED" and "does not permit" in row["reason"], row


async def test_the_consumers_reason_for_ending_is_kept(village: Village) -> None:
    status, negotiation = await village.post(
        "/dsp/negotiations/request", contract_request(village, OPEN)
    )
    assert status == 201, negotiation
    pid = negotiation["providerPid"]
    await village.consumer.next("/agreement")
    ended = reply(
        "ContractNegotiationTerminationMessage",
        pid,
        code="Budget",
        reason=["no longer needed", {"@value": "project ended"}],
    )
    status, _ = await village.post(f"/dsp/negotiations/{pid}/termination", ended)
    assert status == 200
    [row] = recent(village.node.engine, Negotiation)
    assert row["state"] == "TERMINATED", row
    assert row["reason"] == 'Budget; no longer needed; {"@value": "project ended"}', row


async def test_refusals(village: Village) -> None:
    anonymous = village.headers.pop("Authorization")
    status, body = await village.post("/dsp/negotiations/request", contract_request(village, OPEN))
    assert status == 401 and body["@type"] == "ContractNegotiationError"
    village.headers["Authorization"] = anonymous
    # a callback to anywhere else is refused before any connection is made
    status, body = await village.post(
        "/dsp/negotiations/request", contract_request(village, OPEN, "http://169.254.169.254/x")
    )
    assert status == 400 and "callbackAddress" in body["reason"][0]
    bad = contract_request(village, OPEN)
    del bad["consumerPid"]
    status, body = await village.post("/dsp/negotiations/request", bad)
    assert status == 400 and any("consumerPid" in r for r in body["reason"])
    status, body = await village.post(
        "/dsp/negotiations/request",
        {**contract_request(village, OPEN), "offer": {"@id": "urn:other"}},
    )
    assert status == 400
    status, body = await village.post(
        "/dsp/negotiations/urn:uuid:nope/termination",
        reply("ContractNegotiationTerminationMessage", "urn:uuid:nope"),
    )
    assert status == 404


async def test_revoked_agreement_stops_the_transfer(village: Village) -> None:
    status, negotiation = await village.post(
        "/dsp/negotiations/request", contract_request(village, OPEN)
    )
    pid = negotiation["providerPid"]
    agreement = (await village.consumer.next("/agreement"))["agreement"]
    await village.post(
        f"/dsp/negotiations/{pid}/agreement/verification",
        reply("ContractAgreementVerificationMessage", pid),
    )
    await village.consumer.next("/events")
    revoke(village.node, agreement["@id"])
    status, body = await village.post(
        "/dsp/transfers/request",
        {
            "@context": [DSP_CONTEXT],
            "@type": "TransferRequestMessage",
            "consumerPid": "urn:uuid:consumer-2",
            "agreementId": agreement["@id"],
            "format": "HttpData-PULL",
            "callbackAddress": village.consumer.address,
        },
    )
    assert status == 403 and body["@type"] == "TransferError"
    assert "revoked" in body["reason"][0]


async def test_transfer_is_granted_exactly_under_a_valid_agreement(
    village: Village, tmp_path: Path
) -> None:
    """The transfer column of the enforcement matrix: only the valid cell starts a transfer."""
    node = village.node
    valid = grant(node, OPEN, PARTNER)
    expired = grant(node, OPEN, PARTNER, expires=datetime.now(UTC) - timedelta(minutes=1))
    revoked = grant(node, OPEN, PARTNER)
    revoke(node, revoked.id)
    someone_elses = grant(node, OPEN, "https://someone-else.example/")
    forged = mint_token(
        generate_key(tmp_path / "forged.pem"), node.id, role="participant", subject=PARTNER
    )
    own = village.headers["Authorization"]
    cells = {
        "no token": (None, valid.id, 401),
        "forged signature": (f"Bearer {forged}", valid.id, 401),
        "another participant's agreement": (own, someone_elses.id, 400),
        "expired agreement": (own, expired.id, 403),
        "revoked agreement": (own, revoked.id, 403),
        "valid": (own, valid.id, 201),
    }
    for cell, (authorization, agreement_id, expected) in cells.items():
        village.headers.pop("Authorization", None)
        if authorization:
            village.headers["Authorization"] = authorization
        status, body = await village.post(
            "/dsp/transfers/request",
            {
                "@context": [DSP_CONTEXT],
                "@type": "TransferRequestMessage",
                "consumerPid": f"urn:uuid:{cell.replace(' ', '-')}",
                "agreementId": agreement_id,
                "format": "HttpData-PULL",
                "callbackAddress": village.consumer.address,
            },
        )
        assert status == expected, (cell, body)
    start = await village.consumer.next("/start")  # only the valid cell was started
    assert start["consumerPid"] == "urn:uuid:valid"
    assert village.consumer.inbox.empty()
    # the started transfer's token opens its own dataset and no other
    pulled = {p["name"]: p["value"] for p in start["dataAddress"]["endpointProperties"]}
    token = pulled["authorization"].removeprefix("Bearer ")
    assert decide(node, token, OPEN, "download").permitted
    assert not decide(node, token, RESTRICTED, "download").permitted


PLACE = "https://sws.geonames.org/2862080/"  # sample data: a place a dataset is bound to


async def test_declared_place_is_agreed_and_recorded_the_recipient_is_the_assignee(
    village: Village,
) -> None:
    """An offer bound to a place and to one recipient: the partner's request that repeats it
    is granted with the place it declares (recorded in the agreement) and with the partner
    as recipient; the recipient is never what a request declares (test_villages: another
    village repeating the same offer is turned down)."""
    bound = {
        "@context": [DSP_CONTEXT],
        "@id": "urn:uuid:7a1c0d52-3d0e-4a43-9c84-5b7b0c1f7e10",
        "@type": "Offer",
        "assigner": village.node.id,
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "odrl:spatial", "operator": "eq", "rightOperand": PLACE},
                    {"leftOperand": "odrl:recipient", "operator": "eq", "rightOperand": PARTNER},
                ],
            }
        ],
    }
    await service.create(
        village.node, {**dataset_body("pegel-ort"), "license": "other-closed", "policy": bound}
    )
    async with village.http.get(f"{village.base}/dsp/catalog/datasets/pegel-ort") as found:
        offer = (await found.json())["hasPolicy"][0]
    request = contract_request(village, "pegel-ort")
    request["offer"] = {**offer, "target": "pegel-ort"}
    status, negotiation = await village.post("/dsp/negotiations/request", request)
    assert status == 201, negotiation
    path, body = await asyncio.wait_for(village.consumer.inbox.get(), 10)
    assert path.endswith("/agreement"), body
    agreement = body["agreement"]
    assert agreement["assignee"] == PARTNER
    with Session(village.node.engine) as session:
        row = session.get(Agreement, agreement["@id"])
    assert row is not None and row.assignee == PARTNER
    assert json.loads(row.attributes) == {"place": PLACE}
    # and enforced as agreed: the token for it opens the data
    token = access_token(village.node, row)
    assert decide(village.node, token, "pegel-ort", "download").permitted


async def test_a_request_sent_again_is_the_same_negotiation(village: Village) -> None:
    """EDC, when busy, sends its ContractRequestMessage again before it has the answer: the
    negotiation it began answers again, and no second one runs its own plan beside it."""
    answers = await asyncio.gather(
        *(village.post("/dsp/negotiations/request", contract_request(village, OPEN)) for _ in "ab")
    )
    assert [status for status, _ in answers] == [201, 201], answers
    assert answers[0][1]["providerPid"] == answers[1][1]["providerPid"]
    await village.consumer.next("/negotiations/urn:uuid:consumer-1/agreement")
    status, again = await village.post("/dsp/negotiations/request", contract_request(village, OPEN))
    assert status == 201 and again["providerPid"] == answers[0][1]["providerPid"]
    assert len(recent(village.node.engine, Negotiation)) == 1
