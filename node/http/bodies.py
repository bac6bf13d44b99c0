"""Whole message bodies, read up to a size limit.

aiohttp's `StreamReader.read(n)` answers what has arrived so far, at most n bytes; it is
not the body. Sent in HTTP chunks, slowly, or larger than the socket buffer, a body read
that way is cut short: a query loses its end and answers something else, a peer's feed
page stops being JSON. These read until the body ends, whatever its transfer encoding or
pacing, and stop as soon as it grows past the limit, so a caller never holds more.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from allmende.node.http.problems import Problem


class BodyTooLarge(ValueError):
    """A body larger than its reader's limit; the message names the limit."""

    def __init__(self, limit: int, what: str = "the body") -> None:
        super().__init__(f"{what} is larger than the limit of {limit} bytes")
        self.limit = limit


async def read_stream(
    stream: aiohttp.StreamReader, limit: int, what: str = "the body", *, declared: int | None
) -> bytes:
    """Everything until the end of `stream`; BodyTooLarge once past `limit` bytes (or at
    once when the declared Content-Length is already past it)."""
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit, what)
    body = bytearray()
    async for piece in stream.iter_any():
        body += piece
        if len(body) > limit:
            raise BodyTooLarge(limit, what)
    return bytes(body)


async def response_body(
    response: aiohttp.ClientResponse, limit: int, what: str = "the response"
) -> bytes:
    """A client response's whole (decoded) body; BodyTooLarge past `limit` bytes."""
    return await read_stream(response.content, limit, what, declared=response.content_length)


class BodyIncomplete(ValueError):
    """The client went away (or broke the framing) before its body ended."""


async def request_body(request: web.Request, limit: int, what: str = "the body") -> bytes:
    """A request's whole body; BodyTooLarge past `limit` bytes, BodyIncomplete when the
    connection ends first (the client's doing, not a fault of the node)."""
    try:
        return await read_stream(request.content, limit, what, declared=request.content_length)
    except (ConnectionError, HttpProcessingError) as exc:
        raise BodyIncomplete(f"{what} ended before it was complete") from exc


async def request_body_or_413(request: web.Request, limit: int, detail: str | None = None) -> bytes:
    """A request's whole body, or a 413 problem naming the limit (400 when cut off)."""
    try:
        return await request_body(request, limit)
    except BodyTooLarge as exc:
        raise Problem(413, "Content Too Large", detail or str(exc), limit=limit) from None
    except BodyIncomplete as exc:
        raise Problem(400, "Bad Request", str(exc)) from None
