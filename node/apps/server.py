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

import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import jwt
from authlib.oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlmodel import Session, col, select

from allmende.node.apps import manifest as manifests
from allmende.node.apps.models import (
    APPROVED,
    App,
    AppToken,
    AuthorizationCode,
    Consent,
)
from allmende.node.apps.records import (
    Answer,
    BodyJsonRequest,
    Client,
    Code,
    FormRequest,
    Resident,
    Token,
    digest,
)
from allmende.node.apps.registration import GRANT_TYPES, REGISTER_PATH, Configuration, Registration
from allmende.node.apps.tokens import (
    REFRESH_TTL,
    TOKEN_TTL,
    acting_for,
    check_app_token,
    refresh_problem,
    token_problem,
)
from allmende.node.auth import mint_token
from allmende.node.runtime import Node

CODE_TTL = 120
AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"]


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
            "authorization_response_iss_parameter_supported": True,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
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
    "REFRESH_TTL",
    "AccessDeniedError",
    "Answer",
    "AuthorizationServer",
    "BodyJsonRequest",
    "FormRequest",
    "Resident",
    "UnauthorizedClientError",
    "acting_for",
    "check_app_token",
    "digest",
]
