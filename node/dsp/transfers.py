"""Transfer process, provider side, HTTP pull: the consumer names an agreement, the node
starts the transfer with an endpoint and a short-lived token bound to agreement and
transfer (DSP 2025-1 §transfer process).

The token works only while the transfer is STARTED and its agreement holds: suspending,
completing or terminating the transfer, or revoking the agreement, stops it at once,
because enforcement (`node.usage.enforcement`) asks this room on every use.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from allmende.node.catalog.models import load_distributions
from allmende.node.dsp.callbacks import check_callback
from allmende.node.dsp.messages import DspError
from allmende.node.dsp.models import Negotiation, Transfer
from allmende.node.dsp.processes import TransferProcesses, new_pid
from allmende.node.runtime import Node
from allmende.node.usage.agreements import access_token
from allmende.node.usage.enforcement import decide_agreement
from allmende.node.usage.models import Agreement

FORMATS = {"HttpData-PULL", "HTTP-PULL"}
"""HTTP pull: the consumer fetches from an endpoint the provider names. (Push is not offered.)"""
PULL_FORMAT = "HttpData-PULL"
TOKEN_TTL = 3600
HTTP_ENDPOINT = "https://w3id.org/idsa/v4.1/HTTP"


def transfer_check(node: Node, pid: Any, dataset_id: str = "") -> str | None:
    """For enforcement: a token of a transfer works only while that transfer is STARTED
    (whichever dataset it is used for: the agreement's is checked after this)."""
    with Session(node.engine) as session:
        row = session.get(Transfer, str(pid))
    if row is None:
        return "unknown transfer"
    return None if row.state == "STARTED" else f"the transfer is {row.state.lower()}"


def _unfinished_negotiation(node: Node, agreement_id: str) -> bool:
    with Session(node.engine) as session:
        query = select(Negotiation).where(Negotiation.agreement_id == agreement_id)
        row = session.exec(query).first()
    return row is not None and row.state != "FINALIZED"


class Transfers(TransferProcesses):
    async def request(self, participant: str, body: dict[str, Any]) -> tuple[Transfer, bool]:
        """The transfer a TransferRequestMessage begins, and whether it is new (`begin`)."""
        return await self.begin(
            participant, body["consumerPid"], lambda: self._requested(participant, body)
        )

    async def _requested(self, participant: str, body: dict[str, Any]) -> Transfer:
        pids = {"consumerPid": body["consumerPid"]}
        try:
            callback = check_callback(self.node, body["callbackAddress"])
            if body["format"] not in FORMATS:
                raise DspError(400, f"format {body['format']!r} is not offered; use {PULL_FORMAT}")
            agreement = await asyncio.to_thread(self._agreement, body["agreementId"], participant)
        except DspError as exc:
            exc.pids.update(pids)
            raise
        now = datetime.now(UTC)
        return await self.insert(
            Transfer(
                pid=new_pid(),
                consumer_pid=body["consumerPid"],
                participant=participant,
                callback=callback,
                agreement_id=agreement.id,
                dataset_id=agreement.dataset_id,
                format=body["format"],
                state="REQUESTED",
                created=now,
                updated=now,
            )
        )

    def _agreement(self, agreement_id: str, participant: str) -> Agreement:
        """The agreement, if it permits this participant's use now (the decision is audited)."""
        with Session(self.node.engine) as session:
            agreement = session.get(Agreement, agreement_id)
        if agreement is None or agreement.assignee != participant:
            raise DspError(400, f"no agreement {agreement_id!r} with you here")
        if _unfinished_negotiation(self.node, agreement_id):
            raise DspError(400, "the agreement's negotiation is not finalized")
        verdict = decide_agreement(
            self.node, agreement_id, participant, agreement.dataset_id, "transfer"
        )
        if not verdict.permitted:
            raise DspError(403, verdict.reason, code="Forbidden")
        return agreement

    async def do(self, row: Transfer, action: str) -> None:
        if action == "start":
            await self.start(row)
        elif action == "suspend":
            row = await self.move(row.pid, "suspend")
            await self.send(row, "suspension", "TransferSuspensionMessage", code="Suspended")
        elif action == "complete":
            row = await self.move(row.pid, "complete")
            await self.send(row, "completion", "TransferCompletionMessage")
        elif action == "terminate":
            await self.terminate(row, "terminated by the provider's plan")

    async def start(self, row: Transfer) -> None:
        agreement = await asyncio.to_thread(self._agreement, row.agreement_id, row.participant)
        row = await self.move(row.pid, "start")
        token = access_token(self.node, agreement, ttl=TOKEN_TTL, transfer=row.pid)
        endpoint = await asyncio.to_thread(self._endpoint, row.dataset_id)
        address = {
            "@type": "DataAddress",
            "endpointType": HTTP_ENDPOINT,
            "endpoint": endpoint,
            "endpointProperties": [
                # EDC reads the endpoint only from here (its EDR's `endpoint`)
                {"@type": "EndpointProperty", "name": "endpoint", "value": endpoint},
                {"@type": "EndpointProperty", "name": "authorization", "value": f"Bearer {token}"},
                {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
            ],
        }
        await self.send(row, "start", "TransferStartMessage", dataAddress=address)

    def _endpoint(self, dataset_id: str) -> str:
        """The dataset's first file for download, else its observations."""
        base = f"{self.node.base_url}/datasets/{dataset_id}"
        with Session(self.node.engine) as session:
            for distribution in load_distributions(session, dataset_id):
                if distribution.kind == "file":
                    return f"{base}/distributions/{distribution.id}/download"
        return f"{base}/observations"
