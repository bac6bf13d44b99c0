"""What an EDC consumer needs from a negotiation with the node: the agreement is exactly the
offer it accepted plus what DSP adds, the node's signature sits outside it (a link to a
detached JWS anyone verifies with the JWKS alone), the purpose its request declares flows
into the agreement and its tokens, and a request the offer does not permit is terminated
with a reason."""

from __future__ import annotations

import copy
import json
from typing import Any

import jwt
import pytest
from sqlmodel import Session, select

from allmende.node.dsp.negotiations import PROFILE_TERMS, SIGNED_AGREEMENT
from allmende.node.usage.agreements import revoke
from allmende.node.usage.models import Agreement
from allmende.policies.jws import SignatureError, keys_from_jwks
from allmende.policies.signing import verify_document
from allmende.policies.terms import ALLMENDE, DSP_CONTEXT
from tests.dsp import test_protocol
from tests.dsp.test_protocol import RESTRICTED, Village, reply

village = test_protocol.village
"""The partner and the village of the protocol tests (a fixture)."""

DSP_ADDS = {"@id", "@type", "assigner", "assignee", "timestamp", "target"}
"""What an agreement may carry beyond its offer; EDC compares the rest with its offer."""


async def catalog_offer(village: Village, dataset_id: str) -> dict[str, Any]:
    async with village.http.get(f"{village.base}/dsp/catalog/datasets/{dataset_id}") as found:
        assert found.status == 200
        offer: dict[str, Any] = (await found.json())["hasPolicy"][0]
    return offer


async def request_offer(village: Village, offer: dict[str, Any], dataset_id: str) -> str:
    """Send the offer back as EDC does (the whole policy, with its target); the providerPid."""
    status, negotiation = await send_offer(village, offer, dataset_id)
    assert status == 201, negotiation
    return str(negotiation["providerPid"])


async def send_offer(
    village: Village, offer: dict[str, Any], dataset_id: str
) -> tuple[int, dict[str, Any]]:
    return await village.post(
        "/dsp/negotiations/request",
        {
            "@context": [DSP_CONTEXT],
            "@type": "ContractRequestMessage",
            "consumerPid": "urn:uuid:consumer-1",
            "offer": {**offer, "target": dataset_id},
            "callbackAddress": village.consumer.address,
        },
    )


def agreements(village: Village) -> list[Agreement]:
    with Session(village.node.engine) as session:
        return list(session.exec(select(Agreement)).all())


async def test_agreement_is_the_offer_and_its_signature_verifies_from_the_jwks(
    village: Village,
) -> None:
    offer = await catalog_offer(village, RESTRICTED)
    assert not any("signed" in key for key in offer), offer
    pid = await request_offer(village, offer, RESTRICTED)
    message = await village.consumer.next("/negotiations/urn:uuid:consumer-1/agreement")
    agreement = message["agreement"]

    assert "signedPolicy" not in json.dumps(agreement)
    assert set(agreement) - set(offer) <= DSP_ADDS
    assert {k: v for k, v in agreement.items() if k not in DSP_ADDS} == {
        k: v for k, v in offer.items() if k not in DSP_ADDS
    }
    assert agreement["assignee"] == "https://kreis-nf.example/"

    # the signature: linked from the message, checked with nothing but the JWKS
    link = message[SIGNED_AGREEMENT]["@id"]
    async with village.http.get(link) as found:
        assert found.status == 200
        signed = await found.json()
    async with village.http.get(f"{village.base}/.well-known/jwks.json") as found:
        keys = keys_from_jwks(await found.json())
    assert verify_document(signed, keys)
    assert signed["policy"]["@id"] == agreement["@id"]

    # the purpose the request declared is the agreement's, and its tokens'
    [row] = agreements(village)
    assert row.purpose == ALLMENDE + "research"
    status, _ = await village.post(
        f"/dsp/negotiations/{pid}/agreement/verification",
        reply("ContractAgreementVerificationMessage", pid),
    )
    assert status == 200
    await village.consumer.next("/events")
    status, _ = await village.post(
        "/dsp/transfers/request",
        {
            "@context": [DSP_CONTEXT],
            "@type": "TransferRequestMessage",
            "consumerPid": "urn:uuid:consumer-1",
            "agreementId": agreement["@id"],
            "format": "HttpData-PULL",
            "callbackAddress": village.consumer.address,
        },
    )
    assert status == 201
    start = await village.consumer.next("/start")
    properties = {p["name"]: p["value"] for p in start["dataAddress"]["endpointProperties"]}
    token = properties["authorization"].removeprefix("Bearer ")
    assert jwt.decode(token, options={"verify_signature": False})["purpose"] == row.purpose

    # one changed byte of the stored agreement and the signature no longer holds
    with Session(village.node.engine) as session:
        stored = session.get(Agreement, row.id)
        assert stored is not None
        stored.document = stored.document.replace("kreis-nf", "kreis-nF", 1)
        session.add(stored)
        session.commit()
    async with village.http.get(link) as found:
        tampered = await found.json()
    with pytest.raises(SignatureError):
        verify_document(tampered, keys)


