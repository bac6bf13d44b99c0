"""Messages the provider sends to a consumer's callback address, and where it may send them.

A callback address comes from the consumer, so it is an SSRF vector: the node posts only
to hosts it was told to trust (`dsp.callback_hosts`, and the hosts of trusted peers), and
decides that before any connection is made, when the request arrives.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from allmende.node.dsp.messages import MAX_MESSAGE_BYTES, DspError
from allmende.node.federation.trust import TrustList
from allmende.node.http.bodies import BodyTooLarge, response_body
from allmende.node.runtime import Node

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=10)
ATTEMPTS = 8
DELIVERY_SECONDS = 15.0
"""How long a message is offered again (with growing pauses: 0.1 s, 0.2 s … up to 2 s)."""
NOT_YET = frozenset({404, 408, 425, 429, 502, 503, 504})
"""Answers after which a message about a running process is sent again. A counterpart learns a process from our
answer to its message, and may still be taking that answer in when our reaction arrives:
it answers 404 for a process (or a path it listens on) it does not know yet. The Eclipse
DSP TCK does exactly this: it starts listening for the termination only after our answer
to its ACCEPTED event, so a termination sent at once was refused and lost when the
machine was busy (scenario CN_02_06). A process's first message is not sent again on
these: there a 404 means a wrong address, and a request may not be repeated."""
REPLY_NOT_YET = NOT_YET | {409}
"""Answers after which a reply within a negotiation (an agreement, an acceptance, a
verification) is sent again. Eclipse EDC records its own step as done only after our
answer to it, and answers 409 to a reply that arrives sooner (seen in CI with an
agreement verification sent at once): offered again, like a 404."""


def _host_port(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname.lower()}:{port}"


def allowed_hosts(node: Node) -> set[str]:
    hosts = {host.lower() for host in node.settings.dsp.callback_hosts}
    for peer in TrustList(node).peers():
        for url in (peer.id, peer.base_url):
            if url and (found := _host_port(url)):
                hosts.add(found)
    return hosts


def check_callback(node: Node, url: str, field: str = "callbackAddress") -> str:
    """The address without a trailing slash, if the node may post to it."""
    found = _host_port(url)
    if found is None or urlsplit(url).query or urlsplit(url).fragment:
        raise DspError(400, f"{field} must be an http(s) URL without query or fragment")
    if found not in allowed_hosts(node):
        raise DspError(
            400,
            f"{field} host {found} is not one this node sends to "
            "(a trusted peer or dsp.callback_hosts)",
        )
    return url.rstrip("/")


class Sender:
    """Posts protocol messages, retrying a few times when the counterpart is briefly away."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def post(
        self,
        url: str,
        body: dict[str, Any],
        *,
        token: str | None = None,
        again: Collection[int] = (),
    ) -> dict[str, Any] | None:
        """Post a message; the counterpart's JSON answer, if it sent one. A lost connection
        and an answer with a status in `again` are tried again, for a while."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        session = self._session
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(ATTEMPTS) | stop_after_delay(DELIVERY_SECONDS),
            wait=wait_exponential(multiplier=0.1, max=2),
            retry=retry_if_exception(lambda exc: _worth_again(exc, again)),
            reraise=True,
        ):
            with attempt:
                async with session.post(
                    url, json=body, headers=headers, allow_redirects=False
                ) as response:
                    if response.status >= 300:
                        raise CallbackFailed(f"{url} answered {response.status}", response.status)
                    try:
                        raw = await response_body(response, MAX_MESSAGE_BYTES, "the answer")
                    except BodyTooLarge as exc:
                        raise CallbackFailed(f"{url}: {exc}") from None
                    try:  # not every counterpart labels its JSON
                        answer = json.loads(raw) if raw.strip() else None
                    except ValueError:
                        return None
                    return answer if isinstance(answer, dict) else None
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class CallbackFailed(Exception):
    """The counterpart refused or could not take a message."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _worth_again(exc: BaseException, again: Collection[int]) -> bool:
    if isinstance(exc, CallbackFailed):
        return exc.status in again
    return isinstance(exc, aiohttp.ClientConnectionError)
