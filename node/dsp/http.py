"""What the Dataspace Protocol routes share: reading a message, answering with the
protocol's error objects, who the caller is, and answering before reacting."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web

from allmende.node.auth import AuthError, verify_token
from allmende.node.dsp.messages import MAX_MESSAGE_BYTES, DspError, check, error
from allmende.node.federation.trust import TrustList
from allmende.node.http.bodies import BodyIncomplete, BodyTooLarge, request_body
from allmende.node.http.security import CHALLENGE, bearer
from allmende.node.identity.jwts import TokenError
from allmende.node.identity.verifier import dcp_participant
from allmende.node.runtime import Node

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


EVENTS_BY_SENDER = {"consumer": "ACCEPTED", "provider": "FINALIZED"}


async def read(request: web.Request, type_: str, *, sender: str = "consumer") -> dict[str, Any]:
    """The message of `type_` the counterpart (`sender`) may send here, checked."""
    try:
        raw = await request_body(request, MAX_MESSAGE_BYTES)
    except BodyTooLarge:
        raise DspError(413, f"a {type_} may have at most {MAX_MESSAGE_BYTES} bytes") from None
    except BodyIncomplete as exc:
        raise DspError(400, str(exc)) from None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
        raise DspError(400, f"the body is not JSON (expected a {type_})") from None
    message = check(body, type_)
    event = message.get("eventType")
    if event is not None and event != EVENTS_BY_SENDER[sender]:
        raise DspError(400, f"a {sender} does not send the {event} event")
    return message


def _participant(node: Node, token: str) -> str:
    """Tokens of this node (role participant, or an operator trying its own offers) name
    their subject; a trusted peer's node signs its own tokens and is its own subject."""
    signers = {node.key.kid: node.id}
    keys = {node.key.kid: node.key.public}
    for peer in TrustList(node).peers():
        for kid, key in peer.keys.items():
            signers.setdefault(kid, peer.id)
            keys.setdefault(kid, key)
    try:
        kid = str(jwt.get_unverified_header(token).get("kid"))
        principal = verify_token(token, keys, node.id, issuer=signers)
    except (AuthError, jwt.PyJWTError) as exc:
        raise DspError(401, str(exc), code="Unauthorized") from exc
    if signers[kid] == node.id:
        if principal.role not in ("participant", "admin"):
            raise DspError(403, "this needs a participant token", code="Forbidden")
    elif principal.role != "participant" or principal.subject != signers[kid]:
        raise DspError(403, "a peer's token names the peer itself", code="Forbidden")
    return principal.subject


async def participant(request: web.Request) -> str:
    """The verified participant id of the caller: a DCP partner's DID (node.identity), or
    the subject of a participant token."""
    try:
        did = await dcp_participant(request)
    except TokenError as exc:
        raise DspError(
            exc.status, str(exc), code="Unauthorized" if exc.status == 401 else "Forbidden"
        ) from exc
    if did is not None:
        return did
    token = bearer(request)
    if token is None:
        raise DspError(401, "a participant bearer token is required", code="Unauthorized")
    return await asyncio.to_thread(_participant, request.app["node"], token)


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
