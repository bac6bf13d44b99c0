"""Per-client token buckets: one busy script cannot starve a village's endpoint.

A client is the subject of a token this node issued (an agreement's holder), else the
address the request came from; the rate and the cap on heavy queries both count per
client, so a partner behind a shared address is not slowed down by its neighbours.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from aiohttp import web

from node.auth import AuthError, verify_token
from node.http.security import bearer
from node.runtime import Node

MAX_CLIENTS = 10_000


class RateLimiter:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, now: float | None = None) -> float:
        """0 if the client may go ahead now, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        tokens, seen = self.buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - seen) * self.rate)
        if tokens >= 1:
            self.buckets[client] = (tokens - 1, now)
            wait = 0.0
        else:
            self.buckets[client] = (tokens, now)
            wait = (1 - tokens) / self.rate
        while len(self.buckets) > MAX_CLIENTS:
            self.buckets.popitem(last=False)
        return wait


def client_of(request: web.Request) -> str:
    """Who is asking, for counting: a token counts only once its signature is checked,
    or anyone could pick a fresh subject for every query to escape their cap."""
    cached: str | None = request.get("sparql_client")
    if cached is not None:
        return cached
    client = f"address:{request.remote or 'unknown'}"
    token = bearer(request)
    if token is not None:
        node: Node = request.app["node"]
        try:
            principal = verify_token(token, {node.key.kid: node.key.public}, node.id)
        except AuthError:
            pass
        else:
            client = f"subject:{principal.subject}"
    request["sparql_client"] = client
    return client
