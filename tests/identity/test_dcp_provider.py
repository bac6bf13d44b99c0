"""A partner whose connector speaks DCP (as Eclipse EDC does) negotiates with the node and
fetches data: its self-issued ID token and its membership credential are verified over real
HTTPS on loopback, and every way they can be wrong is refused with the reason."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session, select

from allmende.node.catalog import service
from allmende.node.config import DcpSection
from allmende.node.http.app import create_app
from allmende.node.identity.did import own_did
from allmende.node.identity.fetch import Fetcher, FetchError
from allmende.node.runtime import Node
from allmende.node.usage.enforcement import decide
from allmende.node.usage.models import Agreement
from allmende.policies.templates import template_document
from allmende.policies.terms import ALLMENDE, DSP_CONTEXT
from tests.identity.parties import Dataspace, credential, credential_v2
from tests.ingest.conftest import dataset_body
from tests.services.ports import free_port
from tests.support import make_node

OPEN, RESTRICTED = "parken-dorfplatz", "raumklima-dgh"


@dataclass
class Provider:
    node: Node
    base: str
    http: aiohttp.ClientSession
    callback: str
    inbox: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)

    async def next(self, suffix: str) -> dict[str, Any]:
        path, body = await asyncio.wait_for(self.inbox.get(), 10)
        assert path.endswith(suffix), (path, body)
        return body

    async def post(self, path: str, body: dict[str, Any], token: str) -> tuple[int, Any]:
        # EDC sends the self-issued ID token as the whole Authorization header, no "Bearer"
        async with self.http.post(
            self.base + path, json=body, headers={"Authorization": token}
        ) as response:
            return response.status, (await response.json() if response.content_length else {})


@pytest.fixture
async def provider(tmp_path: Path, dataspace: Dataspace, ca_file: Path) -> AsyncIterator[Provider]:
    callback_port, port = free_port(), free_port()
    inbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await inbox.put((request.path, await request.json()))
        return web.Response(status=200)

    callback_app = web.Application()
    callback_app.router.add_post("/callback/{tail:.*}", receive)
    callback_runner = web.AppRunner(callback_app)
    await callback_runner.setup()
    await web.TCPSite(callback_runner, "127.0.0.1", callback_port).start()
    node = make_node(
        tmp_path / "node",
        port=port,
        environ={
            "ALLMENDE_DSP_CALLBACK_HOSTS": f"127.0.0.1:{callback_port}",
            "ALLMENDE_DCP_TRUSTED_ISSUERS": dataspace.issuer.did,
            "ALLMENDE_DCP_CA_FILE": str(ca_file),
            "ALLMENDE_DCP_CACHE_SECONDS": "0",  # a revocation shows at the next request
            "ALLMENDE_DCP_PRIVATE_ADDRESSES": "true",  # the partner is on loopback
        },
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
        yield Provider(
            node, node.base_url, http, f"http://127.0.0.1:{callback_port}/callback", inbox
        )
    await runner.cleanup()
    await callback_runner.cleanup()


def contract_request(
    provider: Provider, consumer_pid: str = "urn:uuid:consumer-1"
) -> dict[str, Any]:
    return {
        "@context": [DSP_CONTEXT],
        "@type": "ContractRequestMessage",
        "consumerPid": consumer_pid,
        "offer": {"@id": f"{provider.base}/datasets/{OPEN}#offer", "@type": "Offer"},
        "callbackAddress": provider.callback,
    }


async def test_partner_with_dcp_negotiates_and_fetches(
    provider: Provider, dataspace: Dataspace
) -> None:
    did = own_did(provider.node)
    status, negotiation = await provider.post(
        "/dsp/negotiations/request", contract_request(provider), dataspace.id_token(did)
    )
    assert status == 201, negotiation
    agreement = (await provider.next("/agreement"))["agreement"]
    assert agreement["assignee"] == dataspace.partner.did  # the DID is the participant id
    assert agreement["assigner"] == did  # and the node is known by its own DID
    # the node asked the partner's credential service for the membership credential, with
    # the access token the partner gave it, inside the node's own self-issued token
    asked = dataspace.queries[-1]
    assert asked["verifier"] == did and asked["access"]["sub"] == did
    assert asked["body"]["scope"] == ["org.eclipse.edc.vc.type:MembershipCredential:read"]
    pid = negotiation["providerPid"]
    status, _ = await provider.post(
        f"/dsp/negotiations/{pid}/agreement/verification",
        {
            "@context": [DSP_CONTEXT],
            "@type": "ContractAgreementVerificationMessage",
            "providerPid": pid,
            "consumerPid": "urn:uuid:consumer-1",
        },
        dataspace.id_token(did),  # a fresh token for every message, as EDC's STS makes
    )
    assert status == 200
    assert (await provider.next("/events"))["eventType"] == "FINALIZED"
    status, transfer = await provider.post(
        "/dsp/transfers/request",
        {
            "@context": [DSP_CONTEXT],
            "@type": "TransferRequestMessage",
            "consumerPid": "urn:uuid:consumer-1",
            "agreementId": agreement["@id"],
            "format": "HttpData-PULL",
            "callbackAddress": provider.callback,
        },
        dataspace.id_token(did),
    )
    assert status == 201, transfer
    address = (await provider.next("/start"))["dataAddress"]
    properties = {p["name"]: p["value"] for p in address["endpointProperties"]}
    token = properties["authorization"].removeprefix("Bearer ")
    assert decide(provider.node, token, OPEN, "download").permitted


async def refused(provider: Provider, token: str) -> tuple[int, str]:
    status, body = await provider.post(
        "/dsp/negotiations/request", contract_request(provider), token
    )
    assert body["@type"] == "ContractNegotiationError", body
    return status, " ".join(body.get("reason", []))


async def test_untrusted_issuer_is_refused(provider: Provider, dataspace: Dataspace) -> None:
    dataspace.credentials = [credential(dataspace.stranger, dataspace.partner.did)]
    status, reason = await refused(provider, dataspace.id_token(own_did(provider.node)))
    assert status == 403 and dataspace.stranger.did in reason and "does not trust" in reason


async def test_expired_credential_is_refused(provider: Provider, dataspace: Dataspace) -> None:
    dataspace.credentials = [credential(dataspace.issuer, dataspace.partner.did, expires_in=-60)]
    status, reason = await refused(provider, dataspace.id_token(own_did(provider.node)))
    assert status == 403 and "expired" in reason


async def test_revoked_credential_is_refused(provider: Provider, dataspace: Dataspace) -> None:
    dataspace.credentials = [
        credential(
            dataspace.issuer,
            dataspace.partner.did,
            status_index=42,
            status_url=dataspace.status_url,
        )
    ]
    did = own_did(provider.node)
    status, _ = await provider.post(
        "/dsp/negotiations/request", contract_request(provider), dataspace.id_token(did)
    )
    assert status == 201  # not revoked yet: the status list is read and says so
    dataspace.revoked.add(42)
    status, reason = await refused(provider, dataspace.id_token(did))
    assert status == 403 and "revoked" in reason


async def test_credential_of_someone_else_is_refused(
    provider: Provider, dataspace: Dataspace
) -> None:
    dataspace.credentials = [credential(dataspace.issuer, "did:web:other.example")]
    status, reason = await refused(provider, dataspace.id_token(own_did(provider.node)))
    assert status == 403 and "did:web:other.example" in reason


async def test_missing_membership_is_refused(provider: Provider, dataspace: Dataspace) -> None:
    dataspace.credentials = [
        credential(dataspace.issuer, dataspace.partner.did, types=("DemoCredential",))
    ]
    status, reason = await refused(provider, dataspace.id_token(own_did(provider.node)))
    assert status == 403 and "MembershipCredential" in reason


async def test_replayed_token_is_refused(provider: Provider, dataspace: Dataspace) -> None:
    token = dataspace.id_token(own_did(provider.node))
    status, _ = await provider.post("/dsp/negotiations/request", contract_request(provider), token)
    assert status == 201
    status, reason = await refused(provider, token)
    assert status == 401 and "used before" in reason


async def test_wrong_audience_is_refused(provider: Provider, dataspace: Dataspace) -> None:
    status, reason = await refused(provider, dataspace.id_token("did:web:another-node.example"))
    assert status == 401 and "another audience" in reason
    assert dataspace.queries == []  # refused before anyone's credential service was asked


async def test_token_problems_are_refused(provider: Provider, dataspace: Dataspace) -> None:
    did = own_did(provider.node)
    cases = {
        "expired": (dataspace.id_token(did, exp=1_000_000), "expired"),
        "valid for a day": (
            dataspace.id_token(did, exp=int(time.time()) + 86400),
            "valid for more than 3600 s",
        ),
        "iss differs from sub": (dataspace.id_token(did, sub="did:web:x.example"), "iss = sub"),
        "no token claim": (dataspace.id_token(did, token=None), "`token` claim"),
        "signed by another key": (
            jwt.encode(
                {"iss": dataspace.partner.did, "sub": dataspace.partner.did, "aud": did},
                ec.generate_private_key(ec.SECP256R1()),
                algorithm="ES256",
                headers={"kid": dataspace.partner.kid},
            ),
            "signature",
        ),
    }
    for case, (token, expected) in cases.items():
        status, reason = await refused(provider, token)
        assert status == 401 and expected in reason, (case, reason)


async def test_nothing_but_https_is_fetched(provider: Provider, dataspace: Dataspace) -> None:
    """A credential service at a plain http address (here: the node itself) is not asked."""
    dataspace.partner.services[0]["serviceEndpoint"] = provider.base + "/dcp"
    status, reason = await refused(provider, dataspace.id_token(own_did(provider.node)))
    assert status == 401 and "only https" in reason, reason


async def test_oversized_document_is_not_read(provider: Provider, dataspace: Dataspace) -> None:
    padding = {"id": "#pad", "type": "Padding", "serviceEndpoint": "https://x.example/" + "p" * 900}
    dataspace.partner.services += [padding] * 300  # about 300 KB, past the 256 KiB limit
    status, reason = await refused(provider, dataspace.id_token(own_did(provider.node)))
    assert status == 401 and "larger than" in reason, reason


async def test_slow_address_is_given_up(dataspace: Dataspace, ca_file: Path) -> None:
    settings = DcpSection(fetch_timeout=0.5, ca_file=str(ca_file), private_addresses=True)
    fetcher = Fetcher(settings, ca_file.parent)
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match=r"did not arrive within 0\.5 s"):
            await fetcher.get(dataspace.base + "/slow/did.json", "a slow DID document")
    finally:
        await fetcher.close()
    assert time.monotonic() - started < 2.5  # the server would take 3 s


async def test_untrusted_certificate_is_refused(tmp_path: Path, dataspace: Dataspace) -> None:
    """Without the test CA in dcp.ca_file, the partner's DID cannot be resolved."""
    node = make_node(
        tmp_path / "plain",
        environ={
            "ALLMENDE_DCP_TRUSTED_ISSUERS": dataspace.issuer.did,
            "ALLMENDE_DCP_PRIVATE_ADDRESSES": "true",
        },
    )
    from allmende.node.identity.verifier import Identity

    identity = Identity(node)
    try:
        with pytest.raises(Exception, match="not trusted") as caught:
            await identity.partner(dataspace.id_token(own_did(node)))
        assert getattr(caught.value, "status", None) == 401
    finally:
        await identity.fetcher.close()
        node.close()


