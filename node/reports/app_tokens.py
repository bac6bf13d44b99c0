"""Apps of the app directory (node.apps) file and support reports for the residents who
allowed them: an OAuth bearer token with the scope reports:write stands in for an Open311
`api_key`. The token is checked as the street lights check theirs (node.apps' acting_for:
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

SCOPE = "reports:write"


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


def app_caller(request: web.Request) -> AppCaller | None:
    """The app and resident a bearer token stands for, None without a bearer token."""
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
        raise AuthProblem(
            403, "Forbidden", f"reports take an app's token with the scope {SCOPE} or an api_key"
        )
    try:
        resident = acting_for(node, claims, SCOPE)
    except Problem as exc:
        raise AuthProblem(
            exc.status_code, exc.body_json["title"], exc.body_json.get("detail")
        ) from None
    return AppCaller(app=str(claims.get("app", "")), resident=resident)
