"""HTTP side of the node as consumer: the operator starts a negotiation or transfer
through the admin API, and the provider's messages arrive at `/dsp/consumer/...`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator

from allmende.node.auth import AuthError, verify_token
from allmende.node.dsp import received
from allmende.node.dsp.consumer import (
    CALLBACK_PATH,
    ConsumerNegotiations,
    ConsumerSide,
    ConsumerTransfers,
    agreement_problem,
    push_path,
)
from allmende.node.dsp.http import PID, Handler, answers, read, respond_then
from allmende.node.dsp.messages import SCHEMAS, DspError, stated_reason
from allmende.node.dsp.models import CONSUMER, Negotiation, Transfer, recent
from allmende.node.dsp.processes import AlreadyTaken
from allmende.node.http.admin import json_body
from allmende.node.http.bodies import request_body_or_413
from allmende.node.http.openapi import describe, json_request
from allmende.node.http.problems import Problem
from allmende.node.http.security import CHALLENGE, admin_only, bearer
from allmende.node.runtime import Node


def _from_provider(
    kind: str,
    type_: str,
    step: str,
    trigger: str | None = None,
    keep: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Handler:
    """A provider's message to a process this node started as consumer."""

    @answers("ContractNegotiationError" if kind == "negotiations" else "TransferError")
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await read(request, type_, sender="provider")
        pid = request.match_info["pid"]
        if body.get("consumerPid") != pid:
            raise DspError(400, "consumerPid in the body differs from the one in the path")
        service: ConsumerSide[Any] = request.app[f"dsp_consumer_{kind}"]
        before = await service.from_provider(pid, body)
        changes = keep(body) if keep else {}
        if type_.endswith("TerminationMessage"):
            changes["reason"] = stated_reason(body)
        problem = None
        if type_ == "ContractAgreementMessage":
            problem = agreement_problem(before.received, body["agreement"])
            if problem is not None:  # kept to show, but no agreement of this node
                changes.pop("agreement_id", None)
        try:
            row = await service.move(pid, step, **changes)
        except AlreadyTaken as repeated:
            taken = repeated.row
            return await respond_then(request, {}, 200, lambda: service.repeated(taken))
        if problem is not None and isinstance(service, ConsumerNegotiations):
            negotiations, reason = service, problem  # not verified: terminated with the reason
            return await respond_then(
                request, {}, 200, lambda: negotiations.refuse(row.pid, reason)
            )
        plan = service.plan(row, trigger) if trigger else ()
        return await respond_then(request, {}, 200, lambda: service.react(row.pid, plan))

    summary = f"DSP callback: the provider's {type_} for a process this node started"
    body = json_request(SCHEMAS[type_])
    return describe(summary, tags=["Dataspace Protocol"], request_body=body)(handle)


def _consumer_get(kind: str) -> Handler:
    @answers("ContractNegotiationError" if kind == "negotiations" else "TransferError")
    async def handle(request: web.Request) -> web.Response:
        service: ConsumerSide[Any] = request.app[f"dsp_consumer_{kind}"]
        row = await service.get_own(request.match_info["pid"])
        return web.json_response(service.describe(row))

    summary = f"DSP callback: the state of {kind} this node started as consumer"
    return describe(summary, tags=["Dataspace Protocol"])(handle)


def _offer(body: dict[str, Any]) -> dict[str, Any]:
    offer = body["offer"]
    return {"offer_id": offer["@id"], "received": json.dumps(offer)}


def _agreement(body: dict[str, Any]) -> dict[str, Any]:
    agreement = body["agreement"]
    return {"agreement_id": agreement["@id"], "received": json.dumps(agreement)}


def _data_address(body: dict[str, Any]) -> dict[str, Any]:
    address = body.get("dataAddress")
    return {"received": json.dumps(address)} if address is not None else {}


