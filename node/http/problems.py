"""RFC 9457 problem details: every error a client sees is `application/problem+json`."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

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
        super().__init__(
            headers=headers,
            text=json.dumps(body, ensure_ascii=False),
            content_type=PROBLEM_TYPE,
        )
        self.body_json = body


def problem(status: int, title: str, detail: str | None = None, **extensions: Any) -> Problem:
    return Problem(status, title, detail, **extensions)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Any HTTP error becomes problem+json; any crash a 500 without a stack trace."""
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
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        raise Problem(
            500, "Internal Server Error", "the node could not complete the request"
        ) from None


def _kept_headers(exc: web.HTTPException) -> dict[str, str]:
    return {
        name: value
        for name, value in exc.headers.items()
        if name.lower() in {"allow", "www-authenticate", "retry-after", "location"}
    }
