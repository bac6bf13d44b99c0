"""The node's OAuth 2.0 authorization server for apps, built from Authlib's framework-free core.

Authlib implements the protocols (RFC 6749 authorization code, RFC 7636 PKCE, RFC 7591/7592
registration, RFC 7009 revocation, RFC 7662 introspection); this module gives it the node's
storage and adapts aiohttp requests, read in full beforehand, to Authlib's request objects.
Authlib is synchronous, so handlers call it in a worker thread.

An access token is a node JWT of role `access`, as a DSP partner's: its subject is the app's
developer (the agreements' assignee), it names the agreement of each dataset it opens
(`agreements`: dataset -> agreement and purpose), and its `app_token` claim names its row here, which the usage room checks on every use
(`node.usage.enforcement.TOKEN_CHECKS`), so revoking a token, a consent or the app stops it on
the next request, and every use is decided and audited as any partner's.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import jwt
from authlib.oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidRequestError,
    InvalidScopeError,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    UnauthorizedClientError,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint, InvalidClientMetadataError
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlmodel import Session, col, select

from allmende.node.apps import manifest as manifests
from allmende.node.apps.models import (
    APPROVED,
    SANDBOX,
    App,
    AppToken,
    AppUse,
    AuthorizationCode,
    Consent,
)
from allmende.node.auth import mint_token
from allmende.node.runtime import Node

TOKEN_TTL = 3600
REFRESH_TTL = 30 * 24 * 3600
CODE_TTL = 120
GRANT_TYPES = ("authorization_code", "refresh_token")
REGISTER_PATH = "/oauth/register"
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


# --- grants and endpoints ----------------------------------------------------------------


class S256Only(CodeChallenge):
    """PKCE with S256 only (plain is refused), and required of public clients at the
    authorization endpoint already, so a code is never issued without it."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        client: Client = grant.request.client
        if client.auth_method == "none" and not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (method S256)")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


def check_scope(grant: Any, redirect_uri: str) -> None:
    """Requested scopes beyond what the app may have now are an error (RFC 6749
    invalid_scope), never silently narrowed."""
    request = grant.request
    client: Client = request.client
    requested = (request.payload.scope or "").split()
    if not requested:
        raise InvalidScopeError("name the scopes the app needs")
    beyond = sorted(set(requested) - client.allowed_scopes())
    if beyond:
        state = "approved" if client.row.status == APPROVED else client.row.status
        raise InvalidScopeError(
            f"not within what this app may ask for ({state}): {' '.join(beyond)}",
            redirect_uri=redirect_uri,
        )


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]

    def __init__(self, request: Any, server: Any) -> None:
        super().__init__(request, server)
        self.register_hook("after_validate_authorization_request_payload", check_scope)

    @property
    def node(self) -> Node:
        node: Node = self.server.node
        return node

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: Resident = request.user
        data = request.payload.data
        row = AuthorizationCode(
            code=digest(code),
            client_id=request.client.get_client_id(),
            redirect_uri=data.get("redirect_uri") or request.client.get_default_redirect_uri(),
            scope=request.payload.scope or "",
            resident=user.name,
            consent_id=user.consent_id,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=int(time.time()),
        )
        with Session(self.node.engine) as session:
            session.add(row)
            session.commit()

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        with Session(self.node.engine) as session:
            row = session.get(AuthorizationCode, digest(code))
        if row is None or row.client_id != client.get_client_id():
            return None
        if row.auth_time + CODE_TTL < time.time():
            return None
        return Code(row)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        with Session(self.node.engine) as session:
            row = session.get(AuthorizationCode, authorization_code.row.code)
            if row is not None:
                session.delete(row)
                session.commit()

    def authenticate_user(self, authorization_code: Code) -> Resident:
        return Resident(authorization_code.row.resident, authorization_code.row.consent_id)


