"""HTTPS binding of the Dataspace Protocol 2025-1, provider side, below `/dsp`.

The catalog is public like the node's DCAT catalog; negotiations and transfers need a
participant token (`allmende token --role participant --subject ID`), whose subject is
who the agreement is made out to. Errors are the protocol's own error objects.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from node.auth import AuthError, verify_token
from node.dsp import catalog
from node.dsp.callbacks import Sender
from node.dsp.messages import MAX_MESSAGE_BYTES, PATH, DspError, check, error, versions
from node.dsp.negotiations import Negotiations
from node.dsp.plans import load_plans
from node.dsp.transfers import Transfers, transfer_check
from node.http.security import CHALLENGE, bearer
from node.runtime import Node
from node.usage.enforcement import TOKEN_CHECKS

PID = "{pid:[^/]{1,300}}"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answers(error_type: str) -> Callable[[Handler], Handler]:
    """Turn a DspError into the protocol's error object of `error_type`, with its status."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except DspError as exc:
                headers = CHALLENGE if exc.status == 401 else None
                return web.json_response(error(error_type, exc), status=exc.status, headers=headers)

        return checked

    return wrap


async def read(request: web.Request, type_: str) -> dict[str, Any]:
    if (request.content_length or 0) > MAX_MESSAGE_BYTES:
        raise DspError(413, f"a {type_} may have at most {MAX_MESSAGE_BYTES} bytes")
    raw = await request.content.read(MAX_MESSAGE_BYTES + 1)
    if len(raw) > MAX_MESSAGE_BYTES:
        raise DspError(413, f"a {type_} may have at most {MAX_MESSAGE_BYTES} bytes")
    try:
        body = json.loads(raw)
    except ValueError:
        raise DspError(400, f"the body is not JSON (expected a {type_})") from None
    return check(body, type_)


def participant(request: web.Request) -> str:
    """The verified participant id of the caller."""
    token = bearer(request)
    if token is None:
        raise DspError(401, "a participant bearer token is required", code="Unauthorized")
    node: Node = request.app["node"]
    try:
        principal = verify_token(token, {node.key.kid: node.key.public}, node.id)
    except AuthError as exc:
        raise DspError(401, str(exc), code="Unauthorized") from exc
    if principal.role != "participant":
        raise DspError(403, "this needs a participant token", code="Forbidden")
    return principal.subject


def same_pid(request: web.Request, body: dict[str, Any]) -> str:
    pid = request.match_info["pid"]
    if body.get("providerPid") != pid:
        raise DspError(400, "providerPid in the body differs from the one in the path")
    return pid


async def respond_then(
    request: web.Request, body: dict[str, Any], status: int, then: Callable[[], None]
) -> web.StreamResponse:
    """Answer first, then start the reactions, so the consumer knows the process before
    the provider's next message can reach it."""
    payload = json.dumps(body).encode()
    # a StreamResponse (not a Response): middlewares leave a response sent this early alone
    response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
    response.content_length = len(payload)
    await response.prepare(request)
    await response.write(payload)
    await response.write_eof()
    then()
    return response


def ok() -> web.Response:
    return web.Response(status=200)


