"""Apps of the app directory (node.apps) file and support reports for the residents who
allowed them: an OAuth bearer token with the scope reports:write stands in for an Open311
`api_key`; with the scope reports:read the app reads that resident's own reports. The token is checked as the street lights check theirs (node.apps' acting_for:
the scope, and that the token, the resident's consent and the app are live); a refusal is
an RFC 9457 problem (401 for a token that is not the node's, 403 for a wrong scope or a
revoked token), not an Open311 error, as OAuth clients expect of a resource server."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from allmende.node.auth import AuthError, verify_token
from allmende.node.http.problems import Problem
from allmende.node.http.security import CHALLENGE, bearer
from allmende.node.reports.common import node_of
from allmende.node.reports.open311 import Open311Error

SCOPE = "reports:write"
READ = "reports:read"


class AuthProblem(Problem):
    """A refused bearer token: answered as problem+json even on Open311 routes."""


@dataclass(frozen=True)
class AppCaller:
    app: str  # the app's client id
    resident: str  # the resident it acts for (their sign-in name; kept on this node only)

    @property
    def client(self) -> str:
        """What the report's `Reporter.client_id` keeps (32 characters)."""
        return f"app:{self.app}"[:32]


def app_caller(request: web.Request, scope: str = SCOPE) -> AppCaller | None:
    """The app and resident a bearer token with `scope` stands for, None without a bearer
    token."""
    from allmende.node.apps.server import acting_for

    token = bearer(request)
    if token is None:
        return None
    node = node_of(request)
    try:
        principal = verify_token(token, node.admin_keys(), node.id)
    except AuthError as exc:
        raise AuthProblem(401, "Unauthorized", str(exc), headers=CHALLENGE) from None
    claims = principal.claims
    if principal.role != "access" or "app_token" not in claims:
        raise AuthProblem(403, "Forbidden", f"this takes an app's token with the scope {scope}")
    try:
        resident = acting_for(node, claims, scope)
    except Problem as exc:
        raise AuthProblem(
            exc.status_code, exc.body_json["title"], exc.body_json.get("detail")
        ) from None
    return AppCaller(app=str(claims.get("app", "")), resident=resident)


def own_reports_of(request: web.Request) -> str | None:
    """The resident whose own reports are asked for (`account_id=me` with an app's token
    with the scope reports:read), None when the public reports are asked for."""
    wanted = request.query.get("account_id")
    if wanted is None:
        return None
    if wanted != "me":
        raise Open311Error(400, "account_id: only 'me', with an app's token (reports:read)")
    caller = app_caller(request, READ)
    if caller is None:
        raise AuthProblem(
            401,
            "Unauthorized",
            f"account_id=me takes an app's bearer token with the scope {READ}",
            headers=CHALLENGE,
        )
    return caller.resident