_TEXT = {"type": "string", "minLength": 1, "maxLength": 300}
INITIATE_NEGOTIATION = Draft202012Validator(
    {
        "type": "object",
        "required": ["providerId", "connectorAddress", "datasetId"],
        "properties": {
            "providerId": _TEXT,
            "connectorAddress": {"type": "string", "maxLength": 2000},
            "datasetId": {"type": "string", "minLength": 1, "maxLength": 64},
            "offerId": _TEXT,
            "offer": {"type": "object", "required": ["@id"], "properties": {"@id": _TEXT}},
        },
        "anyOf": [{"required": ["offerId"]}, {"required": ["offer"]}],
    }
)
INITIATE_TRANSFER = Draft202012Validator(
    {
        "type": "object",
        "required": ["providerId", "connectorAddress", "agreementId", "format"],
        "properties": {
            "providerId": _TEXT,
            "connectorAddress": {"type": "string", "maxLength": 2000},
            "agreementId": _TEXT,
            "format": {"type": "string", "minLength": 1, "maxLength": 100},
        },
    }
)


def _problem(exc: DspError) -> Problem:
    return Problem(exc.status, "Dataspace Protocol", "; ".join(exc.reasons))


@describe(
    "Negotiate as consumer: ask a provider for one of its dataset's offers",
    tags=["Dataspace Protocol"],
    admin=True,
    request_body=json_request(INITIATE_NEGOTIATION.schema),
    responses={"201": {"description": "requested; the provider answers the node directly"}},
)
@admin_only
async def initiate_negotiation(request: web.Request) -> web.Response:
    body = await json_body(request, INITIATE_NEGOTIATION)
    offer = body.get("offer") or {
        "@id": body["offerId"],
        "@type": "Offer",
        "permission": [{"action": "use"}],
    }
    service: ConsumerNegotiations = request.app["dsp_consumer_negotiations"]
    try:
        row = await service.initiate(
            body["providerId"],
            body["connectorAddress"],
            body["datasetId"],
            {**offer, "target": body["datasetId"]},
        )
    except DspError as exc:
        raise _problem(exc) from exc
    service.react(row.pid, service.plan(row, "requested"))
    return web.json_response(service.describe(row), status=201)


@describe(
    "Transfer as consumer: ask a provider to start a transfer under an agreement",
    tags=["Dataspace Protocol"],
    admin=True,
    request_body=json_request(INITIATE_TRANSFER.schema),
    responses={"201": {"description": "requested; the start message brings the endpoint"}},
)
@admin_only
async def initiate_transfer(request: web.Request) -> web.Response:
    body = await json_body(request, INITIATE_TRANSFER)
    service: ConsumerTransfers = request.app["dsp_consumer_transfers"]
    try:
        row = await service.initiate(
            body["providerId"], body["connectorAddress"], body["agreementId"], body["format"]
        )
    except DspError as exc:
        raise _problem(exc) from exc
    service.react(row.pid, service.plan(row, "requested"))
    return web.json_response(service.describe(row), status=201)


