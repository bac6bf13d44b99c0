"""The client's address behind a reverse proxy the operator trusts (`[http] trusted_proxies`).

Behind nginx every request comes from the proxy's address, so the limits kept per address
(SPARQL rate limit, Mängelmelder reports per hour, anonymous street-light presses) would
count all residents as one. X-Forwarded-For is read only on connections from a trusted proxy:
from anyone else it is a header a client can write and is ignored. The walk through the
header (the right-most address that is not a trusted proxy) is aiohttp-remotes'.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp_remotes import XForwardedFiltered

from allmende.node.http.problems import Handler

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def forwarded_for(trusted: Iterable[str]) -> Middleware | None:
    """A middleware that gives handlers the client's address, or None with no proxy trusted."""
    networks: set[Network] = {ipaddress.ip_network(item, strict=False) for item in trusted}
    if not networks:
        return None
    walk = XForwardedFiltered(networks)

    @web.middleware
    async def client_address(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _from(request, networks):
            return await walk.middleware(request, handler)
        return await handler(request)

    return client_address


def _from(request: web.Request, networks: set[Network]) -> bool:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:  # a Unix socket's name
        return False
    return any(address in network for network in networks)
