"""Contract negotiation, provider side: a partner asks for a dataset's offer and gets a
signed agreement when the dataset's policy permits (DSP 2025-1 §contract negotiation).

The agreement is made by `node.usage.agreements.grant`, so it is the same signed
agreement the operator could have granted by hand, and it is enforced the same way: with
the purpose and place the consumer's request declared and what it proved about itself
(its credentials' claims, e.g. an Amt membership, `node.dsp.requested`). The recipient is
never taken from the request: it is the verified participant, the agreement's assignee,
else repeating an offer "for recipient X" would make anyone X. A request the offer
does not permit ends TERMINATED with the reason. A negotiation that is terminated after it
agreed revokes its agreement at once.

The ODRL Agreement in the message is exactly the offer's policy plus what DSP adds
(assigner, assignee, timestamp, target), as EDC connectors require. The node's signature
stays outside it: the message links (`allmende:signedAgreement`) to
`/dsp/agreements/{id}`, the agreement with the provider's detached JWS, verifiable by
anyone holding the node's JWKS.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlmodel import Session, select

from allmende.node.catalog.models import PUBLISHED, CatalogDataset
from allmende.node.dsp.callbacks import REPLY_NOT_YET, check_callback
from allmende.node.dsp.messages import PATH, DspError
from allmende.node.dsp.models import Negotiation
from allmende.node.dsp.processes import NegotiationProcesses, new_pid
from allmende.node.dsp.requested import (
    PolicyError,
    Requested,
    differences,
    load,
    read_request,
    stored,
)
from allmende.node.identity.did import own_did
from allmende.node.usage.agreements import AgreementError, dataset_offer, grant, revoke
from allmende.policies import terms
from allmende.policies.evaluator import Request, evaluate
from allmende.policies.jsonld import from_jsonld, to_jsonld
from allmende.policies.model import PolicyType
from allmende.policies.terms import ALLMENDE

SIGNED_AGREEMENT = ALLMENDE + "signedAgreement"
"""The member of a ContractAgreementMessage that links to the signed agreement: outside
the ODRL Agreement, so a consumer comparing it with its offer finds nothing added."""
AGREEMENTS_PATH = PATH + "/agreements"


PROFILE_TERMS = frozenset(
    {"use", "eq", "gt", "gteq", "lt", "lteq", "neq", "isA", "hasPart", "isPartOf"}
    | {"isAllOf", "isAnyOf", "isNoneOf", "and", "or", "xone", "andSequence"}
)
"""The ODRL values the DSP 2025-1 context names (its odrl-profile.jsonld); it has no
@vocab, so any other bare action, left operand or operator would be a relative IRI to
EDC and every JSON-LD processor."""
_VOCAB_KEYS = ("action", "leftOperand", "operator")


def _profiled(value: Any) -> Any:
    """ODRL names outside the DSP profile written as `odrl:` compact IRIs."""
    if isinstance(value, list):
        return [_profiled(item) for item in value]
    if not isinstance(value, dict):
        return value
    body = {key: _profiled(item) for key, item in value.items()}
    for key in _VOCAB_KEYS:
        name = body.get(key)
        if isinstance(name, str) and ":" not in name and name not in PROFILE_TERMS:
            body[key] = "odrl:" + name
    return body


def embedded(document: dict[str, Any]) -> dict[str, Any]:
    """A policy as a DSP message embeds it: no @context (the message's DSP context applies),
    full IRIs beyond the DSP prefixes."""
    body: dict[str, Any] = _profiled(to_jsonld(from_jsonld(document), with_context=False))
    return body


def signed_agreement_url(base_url: str, agreement_id: str) -> str:
    """Where anyone reads the agreement with the provider's signature."""
    return f"{base_url}{AGREEMENTS_PATH}/{quote(agreement_id, safe='')}"


class Negotiations(NegotiationProcesses):
    def _dataset_of(self, offer: dict[str, Any]) -> str:
        """The published dataset whose offer this is, found by the offer's @id (or target)."""
        offer_id = str(offer["@id"])
        if offer.get("target"):
            candidates = [str(offer["target"]).removeprefix(self.node.base_url + "/datasets/")]
        else:
            with Session(self.node.engine) as session:
                query = select(CatalogDataset.id).where(CatalogDataset.status == PUBLISHED)
                candidates = list(session.exec(query).all())
        for dataset_id in candidates:
            with contextlib.suppress(AgreementError):
                if dataset_offer(self.node, dataset_id).get("@id") == offer_id:
                    return dataset_id
        raise DspError(400, f"{offer_id!r} is not the offer of a published dataset here")

    async def request(
        self,
        participant: str,
        body: dict[str, Any],
        attributes: Mapping[str, Any] | None = None,
    ) -> tuple[Negotiation, bool]:
        """The negotiation a ContractRequestMessage without providerPid begins, and whether
        it is new (`begin`); `attributes`: what the consumer proved about itself
        (node.identity)."""
        return await self.begin(
            participant,
            body["consumerPid"],
            lambda: self._requested(participant, body, attributes),
        )

    async def _requested(
        self, participant: str, body: dict[str, Any], attributes: Mapping[str, Any] | None
    ) -> Negotiation:
        pids = {"consumerPid": body["consumerPid"]}
        try:
            callback = check_callback(self.node, body["callbackAddress"])
            dataset_id = await asyncio.to_thread(self._dataset_of, body["offer"])
        except DspError as exc:
            exc.pids.update(pids)
            raise
        requested = _readable(body, pids, attributes)
        refusal = await asyncio.to_thread(self._refusal, dataset_id, participant, requested)
        if refusal is not None:
            # refused in the answer, not by a later termination: EDC keeps the answer's
            # reason as the negotiation's errorDetail, a termination's reason it drops
            raise DspError(400, refusal, code="Refused", pids=pids)
        now = datetime.now(UTC)
        return await self.insert(
            Negotiation(
                pid=new_pid(),
                consumer_pid=body["consumerPid"],
                participant=participant,
                callback=callback,
                dataset_id=dataset_id,
                offer_id=body["offer"]["@id"],
                state="REQUESTED",
                received=stored(body, attributes),
                created=now,
                updated=now,
            )
        )

    async def counter(
        self,
        participant: str,
        pid: str,
        body: dict[str, Any],
        attributes: Mapping[str, Any] | None = None,
    ) -> Negotiation:
        """A counter-offer: back to REQUESTED; the plan says what the provider does then."""
        pids = {"providerPid": pid, "consumerPid": body["consumerPid"]}
        _readable(body, pids, attributes)
        return await self.move(
            pid,
            "request",
            participant=participant,
            offer_id=body["offer"]["@id"],
            received=stored(body, attributes),
        )

    async def do(self, row: Negotiation, action: str) -> None:
        if action == "offer":
            await self._offer(row)
        elif action == "agree":
            await self._agree(row)
        elif action == "finalize":
            row = await self.move(row.pid, "finalize")
            await self._finalized(row)
        elif action == "terminate":
            await self.terminate(row, "terminated by the provider's plan")

    async def _finalized(self, row: Negotiation) -> None:
        # EDC answers 409 until it recorded its verification as sent: offered again then
        await self.send(
            row,
            "events",
            "ContractNegotiationEventMessage",
            eventType="FINALIZED",
            again=REPLY_NOT_YET,
            notify_failure=False,
        )

    async def again(self, row: Negotiation) -> None:
        """A verification of a finalized negotiation came again: the consumer verifies again
        because it missed our answer, and waits for the FINALIZED event, sent once more."""
        if row.state == "FINALIZED":
            await self._finalized(row)

    async def _offer(self, row: Negotiation) -> None:
        offer = await asyncio.to_thread(dataset_offer, self.node, row.dataset_id)
        row = await self.move(row.pid, "offer")
        body = embedded(offer)
        body["target"] = row.dataset_id
        await self.send(row, "offers", "ContractOfferMessage", offer=body)

    async def _agree(self, row: Negotiation) -> None:
        requested = load(row.received)
        try:
            refusal = await asyncio.to_thread(
                self._refusal, row.dataset_id, row.participant, requested
            )
            if refusal is not None:
                raise AgreementError(refusal)
            agreement = await asyncio.to_thread(
                functools.partial(
                    grant,
                    self.node,
                    row.dataset_id,
                    row.participant,
                    purpose=requested.purpose,
                    place=requested.place,
                    attributes=dict(requested.attributes),
                    assigner=own_did(self.node) if row.participant.startswith("did:") else None,
                )
            )
        except AgreementError as exc:
            await self.terminate(row, str(exc))
            return
        row = await self.move(row.pid, "agree", agreement_id=agreement.id)
        signed = json.loads(agreement.document)
        body = embedded(signed["policy"])
        link: dict[str, Any] = {
            SIGNED_AGREEMENT: {"@id": signed_agreement_url(self.node.base_url, agreement.id)}
        }
        await self.send(
            row,
            "agreement",
            "ContractAgreementMessage",
            agreement=body,
            callbackAddress=self._address(),
            again=REPLY_NOT_YET,
            **link,
        )

    def _refusal(self, dataset_id: str, participant: str, requested: Requested) -> str | None:
        """Why the requested policy cannot be agreed, if it is not the offer's: what the
        offer does not permit (e.g. another purpose), else what differs."""
        if requested.policy is None:
            return None
        try:
            offer = from_jsonld(dataset_offer(self.node, dataset_id))
        except AgreementError as exc:
            return str(exc)
        problem = differences(requested.policy, offer)
        if problem is None:
            return None
        now = datetime.now(UTC)
        bound = dataclasses.replace(offer, type=PolicyType.AGREEMENT, assignee=participant)
        decision = evaluate(
            bound,
            Request(
                action=terms.USE,
                assignee=participant,
                target=offer.target,
                attributes=requested.attributes,
                purpose=requested.purpose,
                place=requested.place,
                time=now,
                agreement_start=now,
            ),
        )
        if not decision.permitted:
            reasons = "; ".join(decision.reasons) or decision.outcome.value
            return f"the dataset's policy does not permit this use: {reasons}"
        return problem

    async def terminated(self, row: Negotiation) -> None:
        """A terminated negotiation's agreement is no agreement any more."""
        if row.agreement_id is not None:
            await asyncio.to_thread(revoke, self.node, row.agreement_id)

    def _address(self) -> str:
        return self.node.base_url + PATH


def _readable(
    body: dict[str, Any], pids: dict[str, str], attributes: Mapping[str, Any] | None = None
) -> Requested:
    """The request's terms; a policy the node cannot read is refused before anything is
    written."""
    try:
        return read_request(body["offer"], body.get("@context"), attributes)
    except PolicyError as exc:
        raise DspError(400, f"offer: {exc}", pids=pids) from exc
