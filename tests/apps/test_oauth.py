"""A resident signs in, consents, and the app uses its token — through the same access decision
and audit as any partner. Each attack is refused with a clear error."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.apps.conftest import (
    CLIMATE,
    DEVELOPER,
    NATIVE,
    PARKING,
    REDIRECT,
    SAMPLE,
    Village,
    authorize_params,
    bearer,
    pkce,
)

DOWNLOAD = "/datasets/{}/distributions/feuchte/download"


def _query(response: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(response.headers["Location"]).query)


async def _introspect(village: Village, client_id: str, token: str) -> dict[str, Any]:
    response = await village.client.post(
        "/oauth/introspect", data={"token": token, "client_id": client_id}
    )
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def test_resident_consents_and_the_app_reads_under_its_agreement(village: Village) -> None:
    answer = await village.register()
    client_id = answer["client_id"]
    await village.approve(client_id)
    await village.sign_in()
    status, page = await village.consent_page(
        authorize_params(client_id, f"dataset:{CLIMATE}", pkce()[1])
    )
    assert status == 200
    assert "Dorf-App" in page and "Dorfapp GmbH" in page and CLIMATE in page
    # in plain German: what it will see, for which purpose, and the choice
    assert "Was die App sehen wird" in page and "Zweck: Forschung" in page
    assert ">Erlauben</button>" in page and ">Ablehnen</button>" in page
    token = await village.code_token(client_id, f"dataset:{CLIMATE}")
    assert token["token_type"] == "Bearer" and token["scope"] == f"dataset:{CLIMATE}"

    data = await village.client.get(DOWNLOAD.format(CLIMATE), headers=bearer(token["access_token"]))
    assert data.status == 200, await data.text()
    assert b"61.5" in await data.read()
    audit = await (
        await village.client.get("/admin/audit", params={"dataset": CLIMATE}, headers=village.admin)
    ).json()
    permitted = [e for e in audit["entries"] if e["decision"] == "permit"]
    assert permitted and permitted[0]["subject"] == DEVELOPER

    info = await _introspect(village, client_id, token["access_token"])
    assert info["active"] is True and info["sub"] == "anwohnerin-7"
    assert info["scope"] == f"dataset:{CLIMATE}" and info["client_id"] == client_id


async def test_token_replay_after_revocation_is_refused(village: Village) -> None:
    client_id = (await village.register())["client_id"]
    await village.approve(client_id)
    await village.sign_in()
    token = (await village.code_token(client_id, f"dataset:{CLIMATE}"))["access_token"]
    assert (await village.client.get(DOWNLOAD.format(CLIMATE), headers=bearer(token))).status == 200
    revoked = await village.client.post(
        "/oauth/revoke", data={"token": token, "client_id": client_id}
    )
    assert revoked.status == 200
    replay = await village.client.get(DOWNLOAD.format(CLIMATE), headers=bearer(token))
    assert replay.status == 403
    assert replay.headers["Content-Type"].startswith("application/problem+json")
    assert "revoked" in (await replay.json())["detail"]
    assert (await _introspect(village, client_id, token))["active"] is False


async def test_suspending_the_app_stops_its_tokens_on_the_next_request(village: Village) -> None:
    client_id = (await village.register())["client_id"]
    await village.approve(client_id)
    await village.sign_in()
    token = (await village.code_token(client_id, f"dataset:{CLIMATE}"))["access_token"]
    await village.client.post(
        f"/admin/apps/{client_id}/suspend", json={"reason": "Prüfung"}, headers=village.admin
    )
    refused = await village.client.get(DOWNLOAD.format(CLIMATE), headers=bearer(token))
    assert refused.status == 403 and "suspended" in (await refused.json())["detail"]


async def test_an_app_reading_outside_its_agreement_is_refused(village: Village) -> None:
    client_id = (await village.register())["client_id"]
    await village.approve(client_id)
    await village.sign_in()
    token = (await village.code_token(client_id, f"dataset:{CLIMATE}"))["access_token"]
    outside = await village.client.get(DOWNLOAD.format(PARKING), headers=bearer(token))
    assert outside.status == 403
    assert outside.headers["Content-Type"].startswith("application/problem+json")
    assert "not for dataset" in (await outside.json())["detail"]
    assert b"61.5" not in await outside.read()


async def test_sandbox_credentials_open_sample_data_only(village: Village) -> None:
    client_id = (await village.register(datasets=(CLIMATE, SAMPLE)))["client_id"]
    await village.sign_in()
    token = (await village.code_token(client_id, f"dataset:{SAMPLE}"))["access_token"]
    assert (await village.client.get(DOWNLOAD.format(SAMPLE), headers=bearer(token))).status == 200
    verifier, challenge = pkce()
    del verifier
    real = await village.client.get(
        "/oauth/authorize",
        params=authorize_params(client_id, f"dataset:{CLIMATE}", challenge),
        allow_redirects=False,
    )
    assert real.status == 302
    assert _query(real)["error"] == ["invalid_scope"]
    assert "sandbox" in _query(real)["error_description"][0]


async def test_redirect_uri_must_match_exactly_and_loopback_any_port(village: Village) -> None:
    client_id = (await village.register())["client_id"]
    await village.approve(client_id)
    await village.sign_in()
    challenge = pkce()[1]
    for wrong in (
        REDIRECT + "/../evil",
        "https://dorfapp.example/callback?x=1",
        "https://evil.example/callback",
        "http://127.0.0.1:4711/other",
    ):
        status, body = await village.consent_page(
            authorize_params(client_id, f"dataset:{CLIMATE}", challenge, redirect=wrong)
        )
        assert status == 400, (wrong, body)
        assert "redirect" in body.lower()  # the developer's reason, as reported machine text
        # ... and in German for the resident, who did nothing wrong
        assert "Die Anmeldeanfrage der App ist unvollständig oder fehlerhaft." in body
    status, _ = await village.consent_page(
        authorize_params(
            client_id, f"dataset:{CLIMATE}", challenge, redirect="http://127.0.0.1:50123/callback"
        )
    )
    assert status == 200  # a native app's loopback redirect on another port (RFC 8252 7.3)
    assert NATIVE.startswith("http://127.0.0.1:4711")


async def test_pkce_is_required_for_public_clients(village: Village) -> None:
    client_id = (await village.register())["client_id"]
    await village.approve(client_id)
    await village.sign_in()
    missing = await village.client.get(
        "/oauth/authorize",
        params=authorize_params(client_id, f"dataset:{CLIMATE}", None),
        allow_redirects=False,
    )
    assert missing.status == 302 and missing.headers["Location"].startswith(REDIRECT)
    assert _query(missing)["error"] == ["invalid_request"]
    assert "PKCE" in _query(missing)["error_description"][0]
    plain = authorize_params(client_id, f"dataset:{CLIMATE}", "a" * 43)
    plain["code_challenge_method"] = "plain"
    refused = await village.client.get("/oauth/authorize", params=plain, allow_redirects=False)
    assert _query(refused)["error"] == ["invalid_request"]

    # a code whose verifier does not match is refused at the token endpoint
    verifier, challenge = pkce()
    response = await village.allow(authorize_params(client_id, f"dataset:{CLIMATE}", challenge))
    code = _query(response)["code"][0]
    token = await village.client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": pkce()[0],
        },
    )
    assert token.status == 400 and (await token.json())["error"] == "invalid_grant"
    del verifier


async def test_consent_form_needs_its_csrf_token(village: Village) -> None:
    client_id = (await village.register())["client_id"]
    await village.approve(client_id)
    await village.sign_in()
    params = authorize_params(client_id, f"dataset:{CLIMATE}", pkce()[1])
    forged = await village.client.post(
        "/oauth/authorize",
        data={**params, "csrf": "0" * 64, "decision": "allow"},
        allow_redirects=False,
    )
    assert forged.status == 403
    assert forged.headers["Content-Type"].startswith("application/problem+json")
    assert "csrf" in (await forged.json())["detail"]
    # a token made for other parameters does not carry over (here: another scope)
    _, page = await village.consent_page(params)
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    swapped = await village.client.post(
        "/oauth/authorize",
        data={**params, "scope": f"dataset:{PARKING}", "csrf": csrf, "decision": "allow"},
        allow_redirects=False,
    )
    assert swapped.status == 403
    refused = await village.allow(params, decision="deny")
    assert refused.status == 302 and _query(refused)["error"] == ["access_denied"]


async def test_a_new_version_cannot_escalate_scopes_before_review(village: Village) -> None:
    answer = await village.register()
    client_id = answer["client_id"]
    await village.approve(client_id)
    more = village.manifest(version="2.0.0", datasets=(CLIMATE, PARKING))
    updated = await village.client.put(
        f"/oauth/register/{client_id}",
        json={
            "client_id": client_id,
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "allmende_manifest": more,
        },
        headers={"Authorization": f"Bearer {answer['registration_access_token']}"},
    )
    assert updated.status == 200
    await village.sign_in()
    escalated = await village.client.get(
        "/oauth/authorize",
        params=authorize_params(client_id, f"dataset:{PARKING}", pkce()[1]),
        allow_redirects=False,
    )
    assert escalated.status == 302
    assert _query(escalated)["error"] == ["invalid_scope"]
    assert f"dataset:{PARKING}" in _query(escalated)["error_description"][0]
    # what was approved keeps working meanwhile
    token = await village.code_token(client_id, f"dataset:{CLIMATE}")
    assert token["scope"] == f"dataset:{CLIMATE}"


async def test_sign_in_needs_a_resident_code(village: Village) -> None:
    client_id = (await village.register())["client_id"]
    params = authorize_params(client_id, f"dataset:{SAMPLE}", pkce()[1])
    status, page = await village.consent_page(params)
    assert status == 200 and 'action="/oauth/signin"' in page
    admin = village.admin["Authorization"].split()[1]
    refused = await village.client.post(
        "/oauth/signin", data={"code": admin, "next": "/oauth/authorize?x=1"}
    )
    assert refused.status == 401
    elsewhere = await village.client.post(
        "/oauth/signin", data={"code": village.resident_code(), "next": "https://evil.example/"}
    )
    assert elsewhere.status == 400
    no_cookie = await village.client.post(
        "/oauth/authorize", data={**params, "csrf": "x", "decision": "allow"}
    )
    assert no_cookie.status == 401


async def test_one_token_carries_every_dataset_the_resident_allowed(village: Village) -> None:
    from sqlmodel import Session, select

    from allmende.node.apps.models import AppUse

    client_id = (await village.register(datasets=(CLIMATE, PARKING)))["client_id"]
    agreements = (await village.approve(client_id))["agreements"]
    await village.sign_in()
    scope = f"dataset:{CLIMATE} dataset:{PARKING}"
    token = await village.code_token(client_id, scope)
    assert sorted(token["scope"].split()) == sorted(scope.split())
    access = bearer(token["access_token"])
    for dataset in (CLIMATE, PARKING):
        read = await village.client.get(DOWNLOAD.format(dataset), headers=access)
        assert read.status == 200, await read.text()
    outside = await village.client.get(DOWNLOAD.format(SAMPLE), headers=access)
    assert outside.status == 403 and "not for dataset" in (await outside.json())["detail"]
    query = await village.client.post(
        "/sparql",
        data={"query": "ASK { ?s ?p ?o }"},
        headers={**access, "Accept": "application/sparql-results+json"},
    )
    assert query.status == 200, await query.text()

    # each read was decided under its own dataset's agreement, and noted as that use
    audit = await (await village.client.get("/admin/audit", headers=village.admin)).json()
    permits = {
        (e["dataset"], e["agreement"]) for e in audit["entries"] if e["decision"] == "permit"
    }
    assert (CLIMATE, agreements[CLIMATE]) in permits and (PARKING, agreements[PARKING]) in permits
    with Session(village.node.engine) as session:
        uses = {(u.dataset_id, u.agreement_id) for u in session.exec(select(AppUse))}
    assert {(CLIMATE, agreements[CLIMATE]), (PARKING, agreements[PARKING])} <= uses
    assert not any(dataset == SAMPLE for dataset, _ in uses)

    revoked = await village.client.post(
        "/oauth/revoke", data={"token": token["access_token"], "client_id": client_id}
    )
    assert revoked.status == 200
    for dataset in (CLIMATE, PARKING):
        assert (await village.client.get(DOWNLOAD.format(dataset), headers=access)).status == 403
