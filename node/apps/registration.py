"""App registration: OAuth 2.0 Dynamic Client Registration (RFC 7591) with the app's
manifest, and management of one's own registration (RFC 7592), on Authlib's endpoints.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any, ClassVar
from urllib.parse import urlsplit

from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint, InvalidClientMetadataError
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint

from allmende.node.apps import manifest as manifests
from allmende.node.apps.models import (
    App,
)
from allmende.node.apps.records import LOOPBACK, Client, digest

GRANT_TYPES = ("authorization_code", "refresh_token")
REGISTER_PATH = "/oauth/register"


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