async def test_wrong_purpose_is_refused_with_the_reason(village: Village) -> None:
    offer = copy.deepcopy(await catalog_offer(village, RESTRICTED))
    constraints = offer["permission"][0]["constraint"]
    [purpose] = [c for c in constraints if c["leftOperand"] == "odrl:purpose"]
    purpose.update(operator="eq", rightOperand={"@id": ALLMENDE + "commercial"})
    status, refusal = await send_offer(village, offer, RESTRICTED)
    # refused in the answer, which EDC shows its user (it drops a later termination's reason)
    assert status == 400 and refusal["@type"] == "ContractNegotiationError", refusal
    assert "does not permit" in refusal["reason"][0] and "purpose" in refusal["reason"][0]
    assert agreements(village) == []


async def test_edc_quoting_an_iri_operand_is_read_as_the_iri(village: Village) -> None:
    """EDC 0.15 sends `rightOperand: '{"@id":"..."}'` (a string) and drops descriptions."""
    offer = copy.deepcopy(await catalog_offer(village, RESTRICTED))
    for constraint in offer["permission"][0]["constraint"]:
        constraint["rightOperand"] = json.dumps(constraint["rightOperand"])
    del offer["permission"][0]["duty"][0]["dct:description"]
    await request_offer(village, offer, RESTRICTED)
    await village.consumer.next("/agreement")
    [row] = agreements(village)
    assert row.purpose == ALLMENDE + "research"


async def test_a_request_dropping_a_duty_is_refused(village: Village) -> None:
    offer = copy.deepcopy(await catalog_offer(village, RESTRICTED))
    del offer["permission"][0]["duty"]
    status, refusal = await send_offer(village, offer, RESTRICTED)
    assert status == 400 and "differs from the offer" in refusal["reason"][0], refusal
    assert agreements(village) == []


async def test_an_unreadable_requested_policy_is_refused(village: Village) -> None:
    offer = copy.deepcopy(await catalog_offer(village, RESTRICTED))
    del offer["permission"][0]["constraint"][0]["rightOperand"]
    status, body = await village.post(
        "/dsp/negotiations/request",
        {
            "@context": [DSP_CONTEXT],
            "@type": "ContractRequestMessage",
            "consumerPid": "urn:uuid:consumer-1",
            "offer": offer,
            "callbackAddress": village.consumer.address,
        },
    )
    assert status == 400 and body["reason"][0].startswith("offer:")
    assert agreements(village) == []


async def test_unknown_agreement_is_404(village: Village) -> None:
    async with village.http.get(f"{village.base}/dsp/agreements/urn:uuid:nope") as found:
        assert found.status == 404


async def test_offer_names_only_terms_the_dsp_context_defines(village: Village) -> None:
    """The DSP 2025-1 context has no @vocab: a bare `attribute` or `purpose` would be a
    relative IRI to EDC, so ODRL names outside its profile are written `odrl:...`."""
    offer = await catalog_offer(village, RESTRICTED)
    names: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key in ("action", "leftOperand", "operator") and isinstance(item, str):
                    names.append(item)
                collect(item)

    collect(offer)
    assert {"use", "isA", "odrl:purpose", "odrl:attribute"} <= set(names)
    assert all(name in PROFILE_TERMS or ":" in name for name in names), names


async def test_agreements_in_force_are_public_without_naming_the_partner(
    village: Village,
) -> None:
    """The usage page lists agreements in force (dataset, purpose, date) and names no one;
    the operator's console links each to its signed document."""
    await request_offer(village, await catalog_offer(village, RESTRICTED), RESTRICTED)
    message = await village.consumer.next("/agreement")
    async with village.http.get(f"{village.base}/usage?format=json") as found:
        [shown] = (await found.json())["agreements"]
    assert (shown["dataset"], shown["purpose"]) == (RESTRICTED, ALLMENDE + "research")
    async with village.http.get(f"{village.base}/usage", headers={"Accept": "text/html"}) as page:
        text = await page.text()
    assert "Geltende Vereinbarungen" in text and "kreis-nf" not in text
    revoke(village.node, message["agreement"]["@id"])
    async with village.http.get(f"{village.base}/usage?format=json") as found:
        assert (await found.json())["agreements"] == []