async def dspace_version(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    return web.json_response(versions(node.base_url))


@answers("CatalogError")
async def catalog_request(request: web.Request) -> web.Response:
    await read(request, "CatalogRequestMessage")
    return web.json_response(catalog.catalog(request.app["node"]))


@answers("CatalogError")
async def dataset_request(request: web.Request) -> web.Response:
    found = catalog.one_dataset(request.app["node"], request.match_info["id"])
    if found is None:
        raise DspError(404, f"no published dataset {request.match_info['id']!r}", code="NotFound")
    return web.json_response(found)


def _negotiations(request: web.Request) -> Negotiations:
    return request.app["dsp_negotiations"]


def _transfers(request: web.Request) -> Transfers:
    return request.app["dsp_transfers"]


@answers("ContractNegotiationError")
async def negotiation_request(request: web.Request) -> web.StreamResponse:
    who = participant(request)
    body = await read(request, "ContractRequestMessage")
    if "providerPid" in body:
        raise DspError(400, "a new negotiation has no providerPid; counter-offers go to /request")
    service = _negotiations(request)
    row = await service.request(who, body)
    plan = service.plans.negotiation(row.dataset_id, "requested")
    return await respond_then(
        request, service.describe(row), 201, lambda: service.react(row.pid, plan)
    )


@answers("ContractNegotiationError")
async def negotiation_get(request: web.Request) -> web.Response:
    service = _negotiations(request)
    row = await service.get(participant(request), request.match_info["pid"])
    return web.json_response(service.describe(row))


@answers("ContractNegotiationError")
async def negotiation_counter(request: web.Request) -> web.StreamResponse:
    who = participant(request)
    body = await read(request, "ContractRequestMessage")
    service = _negotiations(request)
    row = await service.counter(who, same_pid(request, body), body)
    plan = service.plans.negotiation(row.dataset_id, "countered")
    return await respond_then(
        request, service.describe(row), 200, lambda: service.react(row.pid, plan)
    )


def _negotiation_step(step: str, type_: str, trigger: str) -> Handler:
    """A consumer's message that moves the negotiation, then the provider's plan for it."""

    @answers("ContractNegotiationError")
    async def handle(request: web.Request) -> web.StreamResponse:
        who = participant(request)
        body = await read(request, type_)
        service = _negotiations(request)
        row = await service.move(same_pid(request, body), step, participant=who)
        plan = service.plans.negotiation(row.dataset_id, trigger)
        return await respond_then(request, {}, 200, lambda: service.react(row.pid, plan))

    return handle


@answers("ContractNegotiationError")
async def negotiation_termination(request: web.Request) -> web.Response:
    who = participant(request)
    body = await read(request, "ContractNegotiationTerminationMessage")
    service = _negotiations(request)
    row = await service.move(same_pid(request, body), "consumer-terminate", participant=who)
    await service.terminated(row)
    return ok()


@answers("TransferError")
async def transfer_request(request: web.Request) -> web.StreamResponse:
    who = participant(request)
    body = await read(request, "TransferRequestMessage")
    service = _transfers(request)
    row = await service.request(who, body)
    plan = service.plans.transfer(row.agreement_id, "requested")
    return await respond_then(
        request, service.describe(row), 201, lambda: service.react(row.pid, plan)
    )


@answers("TransferError")
async def transfer_get(request: web.Request) -> web.Response:
    service = _transfers(request)
    row = await service.get(participant(request), request.match_info["pid"])
    return web.json_response(service.describe(row))


def _transfer_step(step: str, type_: str) -> Handler:
    @answers("TransferError")
    async def handle(request: web.Request) -> web.Response:
        who = participant(request)
        body = await read(request, type_)
        await _transfers(request).move(same_pid(request, body), step, participant=who)
        return ok()

    return handle


def setup(app: web.Application) -> None:
    node: Node = app["node"]
    plans_file = node.settings.dsp.plans
    sender = Sender()
    plans = load_plans(node.settings.directory / plans_file if plans_file else None)
    app["dsp_negotiations"] = Negotiations(node, plans, sender)
    app["dsp_transfers"] = Transfers(node, plans, sender)
    TOKEN_CHECKS["transfer"] = transfer_check

    async def close(app: web.Application) -> None:
        await app["dsp_negotiations"].close()
        await app["dsp_transfers"].close()
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
    router.add_post(PATH + "/transfers/request", transfer_request)
    router.add_get(PATH + f"/transfers/{PID}", transfer_get)
    for name, step, type_ in (
        ("start", "consumer-start", "TransferStartMessage"),
        ("completion", "consumer-complete", "TransferCompletionMessage"),
        ("suspension", "consumer-suspend", "TransferSuspensionMessage"),
        ("termination", "consumer-terminate", "TransferTerminationMessage"),
    ):
        router.add_post(PATH + f"/transfers/{PID}/{name}", _transfer_step(step, type_))
