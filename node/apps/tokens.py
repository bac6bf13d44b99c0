"""Whether an app's token still works, checked on every use.

The usage room calls `check_app_token` for each read with an app token (its `app_token`
claim); rooms that act for a resident (street lights, defect reports) call `acting_for`
with the token's verified claims and the action's scope. Revoking a token, withdrawing a
consent, or suspending or deleting the app stops the next request.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from allmende.node.apps import manifest as manifests
from allmende.node.apps.models import (
    APPROVED,
    SANDBOX,
    App,
    AppToken,
    AppUse,
    Consent,
)
from allmende.node.runtime import Node

TOKEN_TTL = 3600
REFRESH_TTL = 30 * 24 * 3600


def token_problem(node: Node, session: Session, row: AppToken) -> str | None:
    """Why an app token no longer works, or None while it does (the broadest reason
    first: the app, then the resident's permission, then the token itself)."""
    app = session.get(App, row.client_id)
    if app is None:
        return "the app was deleted"
    if app.status not in (APPROVED, SANDBOX):
        return f"the app is {app.status}"
    if row.consent_id is not None:
        consent = session.get(Consent, row.consent_id)
        if consent is None or consent.revoked is not None:
            return "the resident withdrew the app's permission"
    if row.revoked is not None:
        return "the app's token was revoked"
    if row.expires_at <= int(time.time()):
        return "the app's token has expired"
    return None


def refresh_problem(node: Node, session: Session, row: AppToken) -> str | None:
    """Why a refresh token no longer works: as for its access token, except that the access
    token's own hour may be over; a refresh token lives REFRESH_TTL."""
    problem = token_problem(node, session, row)
    if problem == "the app's token has expired":
        problem = None
    if problem is None and row.issued_at + REFRESH_TTL <= int(time.time()):
        problem = "the refresh token has expired"
    return problem


def check_app_token(node: Node, token_id: Any, dataset_id: str | None = None) -> str | None:
    """The check of an access token's `app_token` claim, on every use (by the usage room for
    `dataset_id`, or by a room acting for the resident); None while the token, its consent
    and its app are live, else the reason to refuse. A use of a live token is noted for the
    resident's "Meine Apps" page."""
    with Session(node.engine) as session:
        row = session.get(AppToken, str(token_id))
        if row is None:
            return "unknown app token"
        problem = token_problem(node, session, row)
        used = dataset_id is None or manifests.DATASET_SCOPE + dataset_id in row.scope.split()
        if problem is None and used:  # a read outside the token is refused, not a use
            agreement = row.agreement_id
            app = session.get(App, row.client_id)
            if dataset_id is not None and dataset_id != row.dataset_id and app is not None:
                found = json.loads(app.agreements).get(dataset_id) or json.loads(
                    app.sandbox_agreements
                ).get(dataset_id)
                agreement = str(found) if found else None
            session.add(
                AppUse(
                    time=datetime.now(UTC),
                    client_id=row.client_id,
                    resident=row.resident,
                    token_id=row.id,
                    dataset_id=dataset_id or row.dataset_id,
                    agreement_id=agreement,
                )
            )
            session.commit()
        return problem


def acting_for(node: Node, claims: dict[str, Any], action: str) -> str:
    """The resident an app token acts for when it asks to do `action` (e.g. lights:switch),
    for the rooms that act for residents; raises the problem that refuses: a token of
    another kind, without that scope, or no longer live. The use is noted like a read."""
    from allmende.node.http.problems import Problem

    scopes = str(claims.get("scope", "")).split()
    resident = claims.get("resident")
    if action not in scopes:
        raise Problem(403, "Forbidden", f"the app's token does not carry the scope {action!r}")
    if not isinstance(resident, str) or not resident:
        raise Problem(403, "Forbidden", "the app's token acts for no resident")
    problem = check_app_token(node, claims.get("app_token"))
    if problem is not None:
        raise Problem(403, "Forbidden", problem)
    return resident
