"""The node as consumer: it negotiates for another participant's dataset and transfers
under the agreement it got, e.g. a village asking a neighbour for restricted data.

The operator starts either with the admin API; the provider then answers at
`/dsp/consumer/...`, a path of this node's own, so the two roles never share a route.
Those answers are taken only for a process this node started (its unguessable pid in the
path) and only from that process's provider (its providerPid in the body).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from allmende.node.auth import mint_token
from allmende.node.dsp.callbacks import REPLY_NOT_YET, CallbackFailed, check_callback
from allmende.node.dsp.messages import PATH, DspError, message
from allmende.node.dsp.models import CONSUMER, Negotiation, Transfer
from allmende.node.dsp.processes import (
    NegotiationProcesses,
    Processes,
    Row,
    TransferProcesses,
    new_pid,
)
from allmende.node.dsp.requested import RULE_KEYS, PolicyError, differences, read_request
from allmende.node.http.upstream import withhold_addresses

CALLBACK_PATH = PATH + "/consumer"


class ConsumerSide(Processes[Row]):
    terminate_step = "consumer-terminate"
    role = CONSUMER

    def callback_address(self) -> str:
        return self.node.base_url + CALLBACK_PATH

    async def from_provider(self, pid: str, body: dict[str, Any]) -> Row:
        """The process a provider's message is for, if it is that provider's.

        A provider may send its first message before the node has read its answer to the
        request (EDC does, when busy): that message names the provider's pid, which is
        recorded then, so the node's reply goes to the provider's process and not to an
        empty path (seen in CI: a verification sent to `/negotiations//...` until it gave up)."""
        row = await self.get_own(pid)
        named = body.get("providerPid")
        if row.provider_pid is None and isinstance(named, str) and named:
            return await self.record(pid, provider_pid=named)
        if row.provider_pid is not None and named != row.provider_pid:
            raise DspError(400, "providerPid is not this process's provider", pids=row.pids)
        return row

    async def get_own(self, pid: str) -> Row:
        row = await asyncio.to_thread(self._load, pid)
        if row is None or row.role != self.role:
            raise DspError(404, f"no process {pid!r} here", code="NotFound")
        return row

    async def start(self, row: Row, path: str, body: dict[str, Any]) -> Row:
        """Insert the process and send its first message; the provider's answer names its pid."""
        row = await self.insert(row)
        try:
            answer = await self.sender.post(
                f"{row.callback}/{self.area}/{path}", body, token=self.token(row)
            )
        except (TimeoutError, CallbackFailed, OSError) as exc:
            reason = withhold_addresses(str(exc), peers={row.callback: row.participant})
            reason = f"the provider did not take the request: {reason}"
            await self.move(row.pid, self.terminate_step, reason=reason)
            raise DspError(502, reason) from exc
        provider_pid = (answer or {}).get("providerPid")
        if not isinstance(provider_pid, str) or not provider_pid:
            reason = "the provider's answer names no providerPid"
            await self.move(row.pid, self.terminate_step, reason=reason)
            raise DspError(502, reason)
        return await self.record(row.pid, provider_pid=provider_pid)


def agreement_problem(asked: str | None, agreement: dict[str, Any]) -> str | None:
    """Why the provider's agreement is not what the node asked for (the offer it requested,
    or the provider's offer it accepted), if it is not: its rules must be the same, as
    every consumer checks (EDC does), else the node would use the data under terms it
    never accepted."""
    offer = json.loads(asked) if asked else None
    if not isinstance(offer, dict) or not any(key in offer for key in RULE_KEYS):
        return None  # asked by offer id only: the provider's offer as it stands
    try:
        wanted = read_request(offer).policy
        agreed = read_request(agreement).policy
    except PolicyError as exc:
        return f"the provider's agreement cannot be read: {exc}"
    if wanted is None or agreed is None or differences(agreed, wanted) is None:
        return None
    changed = differences(agreed, wanted) or ""
    where = changed.removeprefix("the requested policy differs from the offer in ").split(";")[0]
    return f"the provider's agreement is not the offer this node asked for (it differs in {where})"