class RefreshGrant(grants.RefreshTokenGrant):
    """RFC 6749 section 6 for apps that registered for it; each refresh token is used once
    (a new one comes with each refresh, the old row is revoked), as RFC 9700 asks of public
    clients, and only while the resident's consent and the app are live."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = CodeGrant.TOKEN_ENDPOINT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        token = _refresh_lookup(self.server.node, refresh_token)
        if token is None or token.reason is not None:
            return None
        return token

    def authenticate_user(self, refresh_token: Token) -> Resident | None:
        row = refresh_token.row
        return Resident(row.resident, row.consent_id or "") if row.resident else None

    def revoke_old_credential(self, refresh_token: Token) -> None:
        node: Node = self.server.node
        with Session(node.engine) as session:
            row = session.get(AppToken, refresh_token.row.id)
            if row is not None and row.revoked is None:
                row.revoked = datetime.now(UTC)
                session.add(row)
                session.commit()


class _TokenLookup:
    server: Any

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        node: Node = self.server.node
        if token_type_hint == "refresh_token" or token_string.count(".") != 2:
            return _refresh_lookup(node, token_string)
        try:
            claims = jwt.decode(
                token_string,
                node.key.public,
                algorithms=["EdDSA"],
                audience=node.id,
                options={"verify_exp": False},
            )
        except jwt.PyJWTError:
            return None
        token_id = claims.get("app_token")
        if not isinstance(token_id, str):
            return None
        with Session(node.engine) as session:
            row = session.get(AppToken, token_id)
            if row is None:
                return None
            app = session.get(App, row.client_id)
            client = Client(app) if app is not None else None
            return Token(row, token_problem(node, session, row), client)


def _refresh_lookup(node: Node, refresh_token: str) -> Token | None:
    """The token row a refresh token was issued with (RFC 7009 and 7662 take either)."""
    with Session(node.engine) as session:
        row = session.exec(
            select(AppToken).where(AppToken.refresh_digest == digest(refresh_token))
        ).first()
        if row is None:
            return None
        app = session.get(App, row.client_id)
        client = Client(app) if app is not None else None
        return Token(row, refresh_problem(node, session, row), client)


class Revocation(_TokenLookup, RevocationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    def revoke_token(self, token: Token, request: Any) -> None:
        node: Node = self.server.node
        with Session(node.engine) as session:
            row = session.get(AppToken, token.row.id)
            if row is not None and row.revoked is None:
                row.revoked = datetime.now(UTC)
                session.add(row)
                session.commit()


class Introspection(_TokenLookup, IntrospectionEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    def check_permission(self, token: Token, client: Client, request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: Token) -> dict[str, Any]:
        node: Node = self.server.node
        row = token.row
        return {
            "active": True,
            "client_id": row.client_id,
            "token_type": "Bearer",
            "scope": row.scope,
            "sub": row.resident,
            "username": row.resident,
            "aud": node.id,
            "iss": node.id,
            "exp": row.expires_at,
            "iat": row.issued_at,
            "jti": row.id,
        }


class _RegistrationBase:
    server: Any

    def get_server_metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self.server.metadata()
        return metadata

    def check_manifest(self, request: Any) -> dict[str, Any]:
        data = request.payload.data
        manifest = data.get(manifests.FIELD)
        problems = manifests.errors(manifest)
        if problems:
            raise InvalidClientMetadataError("; ".join(problems))
        uris = data.get("redirect_uris")
        if not isinstance(uris, list) or not uris:
            raise InvalidClientMetadataError("redirect_uris: at least one redirect URI")
        for uri in uris:
            if not isinstance(uri, str) or not _acceptable_redirect(uri):
                raise InvalidClientMetadataError(
                    f"redirect_uris: {uri!r} is not https, a loopback http URI or a "
                    "private-use scheme (RFC 8252)"
                )
        grant_types = data.get("grant_types", ["authorization_code"])
        if "authorization_code" not in grant_types or set(grant_types) - set(GRANT_TYPES):
            raise InvalidClientMetadataError(
                "grant_types: authorization_code, and refresh_token if the app wants it"
            )
        if data.get("response_types", ["code"]) != ["code"]:
            raise InvalidClientMetadataError("response_types: only code")
        method = data.get("token_endpoint_auth_method", "client_secret_basic")
        if method not in ("none", "client_secret_basic", "client_secret_post"):
            raise InvalidClientMetadataError(
                "token_endpoint_auth_method: none, client_secret_basic or client_secret_post"
            )
        checked = self.server.check_offers(manifest)
        if checked:
            raise InvalidClientMetadataError(checked)
        return dict(manifest)

    def full_metadata(self, client_metadata: dict[str, Any], request: Any) -> dict[str, Any]:
        manifest = self.check_manifest(request)
        data = request.payload.data
        return {
            **client_metadata,
            "redirect_uris": list(data["redirect_uris"]),
            "token_endpoint_auth_method": data.get(
                "token_endpoint_auth_method", "client_secret_basic"
            ),
            "grant_types": [t for t in GRANT_TYPES if t in data.get("grant_types", [])]
            or ["authorization_code"],
            "response_types": ["code"],
            "client_name": manifest["name"],
            "software_version": manifest["version"],
            "scope": " ".join(manifests.scopes(manifest)),
            manifests.FIELD: manifest,
        }


def _acceptable_redirect(uri: str) -> bool:
    """https, loopback http (native apps) or a private-use scheme with a dot (RFC 8252 7.1)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    if parts.fragment:
        return False
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme == "http":
        return (parts.hostname or "") in LOOPBACK
    return "." in parts.scheme and parts.scheme.isascii()


