"""The node's only way out to addresses a partner names (its DID document, its credential
service, a status list): https only, no redirects, the configured certificate authorities,
a time and a size limit, and a short cache for documents everyone reuses.

Whoever sends a token chooses these addresses, so the limits are what keeps a stranger from
making the node fetch without end (SSRF): nothing but https is ever requested.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import ssl
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from allmende.node.config import DcpSection
from allmende.node.http.bodies import BodyTooLarge, response_body


class FetchError(Exception):
    """What went wrong reaching a partner's address; safe to show (names no secret)."""


def check_url(url: str) -> str:
    """Only absolute https URLs without credentials in them."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise FetchError(f"{url!r} is not a URL") from exc
    if parts.scheme != "https" or not parts.hostname:
        raise FetchError(f"only https addresses are fetched, not {url[:200]!r}")
    if parts.username or parts.password:
        raise FetchError("an address with credentials in it is not fetched")
    return url


class PrivateAddress(OSError):
    """A name that leads into a private network, which the node does not call."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global


class PublicResolver(AbstractResolver):
    """Name resolution that refuses private, loopback and link-local addresses, checked at
    connection time (a name that resolves differently later is checked again)."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if not all(is_public(entry["host"]) for entry in found):
            raise PrivateAddress(f"{host} is not a public address")
        return found

    async def close(self) -> None:
        await self._inner.close()


class Fetcher:
    """One HTTP client session for DCP, opened on first use and closed with the app."""

    def __init__(self, settings: DcpSection, directory: Path) -> None:
        self.settings = settings
        self.context = ssl.create_default_context()
        if settings.ca_file:
            self.context.load_verify_locations(cafile=str(directory / settings.ca_file))
        self._session: aiohttp.ClientSession | None = None
        self._cache: dict[str, tuple[float, Any]] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            resolver = None if self.settings.private_addresses else PublicResolver()
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.fetch_timeout),
                connector=aiohttp.TCPConnector(ssl=self.context, limit=20, resolver=resolver),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(self, url: str, what: str, *, cached: bool = True) -> bytes:
        """The body at `url` (a DID document, a status list), reused for cache_seconds."""
        check_url(url)
        now = time.monotonic()
        hit = self._cache.get(url)
        if cached and hit is not None and hit[0] > now:
            return bytes(hit[1])
        body = await self._request("GET", url, what, None, {})
        if cached and self.settings.cache_seconds > 0:
            if len(self._cache) > 1000:  # a flood of fresh addresses does not grow it for ever
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._cache[url] = (now + self.settings.cache_seconds, body)
        return body

    async def get_json(self, url: str, what: str) -> Any:
        return _json(await self.get(url, what), what)

    async def post_json(
        self, url: str, body: dict[str, Any], headers: dict[str, str], what: str
    ) -> Any:
        check_url(url)
        raw = await self._request("POST", url, what, json.dumps(body).encode(), headers)
        return _json(raw, what)

    async def _request(
        self, method: str, url: str, what: str, data: bytes | None, headers: dict[str, str]
    ) -> bytes:
        sent = {"Accept": "application/json, application/did+json, application/jwt", **headers}
        if data is not None:
            sent["Content-Type"] = "application/json"
        host = urlsplit(url).netloc
        literal = urlsplit(url).hostname or ""
        with contextlib.suppress(ValueError):  # a name, not an address: the resolver checks
            if not self.settings.private_addresses and not is_public(literal):
                raise FetchError(f"{what}: {literal} is not a public address")
        try:
            async with self._client().request(
                method, url, data=data, headers=sent, allow_redirects=False
            ) as response:
                if response.status != 200:
                    raise FetchError(f"{what} at {host} answered HTTP {response.status}")
                return await response_body(response, self.settings.max_document_bytes, what)
        except BodyTooLarge as exc:
            raise FetchError(
                f"{what} at {host} is larger than {self.settings.max_document_bytes} bytes"
            ) from exc
        except TimeoutError as exc:
            raise FetchError(
                f"{what} at {host} did not arrive within {self.settings.fetch_timeout:g} s"
            ) from exc
        except aiohttp.ClientSSLError as exc:
            raise FetchError(f"{what} at {host}: its TLS certificate is not trusted") from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, PrivateAddress):
                raise FetchError(f"{what}: {exc.os_error}") from exc
            raise FetchError(f"{what} at {host} could not be reached") from exc
        except (aiohttp.ClientError, ValueError, OSError) as exc:
            raise FetchError(
                f"{what} at {host} could not be fetched ({type(exc).__name__})"
            ) from exc


def _json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FetchError(f"{what} is not JSON") from exc
