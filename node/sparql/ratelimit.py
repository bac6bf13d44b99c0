"""Per-client limits by cost: one busy script cannot starve a village's endpoint, while a
federated join's thousands of lookups pass.

What a client uses up is query time: the seconds its queries held a query worker, from a
budget that refills at a steady rate. A lookup costs milliseconds, so Apache Jena's one
request per binding of a SERVICE join fits easily; a client sending heavy aggregates one
after another spends its budget and waits (429 with Retry-After) while others go on. A
generous count of requests per second stays only as a guard against floods.

A client is a trusted peer node (a token its own key signed, as on the Dataspace
Protocol), else the subject of a token this node issued (an agreement's holder), else
the address the request came from. Peers and token holders get larger quotas.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt
from aiohttp import web

from allmende.node.auth import AuthError, verify_token
from allmende.node.federation.trust import TrustList
from allmende.node.http.security import bearer
from allmende.node.runtime import Node

if TYPE_CHECKING:
    from allmende.node.config import SparqlSection

MAX_CLIENTS = 10_000


@dataclass(frozen=True)
class Quota:
    """What one client of a kind may use."""

    rate: float
    """Requests per second on average (the flood guard)."""
    burst: float
    """Requests at once before the rate counts."""
    seconds: float
    """Query time (worker-seconds) a client may use at once."""
    refill: float
    """Worker-seconds of budget regained per second."""


def quotas(settings: SparqlSection) -> dict[str, Quota]:
    """By kind of client: `address` (anonymous), `subject` (a token of this node), `peer`."""

    def scaled(factor: float) -> Quota:
        return Quota(
            settings.rate_per_second * factor,
            settings.rate_burst * factor,
            settings.query_seconds * factor,
            settings.query_seconds_per_second * factor,
        )

    return {
        "address": scaled(1.0),
        "subject": scaled(settings.agreement_quota),
        "peer": scaled(settings.peer_quota),
    }


@dataclass(frozen=True)
class Refusal:
    """Why a client must wait, and for how long (whole seconds, at least 1)."""

    detail: str
    retry_after: int


@dataclass
class _Account:
    requests: float
    seconds: float
    seen: float


class RateLimiter:
    def __init__(self, quotas: dict[str, Quota]) -> None:
        self.quotas = quotas
        self.accounts: OrderedDict[str, _Account] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: SparqlSection) -> RateLimiter:
        return cls(quotas(settings))

    def quota(self, client: str) -> Quota:
        kind = client.split(":", 1)[0]
        return self.quotas.get(kind, self.quotas["address"])

    def _account(self, client: str, now: float) -> _Account:
        """The client's account, refilled up to now (and the most recently used)."""
        quota = self.quota(client)
        account = self.accounts.pop(client, None)
        if account is None:
            account = _Account(quota.burst, quota.seconds, now)
        elapsed = max(0.0, now - account.seen)
        account.requests = min(quota.burst, account.requests + elapsed * quota.rate)
        account.seconds = min(quota.seconds, account.seconds + elapsed * quota.refill)
        account.seen = now
        self.accounts[client] = account
        while len(self.accounts) > MAX_CLIENTS:
            self.accounts.popitem(last=False)
        return account

    def take(self, client: str, now: float | None = None) -> Refusal | None:
        """None if the client may send this query now, else why and how long to wait."""
        now = time.monotonic() if now is None else now
        quota = self.quota(client)
        account = self._account(client, now)
        if account.seconds <= 0:
            wait = (1e-3 - account.seconds) / quota.refill
            return Refusal(
                f"this client has used its query time ({quota.seconds:g} worker-seconds, "
                f"regained at {quota.refill:g} per second); cheap queries cost almost none",
                max(1, math.ceil(wait)),
            )
        if account.requests < 1:
            wait = (1 - account.requests) / quota.rate
            return Refusal(
                f"too many queries from this client (at most {quota.rate:g} per second); slow down",
                max(1, math.ceil(wait)),
            )
        account.requests -= 1
        return None

    def spend(self, client: str, seconds: float, now: float | None = None) -> None:
        """Charge the time a query of the client held a worker (may go below zero: the
        client then waits until its budget is positive again)."""
        now = time.monotonic() if now is None else now
        self._account(client, now).seconds -= seconds


async def identify(request: web.Request) -> str:
    """Who is asking, for counting: a token counts only once its signature is checked,
    or anyone could pick a fresh subject for every query to escape their cap. A peer's
    key is looked up in the trust list (SQL), away from the event loop."""
    cached: str | None = request.get("sparql_client")
    if cached is not None:
        return cached
    client = f"address:{request.remote or 'unknown'}"
    token = bearer(request)
    if token is not None:
        found: str | None = await asyncio.to_thread(_token_client, request.app, token)
        client = found or client
    request["sparql_client"] = client
    return client


def _token_client(app: web.Application, token: str) -> str | None:
    """`subject:` for a token of this node, `peer:` for one a trusted peer signed for us
    (role participant, naming the peer itself, as on the Dataspace Protocol)."""
    node: Node = app["node"]
    try:
        kid = str(jwt.get_unverified_header(token).get("kid"))
    except jwt.PyJWTError:
        return None
    if kid == node.key.kid:
        try:
            principal = verify_token(token, {kid: node.key.public}, node.id)
        except AuthError:
            return None
        return f"subject:{principal.subject}"
    trust: TrustList = app.get("federation_trust") or TrustList(node)
    for peer in trust.peers():
        key = peer.keys.get(kid)
        if key is None:
            continue
        try:
            principal = verify_token(token, {kid: key}, node.id, issuer=peer.id)
        except AuthError:
            return None
        if principal.role == "participant" and principal.subject == peer.id:
            return f"peer:{peer.id}"
        return None
    return None
