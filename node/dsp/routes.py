"""HTTPS binding of the Dataspace Protocol 2025-1 below `/dsp`: the provider's side here,
the consumer's in `consumer_routes`.

The catalog is public like the node's DCAT catalog; negotiations and transfers need a
participant token (`allmende token --role participant --subject ID`, or a trusted peer
node's own), whose subject is who the agreement is made out to. Errors are the protocol's
own error objects.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlmodel import Session

from allmende.node.dsp import catalog, consumer_routes
from allmende.node.dsp.callbacks import Sender
from allmende.node.dsp.consumer import ConsumerNegotiations, ConsumerTransfers
from allmende.node.dsp.http import (
    PID,
    Handler,
    answers,
    ok,
    participant,
    read,
    respond_then,
    same_pid,
)
from allmende.node.dsp.messages import PATH, SCHEMAS, DspError, stated_reason, versions
from allmende.node.dsp.negotiations import AGREEMENTS_PATH, Negotiations
from allmende.node.dsp.plans import load_plans
from allmende.node.dsp.processes import AlreadyTaken
from allmende.node.dsp.transfers import Transfers, transfer_check
from allmende.node.http.openapi import describe, json_request
from allmende.node.http.security import bearer
from allmende.node.identity.verifier import presented_token
from allmende.node.runtime import Node
from allmende.node.usage.enforcement import TOKEN_CHECKS
from allmende.node.usage.models import Agreement

TAGS = ["Dataspace Protocol"]


def _message(summary: str, type_: str | None = None) -> Callable[[Handler], Handler]:
    """The OpenAPI description of a provider route: participant bearer token, message schema."""
    body = json_request(SCHEMAS[type_]) if type_ else None
    return describe(summary, tags=TAGS, bearer=True, request_body=body)


@describe("The Dataspace Protocol versions and where this node speaks them", tags=TAGS)
async def dspace_version(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    return web.json_response(versions(node.base_url))


@describe(
    "DSP catalog request: the catalog as DCAT in JSON-LD",
    tags=TAGS,
    request_body=json_request(SCHEMAS["CatalogRequestMessage"]),
)
@answers("CatalogError")
async def catalog_request(request: web.Request) -> web.Response:
    await read(request, "CatalogRequestMessage")
    by_did = await _by_did(request)
    return web.json_response(catalog.catalog(request.app["node"], by_did))


async def _by_did(request: web.Request) -> bool:
    """Whether the caller knows the node by its DID: it speaks DCP, or its participant
    token names a DID. The catalog is public, so a caller's token only chooses the name
    (a DCP token is not verified here: that would ask its credential service each time);
    a token that does not verify counts as none."""
    if presented_token(request) is not None:
        return True
    if bearer(request) is None:
        return False
    try:
        return (await participant(request)).startswith("did:")
    except DspError:
        return False


@describe("DSP: one published dataset with its offers", tags=TAGS)
@answers("CatalogError")
async def dataset_request(request: web.Request) -> web.Response:
    found = catalog.one_dataset(
        request.app["node"], request.match_info["id"], await _by_did(request)
    )
    if found is None:
        raise DspError(404, f"no published dataset {request.match_info['id']!r}", code="NotFound")
    return web.json_response(found)


@describe(
    "An agreement with the provider's signature: {policy, signatures}, each signature a "
    "detached Ed25519 JWS (verifiable with /.well-known/jwks.json alone)",
    tags=TAGS,
    responses={
        "200": {"description": "the signed agreement"},
        "404": {"$ref": "#/components/responses/Problem"},
    },
)
@answers("ContractNegotiationError")
async def signed_agreement(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    agreement_id = request.match_info["id"]

    def load() -> Agreement | None:
        with Session(node.engine) as session:
            return session.get(Agreement, agreement_id)

    agreement = await asyncio.to_thread(load)
    if agreement is None:
        raise DspError(404, f"no agreement {agreement_id!r}", code="NotFound")
    headers = {"Link": '</.well-known/jwks.json>; rel="jwks"'}
    return web.json_response(json.loads(agreement.document), headers=headers)


def _negotiations(request: web.Request) -> Negotiations:
    return request.app["dsp_negotiations"]


def _transfers(request: web.Request) -> Transfers:
    return request.app["dsp_transfers"]


@_message("DSP: request a contract negotiation", "ContractRequestMessage")
@answers("ContractNegotiationError")
async def negotiation_request(request: web.Request) -> web.StreamResponse:
    who = await participant(request)
    body = await read(request, "ContractRequestMessage")
    if "providerPid" in body:
        raise DspError(400, "a new negotiation has no providerPid; counter-offers go to /request")
    service = _negotiations(request)
    row, new = await service.request(who, body, request.get("participant_attributes"))
    plan = service.plan(row, "requested") if new else ()  # a repeat: the first one's runs
    return await respond_then(
        request, service.describe(row), 201, lambda: service.react(row.pid, plan)
    )


@_message("DSP: the state of a negotiation")
@answers("ContractNegotiationError")
async def negotiation_get(request: web.Request) -> web.Response:
    service = _negotiations(request)
    row = await service.get(await participant(request), request.match_info["pid"])
    return web.json_response(service.describe(row))


@_message("DSP: a counter-offer in a negotiation", "ContractRequestMessage")
@answers("ContractNegotiationError")
async def negotiation_counter(request: web.Request) -> web.StreamResponse:
    who = await participant(request)
    body = await read(request, "ContractRequestMessage")
    service = _negotiations(request)
    row = await service.counter(
        who, same_pid(request, body), body, request.get("participant_attributes")
    )
    plan = service.plan(row, "countered")
    return await respond_then(
        request, service.describe(row), 200, lambda: service.react(row.pid, plan)
    )


def _negotiation_step(step: str, type_: str, trigger: str) -> Handler:
    """A consumer's message that moves the negotiation, then the provider's plan for it."""

    @answers("ContractNegotiationError")
    async def handle(request: web.Request) -> web.StreamResponse:
        who = await participant(request)
        body = await read(request, type_)
        service = _negotiations(request)
        try:
            row = await service.move(same_pid(request, body), step, participant=who)
        except AlreadyTaken as repeated:
            taken = repeated.row
            return await respond_then(request, {}, 200, lambda: service.repeated(taken))
        plan = service.plan(row, trigger)
        return await respond_then(request, {}, 200, lambda: service.react(row.pid, plan))

    return _message(f"DSP: the consumer's {type_}", type_)(handle)


@_message("DSP: terminate a negotiation", "ContractNegotiationTerminationMessage")
@answers("ContractNegotiationError")
async def negotiation_termination(request: web.Request) -> web.Response:
    who = await participant(request)
    body = await read(request, "ContractNegotiationTerminationMessage")
    service = _negotiations(request)
    row = await service.move(
        same_pid(request, body), "consumer-terminate", participant=who, **_ended(body)
    )
    await service.terminated(row)
    return ok()


@_message("DSP: request a transfer under an agreement", "TransferRequestMessage")
@answers("TransferError")
async def transfer_request(request: web.Request) -> web.StreamResponse:
    who = await participant(request)
    body = await read(request, "TransferRequestMessage")
    service = _transfers(request)
    row, new = await service.request(who, body)
    plan = service.plan(row, "requested") if new else ()  # a repeat: the first one's runs
    return await respond_then(
        request, service.describe(row), 201, lambda: service.react(row.pid, plan)
    )


@_message("DSP: the state of a transfer")
@answers("TransferError")
async def transfer_get(request: web.Request) -> web.Response:
    service = _transfers(request)
    row = await service.get(await participant(request), request.match_info["pid"])
    return web.json_response(service.describe(row))


def _ended(body: dict[str, Any]) -> dict[str, Any]:
    """What a termination message changes besides the state: the reason it states."""
    return {"reason": stated_reason(body)}


def _transfer_step(step: str, type_: str) -> Handler:
    @answers("TransferError")
    async def handle(request: web.Request) -> web.Response:
        who = await participant(request)
        body = await read(request, type_)
        changes = _ended(body) if type_ == "TransferTerminationMessage" else {}
        await _transfers(request).move(same_pid(request, body), step, participant=who, **changes)
        return ok()

    return _message(f"DSP: the consumer's {type_}", type_)(handle)


def setup(app: web.Application) -> None:
    node: Node = app["node"]
    plans_file = node.settings.dsp.plans
    sender = Sender()
    plans = load_plans(node.settings.directory / plans_file if plans_file else None)
    app["dsp_negotiations"] = Negotiations(node, plans, sender)
    app["dsp_transfers"] = Transfers(node, plans, sender)
    app["dsp_consumer_negotiations"] = ConsumerNegotiations(node, plans, sender)
    app["dsp_consumer_transfers"] = ConsumerTransfers(node, plans, sender)
    TOKEN_CHECKS["transfer"] = transfer_check

    async def close(app: web.Application) -> None:
        for name in ("negotiations", "transfers", "consumer_negotiations", "consumer_transfers"):
            await app[f"dsp_{name}"].close()
        await sender.close()

    app.on_shutdown.append(close)
    router = app.router
    router.add_get("/.well-known/dspace-version", dspace_version)
    router.add_post(PATH + "/catalog/request", catalog_request)
    router.add_get(PATH + "/catalog/datasets/{id:[^/]{1,300}}", dataset_request)
    router.add_post(PATH + "/negotiations/request", negotiation_request)
    router.add_get(PATH + f"/negotiations/{PID}", negotiation_get)
    router.add_post(PATH + f"/negotiations/{PID}/request", negotiation_counter)
    router.add_post(
        PATH + f"/negotiations/{PID}/events",
        _negotiation_step("accept", "ContractNegotiationEventMessage", "accepted"),
    )
    router.add_post(
        PATH + f"/negotiations/{PID}/agreement/verification",
        _negotiation_step("verify", "ContractAgreementVerificationMessage", "verified"),
    )
    router.add_post(PATH + f"/negotiations/{PID}/termination", negotiation_termination)
    router.add_get(AGREEMENTS_PATH + "/{id:[^/]{1,300}}", signed_agreement)
    router.add_post(PATH + "/transfers/request", transfer_request)
    router.add_get(PATH + f"/transfers/{PID}", transfer_get)
    for name, step, type_ in (
        ("start", "consumer-start", "TransferStartMessage"),
        ("completion", "consumer-complete", "TransferCompletionMessage"),
        ("suspension", "consumer-suspend", "TransferSuspensionMessage"),
        ("termination", "consumer-terminate", "TransferTerminationMessage"),
    ):
        router.add_post(PATH + f"/transfers/{PID}/{name}", _transfer_step(step, type_))
    consumer_routes.add_routes(router)
