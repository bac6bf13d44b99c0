"""RFC 9457 problem details: every error a client sees is `application/problem+json`.

A detail or field error made with `node.messages.say` is English by default and German for
a client that asks for German (Accept-Language, or the portal's language cookie), as the
pages show it (`Content-Language` says which).
"""

from __future__ import annotations

import codecs
import json
import logging
import os
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from allmende.node.messages import say
from allmende.vocab.messages import Joined, Message, Reader, Tagged, render

PROBLEM_TYPE = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(web.HTTPException):
    """Raise anywhere in a handler; the middleware turns it into a problem+json response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status_code = status
        body: dict[str, Any] = {"type": type, "title": title, "status": status}
        if detail:
            body["detail"] = detail
        body.update(extensions)
        text = json.dumps(body, ensure_ascii=False)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # undecodable bytes a client sent, echoed in the detail
                text = json.dumps(body)
        super().__init__(
            headers=headers,
            text=text,
            content_type=PROBLEM_TYPE,
        )
        self.body_json = body

    def translated(self, reader: Reader) -> Problem:
        """The same problem with its Messages in the reader's language; itself if it has
        none."""
        if not _has_messages(self.body_json):
            return self
        body = _rendered(self.body_json, reader)
        kept = {k: v for k, v in self.headers.items() if k.lower() not in _OWN_HEADERS}
        kept["Content-Language"] = reader.language
        status, title, detail = body.pop("status"), body.pop("title"), body.pop("detail", None)
        return Problem(status, title, detail, headers=kept, **body)


_OWN_HEADERS = {"content-type", "content-length", "content-language"}


def _has_messages(value: object) -> bool:
    if isinstance(value, Message | Joined | Tagged):
        return True
    if isinstance(value, dict):
        return any(_has_messages(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_messages(v) for v in value)
    return False


def _rendered(value: Any, reader: Reader) -> Any:
    if isinstance(value, Message | Joined | Tagged):
        return render(value, reader)
    if isinstance(value, dict):
        return {k: _rendered(v, reader) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rendered(v, reader) for v in value]
    return value


def wants_html(request: web.Request) -> bool:
    """A browser asking for a page (which gets an error page, node/web/errors.py)."""
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "json" not in accept.split(",")[0]


def localised(request: web.Request, problem: Problem) -> Problem:
    """The problem in the language the client asked for (English unless it asked); a
    browser's error page says it in the page's language itself (German unless asked)."""
    from allmende.node.web.i18n import api_language, texts

    if request.method == "GET" and wants_html(request):
        return problem
    return problem.translated(texts(api_language(request)))


def problem(status: int, title: str, detail: str | None = None, **extensions: Any) -> Problem:
    return Problem(status, title, detail, **extensions)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Any HTTP error becomes problem+json, in the client's language; any crash a 500
    without a stack trace.

    A body that cannot be parsed (found by aiohttp's parsers while reading it) is a 400.
    """
    try:
        return await _problems(request, handler)
    except Problem as problem:
        raise localised(request, problem) from None


async def _problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    _check_headers(request)
    try:
        return await handler(request)
    except Problem:
        raise
    except web.HTTPException as exc:
        if exc.status_code < 400:
            raise
        detail = None
        if exc.status_code == 413:
            detail = f"the request body is larger than the limit of {request.app['max_body']} bytes"
        elif exc.text and not exc.text.startswith(f"{exc.status_code}:"):
            detail = exc.text
        raise Problem(exc.status_code, exc.reason, detail, headers=_kept_headers(exc)) from exc
    except HttpProcessingError as exc:  # a malformed header or part, found by aiohttp's parser
        raise Problem(400, "Bad Request", _printable(exc.message)) from None
    except (ValueError, LookupError, RuntimeError, AssertionError) as exc:
        if not _raised_reading_body(exc.__traceback__):
            log.exception("unhandled error", extra={"path": request.path})
            raise Problem(
                500, "Internal Server Error", say("the node could not complete the request")
            ) from None
        detail = f"the request body cannot be read: {_printable(str(exc))}"
        raise Problem(400, "Bad Request", detail) from None
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        raise Problem(
            500, "Internal Server Error", say("the node could not complete the request")
        ) from None


_AIOHTTP = os.path.dirname(aiohttp.__file__)
_PARSERS = {os.path.join(_AIOHTTP, "multipart.py")}
_BODY_READERS = {"post", "json", "text", "read", "multipart"}


def _check_headers(request: web.Request) -> None:
    """Headers a handler or library could not work with are refused before any handler runs:
    bytes that are not UTF-8 (aiohttp keeps them as surrogates, which no encoder, JWT decoder
    or cookie decryption accepts), and a Content-Type naming a charset Python does not know."""
    for name, value in request.headers.items():
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise Problem(
                    400, "Bad Request", say("the %(name)s header is not UTF-8", name=name)
                ) from None
    charset = request.charset
    if charset is None:
        return
    try:
        codecs.lookup(charset)
    except LookupError:
        raise Problem(
            415,
            "Unsupported Media Type",
            say("unknown charset %(value)s; send UTF-8", value=repr(_printable(charset))),
        ) from None


def _raised_reading_body(trace: TracebackType | None) -> bool:
    """Whether the error came out of aiohttp parsing the client's body (not out of our code).

    A route should read bodies through `node.http.forms`; this catches the ones that do not.
    """
    while trace is not None:
        code = trace.tb_frame.f_code
        if code.co_filename in _PARSERS:
            return True
        if code.co_filename == os.path.join(_AIOHTTP, "web_request.py") and (
            code.co_name in _BODY_READERS
        ):
            return True
        trace = trace.tb_next
    return False


def _printable(text: str) -> str:
    return (text or "malformed").encode("utf-8", "replace").decode("utf-8")[:200]


def _kept_headers(exc: web.HTTPException) -> dict[str, str]:
    return {
        name: value
        for name, value in exc.headers.items()
        if name.lower() in {"allow", "www-authenticate", "retry-after", "location"}
    }