@describe(
    "Negotiations and transfers of both roles, newest first",
    tags=["Dataspace Protocol"],
    admin=True,
)
@admin_only
async def processes(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    model = Negotiation if request.match_info["kind"] == "negotiations" else Transfer

    def listed() -> list[dict[str, Any]]:
        items = recent(node.engine, model)
        if model is Transfer:  # what a provider pushed to a transfer this node asked for
            for item in items:
                if item["role"] == CONSUMER:
                    found = received.find(node.settings.directory, item["pid"])
                    item["data"] = found.about if found is not None else None
        return items

    return web.json_response({"items": await asyncio.to_thread(listed)})


PUSH_OPEN = ("REQUESTED", "STARTED")
"""A data plane may push once the request is out: EDC's starts pushing before the node
has its start message."""


@describe(
    "DSP push transfer: the provider's data plane sends the data of a transfer this node "
    "requested as consumer (with the token the request named)",
    tags=["Dataspace Protocol"],
    bearer=True,
    request_body={
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    },
    responses={
        "201": {"description": "kept; the operator fetches it at /admin/dsp/transfers/{pid}/data"},
        "404": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"},
        "413": {"$ref": "#/components/responses/Problem"},
    },
)
async def push_data(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    pid = request.match_info["pid"]
    token = bearer(request)
    if token is None:
        raise Problem(
            401,
            "Push token required",
            "send the token the transfer request named",
            headers=CHALLENGE,
        )
    try:
        verify_token(
            token, {node.key.kid: node.key.public}, node.base_url + push_path(pid), node.id
        )
    except AuthError as exc:
        raise Problem(401, "Push token refused", str(exc), headers=CHALLENGE) from exc
    service: ConsumerTransfers = request.app["dsp_consumer_transfers"]
    try:
        row = await service.get_own(pid)
    except DspError as exc:
        raise _problem(exc) from exc
    if row.state not in PUSH_OPEN:
        raise Problem(409, "Transfer not open", f"the transfer is {row.state}")
    payload = await request_body_or_413(
        request, received.MAX_BYTES, f"a push may have at most {received.MAX_BYTES} bytes"
    )
    content_type = request.headers.get("Content-Type", "application/octet-stream")[:200]
    about = await asyncio.to_thread(
        received.keep, node.settings.directory, pid, payload, content_type
    )
    return web.json_response(about, status=201)


@describe(
    "The data a provider pushed for a transfer this node requested as consumer, as it came",
    tags=["Dataspace Protocol"],
    admin=True,
    responses={
        "200": {"description": "the data, with the content type it came with"},
        "404": {"$ref": "#/components/responses/Problem"},
    },
)
@admin_only
async def pushed_data(request: web.Request) -> web.StreamResponse:
    node: Node = request.app["node"]
    pid = request.match_info["pid"]
    found = await asyncio.to_thread(received.find, node.settings.directory, pid)
    if found is None:
        raise Problem(404, "No data", f"no data has arrived for transfer {pid!r}")
    return web.FileResponse(
        found.data,
        headers={
            "Content-Type": str(found.about.get("contentType", "application/octet-stream")),
            "Content-Disposition": "attachment",
            "X-Content-Type-Options": "nosniff",
        },
    )


def add_routes(router: web.UrlDispatcher) -> None:
    consumer = CALLBACK_PATH
    for kind in ("negotiations", "transfers"):
        router.add_get(consumer + f"/{kind}/{PID}", _consumer_get(kind))
    for path, handler in (
        (
            "negotiations/{pid}/offers",
            _from_provider("negotiations", "ContractOfferMessage", "offer", "offered", _offer),
        ),
        (
            "negotiations/{pid}/agreement",
            _from_provider(
                "negotiations", "ContractAgreementMessage", "agree", "agreed", _agreement
            ),
        ),
        (
            "negotiations/{pid}/events",
            _from_provider("negotiations", "ContractNegotiationEventMessage", "finalize"),
        ),
        (
            "negotiations/{pid}/termination",
            _from_provider("negotiations", "ContractNegotiationTerminationMessage", "terminate"),
        ),
        (
            "transfers/{pid}/start",
            _from_provider("transfers", "TransferStartMessage", "start", "started", _data_address),
        ),
        (
            "transfers/{pid}/completion",
            _from_provider("transfers", "TransferCompletionMessage", "complete"),
        ),
        (
            "transfers/{pid}/suspension",
            _from_provider("transfers", "TransferSuspensionMessage", "suspend"),
        ),
        (
            "transfers/{pid}/termination",
            _from_provider("transfers", "TransferTerminationMessage", "terminate"),
        ),
    ):
        router.add_post(consumer + "/" + path.replace("{pid}", PID), handler)
    router.add_post("/admin/dsp/negotiations", initiate_negotiation)
    router.add_post("/admin/dsp/transfers", initiate_transfer)
    router.add_get("/admin/dsp/{kind:negotiations|transfers}", processes)
    router.add_post(consumer + f"/transfers/{PID}/data", push_data)
    router.add_get(f"/admin/dsp/transfers/{PID}/data", pushed_data)
