"""Control-plane tables of the app directory: registered apps, residents' consents, the
authorization codes and tokens issued to apps.

Secrets (client secrets, registration access tokens) are kept only as SHA-256 digests; an
access token is a signed JWT whose `jti` names its row here, so revoking the row stops it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

SANDBOX, APPROVED, REJECTED, SUSPENDED = "sandbox", "approved", "rejected", "suspended"
STATUSES = (SANDBOX, APPROVED, REJECTED, SUSPENDED)


class App(SQLModel, table=True):
    """One registered client (RFC 7591) with its manifest and its review state."""

    __tablename__ = "apps_app"

    client_id: str = Field(primary_key=True, max_length=64)
    secret_digest: str | None = Field(default=None, max_length=64)
    """SHA-256 of the client secret; None for a public client (token_endpoint_auth_method none)."""
    registration_digest: str = Field(max_length=64)
    """SHA-256 of the registration access token (RFC 7592)."""
    metadata_json: str
    """The client metadata as registered (RFC 7591), manifest included."""
    issued_at: int
    status: str = Field(default=SANDBOX, max_length=16, index=True)
    reason: str | None = Field(default=None, max_length=1000)
    """Why the operator rejected or suspended the app, shown to its developer."""
    approved_version: str | None = Field(default=None, max_length=64)
    approved_scopes: str = ""
    """Space-separated scopes of the approved version: the most any token may carry."""
    approved_manifest: str | None = None
    """The approved version's manifest (JSON), frozen."""
    agreements: str = "{}"
    """Dataset id -> the signed agreement concluded for it on approval (JSON)."""
    approved_at: datetime | None = None
    sandbox_agreements: str = "{}"
    """Dataset id -> agreement over sample data, for sandbox credentials (JSON)."""

    @property
    def client_metadata(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.metadata_json)
        return value


class Consent(SQLModel, table=True):
    """A resident allowed an app these scopes; revoking it stops every token at once."""

    __tablename__ = "apps_consent"

    id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(index=True, max_length=64)
    resident: str = Field(index=True, max_length=300)
    scope: str
    created: datetime
    revoked: datetime | None = None


class AuthorizationCode(SQLModel, table=True):
    """An authorization code (RFC 6749 4.1) with its PKCE challenge (RFC 7636); used once."""

    __tablename__ = "apps_code"

    code: str = Field(primary_key=True, max_length=128)
    client_id: str = Field(max_length=64)
    redirect_uri: str = Field(max_length=2000)
    scope: str
    resident: str = Field(max_length=300)
    consent_id: str = Field(max_length=64)
    code_challenge: str | None = Field(default=None, max_length=128)
    code_challenge_method: str | None = Field(default=None, max_length=8)
    auth_time: int


class AppToken(SQLModel, table=True):
    """An access token issued to an app for a resident; its JWT's `jti` is `id`."""

    __tablename__ = "apps_token"

    id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(index=True, max_length=64)
    consent_id: str | None = Field(default=None, index=True, max_length=64)
    resident: str | None = Field(default=None, max_length=300)
    scope: str
    dataset_id: str | None = Field(default=None, max_length=64)
    agreement_id: str | None = Field(default=None, max_length=300)
    issued_at: int
    expires_at: int
    revoked: datetime | None = None
    refresh_digest: str | None = Field(default=None, index=True, max_length=64)
    """SHA-256 of the refresh token issued with it, if the app registered for refresh
    tokens; used once (a refresh revokes this row and issues a new one)."""


class AppUse(SQLModel, table=True):
    """One use of a resident's permission by an app (a request with its token), for the
    resident's "Meine Apps" page and the directory's usage counts. The access decision
    itself is in the usage room's audit log."""

    __tablename__ = "apps_use"

    id: int | None = Field(default=None, primary_key=True)
    time: datetime = Field(index=True)
    client_id: str = Field(index=True, max_length=64)
    resident: str | None = Field(default=None, index=True, max_length=300)
    token_id: str = Field(max_length=64)
    dataset_id: str | None = Field(default=None, max_length=64)
    agreement_id: str | None = Field(default=None, max_length=300)
