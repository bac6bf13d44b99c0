"""OAuth client libraries written elsewhere drive the node's endpoints, not only our own
example app: requests-oauthlib (Python, on oauthlib) does authorization code with PKCE,
refresh and revocation (RFC 7009) against a served node; oauth4webapi (JavaScript, in
Node.js) discovers the server (RFC 8414), registers (RFC 7591), exchanges a code with PKCE,
introspects (RFC 7662) and revokes. Whatever they check of metadata, content types and
error bodies (RFC 6749 5.2) the node has to meet."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from oauthlib.oauth2 import InvalidGrantError, WebApplicationClient
from requests_oauthlib import OAuth2Session

from tests.apps.served import DATASETS, DOWNLOAD, REDIRECT, ServedVillage, serve

HERE = Path(__file__).parent
BROWSER_TOOLS = HERE.parent / "browser"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedVillage]:
    yield from serve(tmp_path_factory.mktemp("struckum"))


@pytest.fixture(autouse=True)
def _plain_http_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # the node under test listens on 127.0.0.1 without TLS; oauthlib refuses http otherwise
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def _session(served: ServedVillage, client_id: str, scope: list[str]) -> OAuth2Session:
    return OAuth2Session(client_id, redirect_uri=REDIRECT, scope=scope, pkce="S256")


def test_requests_oauthlib_code_pkce_refresh_and_revoke(served: ServedVillage) -> None:
    app = served.register(grant_types=("authorization_code", "refresh_token"))
    client_id = app["client_id"]
    scope = [f"dataset:{DATASETS[0]}"]
    session = _session(served, client_id, scope)
    url, state = session.authorization_url(served.url + "/oauth/authorize")
    back = served.consent(url)
    assert back.startswith(REDIRECT) and f"state={state}" in back
    # RFC 9207: the answer names the issuer, which the metadata says it does
    assert parse_qs(urlsplit(back).query)["iss"] == [served.url]
    token = session.fetch_token(
        served.url + "/oauth/token", authorization_response=back, include_client_id=True
    )
    assert token["token_type"] == "Bearer" and token["scope"] == scope
    assert token.get("refresh_token"), token
    data = session.get(served.url + DOWNLOAD.format(DATASETS[0]), timeout=30)
    assert data.status_code == 200 and b"58.25" in data.content

    refreshed = session.refresh_token(served.url + "/oauth/token", client_id=client_id)
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert session.get(served.url + DOWNLOAD.format(DATASETS[0]), timeout=30).status_code == 200
    # a refresh token is used once (rotation): replaying the old one is an RFC 6749 error
    replay = OAuth2Session(client_id, token=token)
    with pytest.raises(InvalidGrantError):
        replay.refresh_token(served.url + "/oauth/token", client_id=client_id)

    revocation = WebApplicationClient(client_id)
    url, headers, body = revocation.prepare_token_revocation_request(
        served.url + "/oauth/revoke", refreshed["access_token"], "access_token"
    )
    answer = session.post(url, data=f"{body}&client_id={client_id}", headers=headers, timeout=30)
    assert answer.status_code == 200
    refused = session.get(served.url + DOWNLOAD.format(DATASETS[0]), timeout=30)
    assert refused.status_code == 403 and "revoked" in refused.json()["detail"]


def test_requests_oauthlib_confidential_client_and_rfc6749_errors(served: ServedVillage) -> None:
    app = served.register(public=False)
    client_id, secret = app["client_id"], app["client_secret"]
    session = _session(served, client_id, [f"dataset:{DATASETS[1]}"])
    url, _ = session.authorization_url(served.url + "/oauth/authorize")
    back = served.consent(url)
    # client_secret_basic, as the registration said; no refresh token was asked for
    token = session.fetch_token(
        served.url + "/oauth/token", authorization_response=back, client_secret=secret
    )
    assert "refresh_token" not in token
    assert session.get(served.url + DOWNLOAD.format(DATASETS[1]), timeout=30).status_code == 200
    # the same code again: oauthlib reads the node's error body as RFC 6749 5.2 says
    with pytest.raises(InvalidGrantError):
        session.fetch_token(
            served.url + "/oauth/token", authorization_response=back, client_secret=secret
        )


def test_oauth4webapi_discovery_registration_pkce_introspection(served: ServedVillage) -> None:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    if not (BROWSER_TOOLS / "node_modules" / "oauth4webapi").is_dir():
        pytest.skip("run `npm ci --prefix tests/browser` first")
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", str(HERE / "oauth4webapi.test.mjs")],
        env={
            **_environment(),
            "ALLMENDE_BASE_URL": served.url,
            "ALLMENDE_RESIDENT_CODE": served.resident_code(),
            "ALLMENDE_DATASETS": json.dumps(list(DATASETS)),
            "ALLMENDE_OFFER": served.policy_id,
            "ALLMENDE_ADMIN_TOKEN": served.village.token,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def _environment() -> dict[str, str]:
    import os

    return dict(os.environ)
