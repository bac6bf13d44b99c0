"""Apps register themselves (RFC 7591), manage their registration (RFC 7592), start in the
sandbox, and the operator reviews them: approval concludes signed agreements, an approved
version is frozen, a version asking for more goes back to review."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from allmende.node.usage.models import Agreement
from allmende.policies.signing import verify_document
from tests.apps.conftest import CLIMATE, DEVELOPER, PARKING, REDIRECT, SAMPLE, Village


async def test_registration_answers_client_information_and_starts_in_the_sandbox(
    village: Village,
) -> None:
    answer = await village.register(datasets=(CLIMATE, SAMPLE), actions=("reports:read",))
    assert answer["client_id"] and "client_secret" not in answer  # a public client
    assert answer["token_endpoint_auth_method"] == "none"
    assert answer["redirect_uris"][0] == REDIRECT
    assert answer["scope"] == f"dataset:{SAMPLE} dataset:{CLIMATE} reports:read"
    assert answer["allmende_status"] == "sandbox"
    assert answer["registration_client_uri"].endswith(f"/oauth/register/{answer['client_id']}")
    # the sandbox opens the sample dataset only, under a signed agreement to the developer
    app = await (
        await village.client.get(f"/admin/apps/{answer['client_id']}", headers=village.admin)
    ).json()
    assert list(app["sandbox_agreements"]) == [SAMPLE]
    assert app["approved_scopes"] == [] and app["agreements"] == {}

    confidential = await village.register(public=False)
    assert len(confidential["client_secret"]) >= 32


async def test_bad_registrations_are_refused_with_rfc7591_errors(village: Village) -> None:
    base = {"redirect_uris": [REDIRECT], "allmende_manifest": village.manifest()}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**base, "allmende_manifest": {"name": "x"}}, "allmende_manifest"),
        ({**base, "redirect_uris": ["http://dorfapp.example/cb"]}, "redirect_uris"),
        ({**base, "redirect_uris": ["https://dorfapp.example/cb#frag"]}, "redirect_uris"),
        ({**base, "grant_types": ["implicit"]}, "grant_types"),
        (
            {
                **base,
                "allmende_manifest": {
                    **village.manifest(),
                    "datasets": [{"dataset": CLIMATE, "purpose": "research", "offer": "urn:x"}],
                },
            },
            "offer",
        ),
        (
            {
                **base,
                "allmende_manifest": {**village.manifest(), "actions": ["lights:destroy"]},
            },
            "actions",
        ),
    ]
    for body, named in cases:
        response = await village.client.post("/oauth/register", json=body)
        assert response.status == 400, (body, await response.text())
        error = await response.json()
        assert error["error"] == "invalid_client_metadata", error
        assert named in error["error_description"], error


async def test_registration_management_with_the_registration_token(village: Village) -> None:
    answer = await village.register()
    uri = f"/oauth/register/{answer['client_id']}"
    token = {"Authorization": f"Bearer {answer['registration_access_token']}"}
    read = await village.client.get(uri, headers=token)
    assert read.status == 200 and (await read.json())["client_id"] == answer["client_id"]
    wrong = await village.client.get(uri, headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    assert (await wrong.json())["error"] == "invalid_client"
    deleted = await village.client.delete(uri, headers=token)
    assert deleted.status == 204
    assert (await village.client.get(uri, headers=token)).status == 401


async def test_approval_concludes_signed_agreements_and_review_states(village: Village) -> None:
    answer = await village.register(datasets=(CLIMATE,), actions=("reports:write",))
    client_id = answer["client_id"]
    approved = await village.approve(client_id)
    assert approved["status"] == "approved"
    assert approved["approved_scopes"] == [f"dataset:{CLIMATE}", "reports:write"]
    agreement_id = approved["agreements"][CLIMATE]
    with Session(village.node.engine) as session:
        agreement = session.get(Agreement, agreement_id)
    assert agreement is not None and agreement.assignee == DEVELOPER
    assert agreement.purpose == "https://w3id.org/allmende/ns#research"
    keys = {village.node.key.kid: village.node.key.public}
    verify_document(json.loads(agreement.document), keys)  # signed by the node

    suspended = await village.client.post(
        f"/admin/apps/{client_id}/suspend",
        json={"reason": "Missbrauch gemeldet"},
        headers=village.admin,
    )
    assert (await suspended.json())["status"] == "suspended"
    no_reason = await village.client.post(
        f"/admin/apps/{client_id}/reject", json={}, headers=village.admin
    )
    assert no_reason.status == 422

    other = await village.register()
    rejected = await village.client.post(
        f"/admin/apps/{other['client_id']}/reject",
        json={"reason": "Datenschutzerklärung fehlt"},
        headers=village.admin,
    )
    assert (await rejected.json())["reason"] == "Datenschutzerklärung fehlt"
    read = await village.client.get(
        f"/oauth/register/{other['client_id']}",
        headers={"Authorization": f"Bearer {other['registration_access_token']}"},
    )
    assert (await read.json())["allmende_reason"] == "Datenschutzerklärung fehlt"
    missing = await village.client.post("/admin/apps/nope/approve", headers=village.admin)
    assert missing.status == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")


async def test_approved_version_is_frozen_and_more_scopes_go_back_to_review(
    village: Village,
) -> None:
    answer = await village.register()
    client_id = answer["client_id"]
    await village.approve(client_id)
    uri = f"/oauth/register/{client_id}"
    token = {"Authorization": f"Bearer {answer['registration_access_token']}"}
    body = {
        "client_id": client_id,
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
    }
    changed = village.manifest()
    changed["description"] = "Jetzt auch mit Parkplätzen."
    frozen = await village.client.put(
        uri, json={**body, "allmende_manifest": changed}, headers=token
    )
    assert frozen.status == 400
    assert "frozen" in (await frozen.json())["error_description"]

    more = village.manifest(version="2.0.0", datasets=(CLIMATE, PARKING))
    updated = await village.client.put(uri, json={**body, "allmende_manifest": more}, headers=token)
    assert updated.status == 200, await updated.text()
    app = await (await village.client.get(f"/admin/apps/{client_id}", headers=village.admin)).json()
    assert app["review_pending"] is True and app["approved_version"] == "1.0.0"
    assert app["approved_scopes"] == [f"dataset:{CLIMATE}"]
    approved = await village.approve(client_id)
    assert approved["approved_scopes"] == [f"dataset:{PARKING}", f"dataset:{CLIMATE}"]
    assert approved["review_pending"] is False


async def test_a_software_statement_signed_by_the_node_is_believed_a_forged_one_refused(
    village: Village,
) -> None:
    from authlib.jose import jwt
    from cryptography.hazmat.primitives import serialization

    key = village.node.key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    claims = {"iss": village.node.id, "software_id": "dorf-app", "software_version": "1.0.0"}
    header = {"alg": "EdDSA", "kid": village.node.key.kid}
    statement = jwt.encode(header, claims, key).decode()
    body = {
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "software_statement": statement,
        "allmende_manifest": village.manifest(),
    }
    believed = await village.client.post("/oauth/register", json=body)
    assert believed.status == 201, await believed.text()
    assert (await believed.json())["software_id"] == "dorf-app"

    forged = await village.client.post(
        "/oauth/register", json={**body, "software_statement": statement[:-6] + "AAAAAA"}
    )
    assert forged.status == 400
    assert (await forged.json())["error"] == "invalid_software_statement"
