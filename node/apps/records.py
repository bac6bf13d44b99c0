"""The OAuth side of the app directory's records, as Authlib expects them: aiohttp requests
(read in full beforehand) as Authlib requests, the signed-in resident, a registered app as a
client, an authorization code and an issued token.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
)

from allmende.node.apps import manifest as manifests
from allmende.node.apps.models import (
    APPROVED,
    SANDBOX,
    App,
    AppToken,
    AuthorizationCode,
)

LOOPBACK = ("127.0.0.1", "::1")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- aiohttp request -> Authlib request -------------------------------------------------


class _Payload(OAuth2Payload):
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._list: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._list[key].append(value)
        self._data = {key: values[0] for key, values in self._list.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._list


class FormRequest(OAuth2Request):
    """An OAuth request from its query and an already-read urlencoded body."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: dict[str, str],
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._query = dict(query)
        self._form = dict(form)
        self.payload = _Payload(query + form)

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _JsonPayload(JsonPayload):
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data


class BodyJsonRequest(JsonRequest):
    """A registration request (RFC 7591/7592) with its already-read JSON body."""

    def __init__(self, method: str, uri: str, headers: dict[str, str], body: Any) -> None:
        super().__init__(method, uri, headers)
        self.payload = _JsonPayload(body if isinstance(body, dict) else {})


@dataclass
class Answer:
    status: int
    body: Any
    headers: list[tuple[str, str]]


# --- the node's records, as Authlib expects them ----------------------------------------


@dataclass(frozen=True)
class Resident:
    """A signed-in resident (role resident, sub = the account name) and the consent given."""

    name: str
    consent_id: str = ""

    def get_user_id(self) -> str:
        return self.name


def redirect_matches(registered: str, requested: str) -> bool:
    """Exact string match (RFC 9700); a loopback redirect of a native app may use any port
    (RFC 8252 7.3), everything else about it must still match."""
    if registered == requested:
        return True
    try:
        mine, theirs = urlsplit(registered), urlsplit(requested)
        mine_port, their_port = mine.port, theirs.port
    except ValueError:
        return False
    if mine.scheme != "http" or theirs.scheme != "http" or their_port is None:
        return False
    try:
        loopback = ipaddress.ip_address(mine.hostname or "").is_loopback
    except ValueError:
        return False
    del mine_port
    return (
        loopback
        and mine.hostname == theirs.hostname
        and (mine.path, mine.query, mine.fragment) == (theirs.path, theirs.query, theirs.fragment)
        and mine.username is None
        and theirs.username is None
    )


class Client(ClientMixin):
    """A registered app as an OAuth client."""

    def __init__(self, row: App) -> None:
        self.row = row
        self.metadata = row.client_metadata
        self.client_info = {
            "client_id": row.client_id,
            "client_id_issued_at": row.issued_at,
            "client_secret_expires_at": 0,
        }
        self.client_metadata = {
            key: value for key, value in self.metadata.items() if key != "client_secret"
        }

    @property
    def client_id(self) -> str:
        return self.row.client_id

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.metadata.get("redirect_uris") or []
        return str(uris[0]) if uris else None

    def allowed_scopes(self) -> set[str]:
        """What tokens may carry now: the approved version's scopes, or in the sandbox the
        scopes of sample datasets only."""
        if self.row.status == APPROVED:
            return set(self.row.approved_scopes.split())
        if self.row.status == SANDBOX:
            sample = json.loads(self.row.sandbox_agreements)
            return {manifests.DATASET_SCOPE + dataset for dataset in sample}
        return set()

    def get_allowed_scope(self, scope: str) -> str:
        allowed = self.allowed_scopes()
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_matches(uri, redirect_uri) for uri in self.metadata["redirect_uris"])

    def check_client_secret(self, client_secret: str) -> bool:
        if self.row.secret_digest is None:
            return False
        return hmac.compare_digest(self.row.secret_digest, digest(client_secret))

    @property
    def auth_method(self) -> str:
        return str(self.metadata.get("token_endpoint_auth_method", "client_secret_basic"))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.metadata.get("response_types", ["code"])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.metadata.get("grant_types", ["authorization_code"])


@dataclass
class Code(AuthorizationCodeMixin):
    row: AuthorizationCode

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    @property
    def code_challenge(self) -> str | None:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str | None:
        return self.row.code_challenge_method


class Token(TokenMixin):
    """An issued token; live only while it, its consent and its app are."""

    def __init__(self, row: AppToken, reason: str | None, client: Client | None = None) -> None:
        self.row = row
        self.reason = reason
        self.client = client

    def check_client(self, client: ClientMixin) -> bool:
        return bool(self.row.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return self.row.expires_at - self.row.issued_at

    def is_expired(self) -> bool:
        return self.row.expires_at <= int(time.time())

    def is_revoked(self) -> bool:
        return self.reason is not None

    def get_user(self) -> Resident | None:
        return Resident(self.row.resident) if self.row.resident else None

    def get_client(self) -> ClientMixin | None:
        """The app the token was issued to; None once the app is deleted."""
        return self.client
