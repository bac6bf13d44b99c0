"""Contract negotiation, provider side: a partner asks for a dataset's offer and gets a
signed agreement when the dataset's policy permits (DSP 2025-1 §contract negotiation).

The agreement is made by `node.usage.agreements.grant`, so it is the same signed
agreement the operator could have granted by hand, and it is enforced the same way.
A negotiation that is terminated after it agreed revokes its agreement at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from node.catalog.models import PUBLISHED, CatalogDataset
from node.dsp.callbacks import check_callback
from node.dsp.messages import PATH, DspError
from node.dsp.models import Negotiation
from node.dsp.processes import NegotiationProcesses, new_pid
from node.usage.agreements import AgreementError, dataset_offer, grant, revoke
from policies.jsonld import from_jsonld, to_jsonld
from policies.terms import ALLMENDE

SIGNED = ALLMENDE + "signedPolicy"
"""Where an offer or agreement carries the node's signed document (a JSON literal): DSP
itself signs nothing, ours can be verified by anyone with the node's JWKS."""


def embedded(document: dict[str, Any], *, signed: dict[str, Any] | None = None) -> dict[str, Any]:
    """A policy as a DSP message embeds it: no @context, full IRIs beyond the DSP prefixes."""
    body = to_jsonld(from_jsonld(document), with_context=False)
    if signed is not None:
        body[SIGNED] = {"@type": "@json", "@value": signed}
    return body


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

    async def request(self, participant: str, body: dict[str, Any]) -> Negotiation:
        """A new negotiation from a ContractRequestMessage without providerPid."""
        pids = {"consumerPid": body["consumerPid"]}
        try:
            callback = check_callback(self.node, body["callbackAddress"])
            dataset_id = await asyncio.to_thread(self._dataset_of, body["offer"])
        except DspError as exc:
            exc.pids.update(pids)
            raise
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
                created=now,
                updated=now,
            )
        )

    async def counter(self, participant: str, pid: str, body: dict[str, Any]) -> Negotiation:
        """A counter-offer: back to REQUESTED; the plan says what the provider does then."""
        return await self.move(
            pid, "request", participant=participant, offer_id=body["offer"]["@id"]
        )

    async def do(self, row: Negotiation, action: str) -> None:
        if action == "offer":
            await self._offer(row)
        elif action == "agree":
            await self._agree(row)
        elif action == "finalize":
            row = await self.move(row.pid, "finalize")
            await self.send(row, "events", "ContractNegotiationEventMessage", eventType="FINALIZED")
        elif action == "terminate":
            await self.terminate(row, "terminated by the provider's plan")

    async def _offer(self, row: Negotiation) -> None:
        offer = await asyncio.to_thread(dataset_offer, self.node, row.dataset_id)
        row = await self.move(row.pid, "offer")
        body = embedded(offer)
        body["target"] = row.dataset_id
        await self.send(row, "offers", "ContractOfferMessage", offer=body)

    async def _agree(self, row: Negotiation) -> None:
        try:
            agreement = await asyncio.to_thread(grant, self.node, row.dataset_id, row.participant)
        except AgreementError as exc:
            await self.terminate(row, str(exc))
            return
        row = await self.move(row.pid, "agree", agreement_id=agreement.id)
        signed = json.loads(agreement.document)
        body = embedded(signed["policy"], signed=signed)
        await self.send(
            row,
            "agreement",
            "ContractAgreementMessage",
            agreement=body,
            callbackAddress=self._address(),
        )

    async def terminated(self, row: Negotiation) -> None:
        """A terminated negotiation's agreement is no agreement any more."""
        if row.agreement_id is not None:
            await asyncio.to_thread(revoke, self.node, row.agreement_id)

    def _address(self) -> str:
        return self.node.base_url + PATH