async def test_bearer_tokens_of_the_node_still_work(provider: Provider) -> None:
    from allmende.node.auth import mint_token

    token = mint_token(
        provider.node.key, provider.node.id, role="participant", subject="https://kreis.example/"
    )
    status, negotiation = await provider.post(
        "/dsp/negotiations/request", contract_request(provider), f"Bearer {token}"
    )
    assert status == 201, negotiation
    agreement = (await provider.next("/agreement"))["agreement"]
    assert agreement["assignee"] == "https://kreis.example/"


async def test_no_token_in_the_log(
    provider: Provider, dataspace: Dataspace, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused or accepted, the log names the reason and the DID, never a token."""
    caplog.set_level(logging.DEBUG)
    did = own_did(provider.node)
    accepted = dataspace.id_token(did)
    await provider.post("/dsp/negotiations/request", contract_request(provider), accepted)
    refused_token = dataspace.id_token(did, exp=1_000_000)
    await provider.post("/dsp/negotiations/request", contract_request(provider), refused_token)
    assert "has expired" in caplog.text and dataspace.partner.did in caplog.text
    for token in (accepted, refused_token):
        for part in token.split("."):
            assert part not in caplog.text


async def agreements(provider: Provider, at_least: int) -> list[Agreement]:
    """The stored agreements, once there are `at_least` (the message may come first)."""
    deadline = time.monotonic() + 10
    while True:
        with Session(provider.node.engine) as session:
            found = list(session.exec(select(Agreement)).all())
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_purpose_bound_data_keeps_its_policy_for_a_dcp_partner(
    provider: Provider, dataspace: Dataspace
) -> None:
    """The DID is an assignee like any other: the research-only offer with its purpose is
    agreed, the same offer for another purpose is refused with the reason."""
    async with provider.http.get(f"{provider.base}/dsp/catalog/datasets/{RESTRICTED}") as found:
        offer = (await found.json())["hasPolicy"][0]
    did = own_did(provider.node)

    def request(consumer_pid: str, policy: dict[str, Any]) -> dict[str, Any]:
        return {
            **contract_request(provider, consumer_pid),
            "offer": {**policy, "target": RESTRICTED},
        }

    status, _ = await provider.post(
        "/dsp/negotiations/request", request("urn:uuid:research", offer), dataspace.id_token(did)
    )
    assert status == 201
    agreement = (await provider.next("/negotiations/urn:uuid:research/agreement"))["agreement"]
    assert agreement["assignee"] == dataspace.partner.did
    [row] = await agreements(provider, 1)
    assert row.assignee == dataspace.partner.did and row.purpose == ALLMENDE + "research"

    other = json.loads(json.dumps(offer))
    constraints = other["permission"][0]["constraint"]
    [purpose] = [c for c in constraints if str(c["leftOperand"]).endswith("purpose")]
    purpose.update(operator="eq", rightOperand={"@id": ALLMENDE + "commercial"})
    status, body = await provider.post(
        "/dsp/negotiations/request", request("urn:uuid:commercial", other), dataspace.id_token(did)
    )
    if status == 201:  # refused later, by a termination
        reason = (await provider.next("/negotiations/urn:uuid:commercial/termination"))["reason"]
    else:  # or at once, in the answer
        assert status == 400 and body["@type"] == "ContractNegotiationError", body
        reason = body["reason"]
    assert "purpose" in reason[0]
    assert len(await agreements(provider, 1)) == 1  # still only the research one


async def test_data_model_2_credentials_are_read(provider: Provider, dataspace: Dataspace) -> None:
    """VC data model 2.0 as EDC 0.15 can hold it: the presentation and credential are the JWT
    payloads, the credential enveloped; validUntil in the past is refused all the same."""
    dataspace.data_model = 2
    dataspace.credentials = [credential_v2(dataspace.issuer, dataspace.partner.did)]
    did = own_did(provider.node)
    status, body = await provider.post(
        "/dsp/negotiations/request", contract_request(provider), dataspace.id_token(did)
    )
    assert status == 201, body
    dataspace.credentials = [credential_v2(dataspace.issuer, dataspace.partner.did, valid_for=-60)]
    status, reason = await refused(provider, dataspace.id_token(did))
    assert status == 403 and "expired" in reason


async def test_private_addresses_are_not_fetched_by_default(
    dataspace: Dataspace, ca_file: Path
) -> None:
    """A token names the address the node fetches; by default only public ones are, so a
    stranger cannot make the node call into its own network, neither by address nor by a
    name that resolves to one."""
    fetcher = Fetcher(DcpSection(ca_file=str(ca_file)), ca_file.parent)
    try:
        with pytest.raises(FetchError, match=r"127\.0\.0\.1 is not a public address"):
            await fetcher.get(dataspace.base + "/partner/did.json", "a DID document")
        with pytest.raises(FetchError, match="localhost is not a public address"):
            await fetcher.get(
                f"https://localhost:{dataspace.port}/partner/did.json", "a DID document"
            )
        with pytest.raises(FetchError, match="not a public address"):
            await fetcher.get("https://[::ffff:10.0.0.1]/did.json", "a DID document")
    finally:
        await fetcher.close()
    assert dataspace.queries == []


AMT = "Amt Beispielland (sample data)"


async def test_membership_from_a_credential_reaches_the_grant_and_enforcement(
    provider: Provider, dataspace: Dataspace
) -> None:
    """An offer for members of one Amt only: the Amt membership the partner's trusted
    credential states is passed to the grant and kept in the agreement, so the request is
    agreed and the access token works; without the credential claim it is refused."""
    members = template_document("amt-members-only", assigner=provider.node.id, amt=AMT)
    await service.create(
        provider.node,
        {**dataset_body("pegel-amt"), "license": "other-closed", "policy": members},
    )
    async with provider.http.get(f"{provider.base}/dsp/catalog/datasets/pegel-amt") as found:
        offer = (await found.json())["hasPolicy"][0]
    did = own_did(provider.node)

    def request(consumer_pid: str) -> dict[str, Any]:
        return {
            **contract_request(provider, consumer_pid),
            "offer": {**offer, "target": "pegel-amt"},
        }

    # the standard membership credential names no Amt: refused with the reason
    status, body = await provider.post(
        "/dsp/negotiations/request", request("urn:uuid:no-amt"), dataspace.id_token(did)
    )
    if status == 201:  # refused by a termination when the grant checks it
        reason = (await provider.next("/negotiations/urn:uuid:no-amt/termination"))["reason"]
    else:
        assert status == 400, body
        reason = body["reason"]
    assert "Amt" in reason[0], reason
    dataspace.credentials = [
        credential(dataspace.issuer, dataspace.partner.did, subject={"amtMembership": AMT})
    ]
    status, body = await provider.post(
        "/dsp/negotiations/request", request("urn:uuid:amt"), dataspace.id_token(did)
    )
    assert status == 201, body
    agreement = (await provider.next("/negotiations/urn:uuid:amt/agreement"))["agreement"]
    assert agreement["assignee"] == dataspace.partner.did
    [row] = await agreements(provider, 1)
    assert json.loads(row.attributes)["amtMembership"] == [AMT]
    pid = body["providerPid"]
    status, _ = await provider.post(
        f"/dsp/negotiations/{pid}/agreement/verification",
        {
            "@context": [DSP_CONTEXT],
            "@type": "ContractAgreementVerificationMessage",
            "providerPid": pid,
            "consumerPid": "urn:uuid:amt",
        },
        dataspace.id_token(did),
    )
    assert status == 200
    assert (await provider.next("/events"))["eventType"] == "FINALIZED"
    status, transfer = await provider.post(
        "/dsp/transfers/request",
        {
            "@context": [DSP_CONTEXT],
            "@type": "TransferRequestMessage",
            "consumerPid": "urn:uuid:amt-transfer",
            "agreementId": agreement["@id"],
            "format": "HttpData-PULL",
            "callbackAddress": provider.callback,
        },
        dataspace.id_token(did),
    )
    assert status == 201, transfer
    address = (await provider.next("/start"))["dataAddress"]
    properties = {p["name"]: p["value"] for p in address["endpointProperties"]}
    token = properties["authorization"].removeprefix("Bearer ")
    assert decide(provider.node, token, "pegel-amt", "download").permitted


async def test_a_dcp_caller_reads_the_nodes_did_in_the_catalog(
    provider: Provider, dataspace: Dataspace
) -> None:
    """To a DCP caller the catalog's participantId and the offers' assigner are the node's
    DID; to anyone else (no token, the node's bearer token) the node id."""
    did = own_did(provider.node)
    request = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage"}
    status, catalog = await provider.post("/dsp/catalog/request", request, dataspace.id_token(did))
    assert status == 200, catalog
    assert catalog["participantId"] == did
    assert {d["hasPolicy"][0]["assigner"] for d in catalog["dataset"]} == {did}
    async with provider.http.get(
        f"{provider.base}/dsp/catalog/datasets/{RESTRICTED}",
        headers={"Authorization": dataspace.id_token(did)},
    ) as found:
        assert (await found.json())["hasPolicy"][0]["assigner"] == did
    async with provider.http.post(f"{provider.base}/dsp/catalog/request", json=request) as r:
        anonymous = await r.json()
    assert anonymous["participantId"] == provider.node.id
    assert {d["hasPolicy"][0]["assigner"] for d in anonymous["dataset"]} == {provider.node.id}