class ConsumerNegotiations(ConsumerSide[Negotiation], NegotiationProcesses):
    async def initiate(
        self, provider: str, address: str, dataset_id: str, offer: dict[str, Any]
    ) -> Negotiation:
        now = datetime.now(UTC)
        pid = new_pid()
        row = Negotiation(
            pid=pid,
            role=CONSUMER,
            consumer_pid=pid,
            participant=provider,
            callback=check_callback(self.node, address, "connectorAddress"),
            dataset_id=dataset_id,
            offer_id=offer["@id"],
            state="REQUESTED",
            received=json.dumps(offer),
            created=now,
            updated=now,
        )
        request = message(
            "ContractRequestMessage",
            consumerPid=pid,
            offer=offer,
            callbackAddress=self.callback_address(),
        )
        return await self.start(row, "request", request)

    async def _verification(self, row: Negotiation) -> None:
        await self.send(
            row,
            "agreement/verification",
            "ContractAgreementVerificationMessage",
            again=REPLY_NOT_YET,
        )

    async def again(self, row: Negotiation) -> None:
        """The provider's agreement came again after the node verified it: the provider
        missed the verification, which is sent once more."""
        if row.state == "VERIFIED":
            await self._verification(row)

    def refuse(self, pid: str, reason: str) -> None:
        """End the negotiation with `reason`, in the background (after the answer)."""

        async def end() -> None:
            row = await self.get_own(pid)
            if row.state not in self.final:
                await self.terminate(row, reason)

        self._spawn(end())

    async def do(self, row: Negotiation, action: str) -> None:
        if action == "accept":
            row = await self.move(row.pid, "accept")
            await self.send(
                row,
                "events",
                "ContractNegotiationEventMessage",
                eventType="ACCEPTED",
                again=REPLY_NOT_YET,
            )
        elif action == "verify":
            row = await self.move(row.pid, "verify")
            await self._verification(row)
        elif action == "counter":
            row = await self.move(row.pid, "request")
            offer = json.loads(row.received or "{}") or {"@id": row.offer_id, "@type": "Offer"}
            offer.setdefault("target", row.dataset_id)
            await self.send(row, "request", "ContractRequestMessage", offer=offer)
        elif action == "terminate":
            await self.terminate(row, "terminated by the consumer's plan")


PUSH_SUFFIX = "-PUSH"
PUSH_TTL = 24 * 3600
"""How long a provider's data plane may push a transfer's data to the node."""
EDC = "https://w3id.org/edc/v0.0.1/ns/"


def push_path(pid: str) -> str:
    return f"{CALLBACK_PATH}/transfers/{quote(pid, safe='')}/data"


class ConsumerTransfers(ConsumerSide[Transfer], TransferProcesses):
    def push_address(self, pid: str, format_: str) -> dict[str, Any]:
        """Where a push transfer's data goes: the node's own endpoint for this process, with
        a token only that endpoint takes. The properties are DSP's (`authorization`) and
        the names Eclipse EDC's HTTP sink reads (baseUrl, authKey, authCode), so a stock
        EDC data plane pushes here without configuration."""
        url = self.node.base_url + push_path(pid)
        token = mint_token(
            self.node.key,
            url,
            role="participant",
            subject=self.node.id,
            issuer=self.node.id,
            ttl=PUSH_TTL,
        )
        properties = {
            "authorization": f"Bearer {token}",
            EDC + "baseUrl": url,
            EDC + "authKey": "Authorization",
            EDC + "authCode": f"Bearer {token}",
        }
        return message(
            "DataAddress",
            endpointType=format_.removesuffix(PUSH_SUFFIX),
            endpoint=url,
            endpointProperties=[
                {"@type": "EndpointProperty", "name": name, "value": value}
                for name, value in properties.items()
            ],
        )

    async def initiate(
        self, provider: str, address: str, agreement_id: str, format_: str
    ) -> Transfer:
        """Ask for a transfer; for a push format (e.g. EDC's `HttpData-PUSH`) the request
        names the node's endpoint the provider's data plane sends the data to."""
        now = datetime.now(UTC)
        pid = new_pid()
        row = Transfer(
            pid=pid,
            role=CONSUMER,
            consumer_pid=pid,
            participant=provider,
            callback=check_callback(self.node, address, "connectorAddress"),
            agreement_id=agreement_id,
            dataset_id="",
            format=format_,
            state="REQUESTED",
            created=now,
            updated=now,
        )
        request = message(
            "TransferRequestMessage",
            consumerPid=pid,
            agreementId=agreement_id,
            format=format_,
            callbackAddress=self.callback_address(),
            dataAddress=(
                self.push_address(pid, format_) if format_.endswith(PUSH_SUFFIX) else None
            ),
        )
        return await self.start(row, "request", request)

    async def do(self, row: Transfer, action: str) -> None:
        if action == "complete":
            row = await self.move(row.pid, "consumer-complete")
            await self.send(row, "completion", "TransferCompletionMessage")
        elif action == "suspend":
            row = await self.move(row.pid, "consumer-suspend")
            await self.send(row, "suspension", "TransferSuspensionMessage", code="Suspended")
        elif action == "terminate":
            await self.terminate(row, "terminated by the consumer's plan")