class Registration(_RegistrationBase, ClientRegistrationEndpoint):
    """RFC 7591: anyone may register; an app starts in the sandbox. A software statement
    signed by this node or a trusted neighbour (EdDSA) is believed."""

    software_statement_alg_values_supported: ClassVar[list[str]] = ["EdDSA"]

    def authenticate_token(self, request: Any) -> bool:
        return True  # open registration: the sandbox and the review are the gate

    def resolve_public_key(self, request: Any) -> Any:
        keys: dict[str, Any] = self.server.statement_keys()
        return {"keys": list(keys.values())}

    def generate_client_secret(self, request: Any) -> str | None:
        if request.payload.data.get("token_endpoint_auth_method") == "none":
            return None
        return secrets.token_urlsafe(32)

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> Client:
        metadata = self.full_metadata(client_metadata, request)
        registration_token = secrets.token_urlsafe(32)
        request.registration_token = registration_token
        secret = client_info.get("client_secret")
        row = App(
            client_id=client_info["client_id"],
            secret_digest=digest(secret) if secret else None,
            registration_digest=digest(registration_token),
            metadata_json=json.dumps(metadata, ensure_ascii=False),
            issued_at=client_info["client_id_issued_at"],
        )
        self.server.save_new_app(row, metadata[manifests.FIELD])
        return Client(row)

    def create_registration_response(self, request: Any) -> tuple[int, Any, Any]:
        status, body, headers = super().create_registration_response(request)
        client = self.server.query_client(body["client_id"])
        body.update(client.client_metadata)
        if body.get("client_secret") is None:
            body.pop("client_secret", None)
        body["allmende_status"] = client.row.status
        return status, body, headers

    def generate_client_registration_info(self, client: Client, request: Any) -> dict[str, str]:
        return {
            "registration_client_uri": self.server.node.base_url
            + f"{REGISTER_PATH}/{client.client_id}",
            "registration_access_token": request.registration_token,
        }


class Configuration(_RegistrationBase, ClientConfigurationEndpoint):
    """RFC 7592: read, update (a new version) and delete one's own registration."""

    def authenticate_token(self, request: Any) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def authenticate_client(self, request: Any) -> Client | None:
        client = self.server.query_client(request.client_id_in_path)
        if client is None:
            return None
        if not hmac.compare_digest(client.row.registration_digest, digest(request.credential)):
            return None
        result: Client = client
        return result

    def revoke_access_token(self, request: Any, token: Any) -> None:
        return None  # the token names a client that is gone: nothing left to revoke

    def check_permission(self, client: Client, request: Any) -> bool:
        return True

    def introspect_client(self, client: Client) -> dict[str, Any]:
        body = {**client.client_info, **client.client_metadata}
        body["allmende_status"] = client.row.status
        if client.row.reason:
            body["allmende_reason"] = client.row.reason
        return body

    def generate_client_registration_info(self, client: Client, request: Any) -> dict[str, str]:
        return {
            "registration_client_uri": self.server.node.base_url
            + f"{REGISTER_PATH}/{client.client_id}",
            "registration_access_token": request.credential,
        }

    def update_client(
        self, client: Client, client_metadata: dict[str, Any], request: Any
    ) -> Client:
        metadata = self.full_metadata(client_metadata, request)
        row = self.server.update_app(client.row, metadata)
        return Client(row)

    def delete_client(self, client: Client, request: Any) -> None:
        self.server.delete_app(client.row)


