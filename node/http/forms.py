"""Reading forms, multipart bodies and JSON from clients that may send anything.

aiohttp's parsers raise ValueError, UnicodeDecodeError, LookupError (an unknown charset),
RuntimeError (an unknown part encoding) or its own `HttpProcessingError`s on a malformed body.
Every route that reads a form, a multipart body or JSON goes through here, so each of those
becomes a 400 problem naming what is wrong instead of a 500. Only the parser's own calls are
guarded: an error in our code stays an error.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

from allmende.node.http.problems import Problem
from allmende.node.messages import say

MALFORMED: tuple[type[BaseException], ...] = (
    ValueError,  # includes UnicodeDecodeError and json.JSONDecodeError
    LookupError,  # an unknown charset
    RuntimeError,  # an unknown Content-Encoding or Content-Transfer-Encoding of a part
    AssertionError,  # aiohttp asserts on a body that is not multipart at all
    HttpProcessingError,  # a malformed part header
)
MULTIPART = "multipart/form-data"


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Turn a parser's error while reading `what` into a 400 problem that names it."""
    try:
        yield
    except web.HTTPException:
        raise
    except MALFORMED as exc:
        raise Problem(
            400,
            "Bad Request",
            say("%(what)s cannot be read: %(value)s", what=what, value=_reason(exc)),
        ) from None


def _reason(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, HttpProcessingError) else str(exc) or type(exc).__name__
    return text.encode("utf-8", "replace").decode("utf-8")[:200]


def text_of(value: str | None, what: str) -> str | None:
    """`value` if it is text that can be written back out (no undecodable bytes)."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Problem(400, "Bad Request", say("%(what)s is not valid UTF-8", what=what)) from None
    return value


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The request's form (urlencoded or multipart), every name and text value valid UTF-8."""
    with reading(say("the form")):
        form = await request.post()
    for name, value in form.items():
        text_of(name, say("a form field's name"))
        if isinstance(value, str):
            text_of(value, say("form field '%(name)s'", name=name))
    return form


async def read_json(request: web.Request, what: str | None = None) -> Any:
    """The JSON body; invalid JSON or text is a 400 naming where it failed."""
    what = what or say("the body")
    with reading(what):
        raw = await request.read()
    try:
        return json.loads(raw)
    except RecursionError:
        raise Problem(400, "Bad Request", say("%(what)s is nested too deeply", what=what)) from None
    except ValueError as exc:
        raise Problem(
            400,
            "Bad Request",
            say("%(what)s is not valid JSON: %(value)s", what=what, value=_reason(exc)),
        ) from None


class Part:
    """One part of a multipart body; its name and file name are checked text, its reads guarded."""

    def __init__(self, raw: BodyPartReader) -> None:
        self.raw = raw
        with reading(say("a part's Content-Disposition")):
            name, filename = raw.name, raw.filename
        self.name = text_of(name, say("a part's name"))
        label = say("part '%(name)s'", name=self.name) if self.name else say("a part")
        self.label = label
        self.filename = text_of(filename, say("the file name of %(part)s", part=label))
        self.content_type = text_of(
            raw.headers.get("Content-Type"), say("the Content-Type of %(part)s", part=label)
        )

    async def read(self, limit: int) -> bytes:
        """The whole part, decoded per its Content-(Transfer-)Encoding, at most `limit` bytes."""
        with reading(self.label):
            data = await self.raw.read(decode=True)
        if len(data) > limit:
            raise Problem(
                400,
                "Bad Request",
                say("%(label)s is longer than %(limit)s bytes", label=self.label, limit=limit),
            )
        return bytes(data)

    async def text(self, limit: int) -> str:
        """The part as UTF-8 text."""
        data = await self.read(limit)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise Problem(
                400, "Bad Request", say("%(label)s is not valid UTF-8 text", label=self.label)
            ) from None

    async def chunks(self, size: int = 1 << 16) -> AsyncIterator[bytes]:
        """The part's raw bytes as they arrive."""
        while True:
            with reading(self.label):
                chunk = await self.raw.read_chunk(size)
            if not chunk:
                return
            yield chunk


async def parts(request: web.Request, expected: str) -> AsyncIterator[Part]:
    """The parts of a multipart/form-data body; `expected` tells a client what to send."""
    if request.content_type != MULTIPART:
        raise Problem(
            415,
            "Unsupported Media Type",
            say("send %(MULTIPART)s with %(expected)s", MULTIPART=MULTIPART, expected=expected),
        )
    with reading(say("the multipart body")):
        reader = await request.multipart()
    while True:
        with reading(say("the multipart body")):
            part = await reader.next()
        if part is None:
            return
        if not isinstance(part, BodyPartReader):
            raise Problem(400, "Bad Request", say("nested multipart bodies are not accepted"))
        yield Part(part)