class AuthorizationServer(_AuthorizationServer):
    """Authlib's server with the node's storage; `apps` (node.apps.registry) does the rest."""

    def __init__(self, node: Node, registry: Any) -> None:
        super().__init__(scopes_supported=None)
        self.node = node
        self.registry = registry
        self.register_token_generator("default", self._token)
        self.register_grant(CodeGrant, [S256Only(required=True)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_endpoint(Registration)
        self.register_endpoint(Configuration)

    # storage
    def query_client(self, client_id: str) -> Client | None:
        with Session(self.node.engine) as session:
            row = session.get(App, client_id)
        return Client(row) if row is not None else None

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        return None  # the generator stored the row when it minted the token

    def statement_keys(self) -> dict[str, Any]:
        keys: dict[str, Any] = self.registry.statement_keys()
        return keys

    def check_offers(self, manifest: dict[str, Any]) -> str | None:
        result: str | None = self.registry.check_offers(manifest)
        return result

    def save_new_app(self, row: App, manifest: dict[str, Any]) -> None:
        self.registry.save_new_app(row, manifest)

    def update_app(self, row: App, metadata: dict[str, Any]) -> App:
        updated: App = self.registry.update_app(row, metadata)
        return updated

    def delete_app(self, row: App) -> None:
        self.registry.delete_app(row)

    def metadata(self) -> dict[str, Any]:
        base = self.node.base_url
        return {
            # RFC 8414 3.3: the issuer is the URL the metadata is found under, which clients
            # compare (oauth4webapi refuses anything else); the node's id may be another URL
            "issuer": base,
            "authorization_endpoint": base + "/oauth/authorize",
            "token_endpoint": base + "/oauth/token",
            "registration_endpoint": base + REGISTER_PATH,
            "revocation_endpoint": base + "/oauth/revoke",
            "introspection_endpoint": base + "/oauth/introspect",
            "response_types_supported": ["code"],
            "grant_types_supported": list(GRANT_TYPES),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "none",
                "client_secret_basic",
                "client_secret_post",
            ],
            "scopes_supported": self.registry.scopes_supported(),
        }

    # the token: a node JWT bound to the agreement of its dataset
    def _token(
        self,
        grant_type: str,
        client: Client,
        user: Resident | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        scope = scope or ""
        manifest = client.metadata[manifests.FIELD]
        row_id = uuid.uuid4().hex
        extra: dict[str, Any] = {"app": client.client_id, "app_token": row_id, "scope": scope}
        if user is not None:
            extra["resident"] = user.name
        purposes = {d["dataset"]: d["purpose"] for d in manifest.get("datasets", [])}
        bound: dict[str, dict[str, Any]] = {}
        for dataset in (d for s in scope.split() if (d := manifests.dataset_of(s))):
            agreement = self.registry.agreement_for(client.row, dataset)
            if agreement is not None:
                bound[dataset] = {"agreement": agreement, "purpose": purposes.get(dataset)}
        if bound:
            extra["agreements"] = bound  # dataset -> its agreement, as the usage room reads it
        single = next(iter(bound.items())) if len(bound) == 1 else None
        now = int(time.time())
        refresh = secrets.token_urlsafe(32) if include_refresh_token else None
        token = mint_token(
            self.node.key,
            self.node.id,
            role="access",
            subject=manifest["developer"]["id"],
            ttl=TOKEN_TTL,
            extra=extra,
        )
        with Session(self.node.engine) as session:
            session.add(
                AppToken(
                    id=row_id,
                    client_id=client.client_id,
                    consent_id=user.consent_id if user is not None else None,
                    resident=user.name if user is not None else None,
                    scope=scope,
                    dataset_id=single[0] if single else None,
                    agreement_id=single[1]["agreement"] if single else None,
                    issued_at=now,
                    expires_at=now + TOKEN_TTL,
                    refresh_digest=digest(refresh) if refresh else None,
                )
            )
            session.commit()
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL,
            "scope": scope,
        }
        if refresh is not None:
            answer["refresh_token"] = refresh
        return answer

    # aiohttp adapters: requests are built by the routes, answers go back as Answer
    def create_oauth2_request(self, request: Any) -> Any:
        return request

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return Answer(status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


def consents_of(node: Node, resident: str) -> list[Consent]:
    with Session(node.engine) as session:
        query = (
            select(Consent)
            .where(Consent.resident == resident)
            .order_by(col(Consent.created).desc())
        )
        return list(session.exec(query))


__all__ = [
    "AccessDeniedError",
    "Answer",
    "AuthorizationServer",
    "BodyJsonRequest",
    "FormRequest",
    "Resident",
    "UnauthorizedClientError",
    "check_app_token",
]


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
