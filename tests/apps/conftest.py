"""A village with restricted datasets and the helpers an app developer would write: register
(RFC 7591), sign a resident in, consent, and exchange the code with PKCE (RFC 7636)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from allmende.node.auth import mint_token
from allmende.node.catalog import service
from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from allmende.node.usage.agreements import dataset_offer
from allmende.policies.templates import template_document
from tests.ingest.conftest import dataset_body
from tests.support import admin_headers, make_node

CLIMATE, PARKING, SAMPLE = "raumklima-dgh", "parken-dorfplatz", "beispiel-klima"
FILE_CONTENT = b"zeit,feuchte\n2024-05-14T08:15:00Z,61.5\n"
REDIRECT = "https://dorfapp.example/callback"
NATIVE = "http://127.0.0.1:4711/callback"
DEVELOPER = "https://dorfapp.example/"


@dataclass
class Village:
    node: Node
    client: Any

    @property
    def admin(self) -> dict[str, str]:
        return admin_headers(self.node)

    def offer(self, dataset: str) -> str:
        offer = dataset_offer(self.node, dataset)
        return str(offer.get("uid") or offer.get("@id"))

    def manifest(
        self,
        *,
        version: str = "1.0.0",
        datasets: tuple[str, ...] = (CLIMATE,),
        actions: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        return {
            "name": "Dorf-App",
            "description": "Zeigt das Raumklima im Dorfgemeinschaftshaus.",
            "developer": {"id": DEVELOPER, "name": "Dorfapp GmbH", "email": "dev@dorfapp.example"},
            "homepage": "https://dorfapp.example/",
            "privacy_policy": "https://dorfapp.example/datenschutz",
            "icon": "https://dorfapp.example/icon.png",
            "version": version,
            "datasets": [
                {"dataset": d, "purpose": "research", "offer": self.offer(d)} for d in datasets
            ],
            "actions": list(actions),
        }

    async def register(self, public: bool = True, **manifest: Any) -> dict[str, Any]:
        body = {
            "redirect_uris": [REDIRECT, NATIVE],
            "token_endpoint_auth_method": "none" if public else "client_secret_basic",
            "allmende_manifest": self.manifest(**manifest),
        }
        response = await self.client.post("/oauth/register", json=body)
        assert response.status == 201, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer

    async def approve(self, client_id: str) -> dict[str, Any]:
        response = await self.client.post(f"/admin/apps/{client_id}/approve", headers=self.admin)
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer

    def resident_code(self, name: str = "anwohnerin-7") -> str:
        return mint_token(self.node.key, self.node.id, role="resident", subject=name)

    async def sign_in(self, name: str = "anwohnerin-7") -> None:
        response = await self.client.post(
            "/oauth/signin",
            data={"code": self.resident_code(name), "next": "/oauth/authorize?x=1"},
            allow_redirects=False,
        )
        assert response.status == 303, await response.text()

    async def consent_page(self, params: dict[str, str]) -> tuple[int, str]:
        response = await self.client.get(
            "/oauth/authorize",
            params=params,
            allow_redirects=False,
            headers={"Accept": "text/html"},
        )
        return response.status, await response.text()

    async def allow(self, params: dict[str, str], decision: str = "allow") -> Any:
        status, page = await self.consent_page(params)
        assert status == 200, page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert csrf is not None, page
        return await self.client.post(
            "/oauth/authorize",
            data={**params, "csrf": csrf.group(1), "decision": decision},
            allow_redirects=False,
        )

    async def code_token(self, client_id: str, scope: str) -> dict[str, Any]:
        """The whole dance a public web app does: PKCE, consent, code, token."""
        verifier, challenge = pkce()
        params = authorize_params(client_id, scope, challenge)
        response = await self.allow(params)
        assert response.status == 302, await response.text()
        location = parse_qs(urlsplit(response.headers["Location"]).query)
        assert location["state"] == ["s-1"], location
        token = await self.client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": location["code"][0],
                "redirect_uri": REDIRECT,
                "client_id": client_id,
                "code_verifier": verifier,
            },
        )
        assert token.status == 200, await token.text()
        answer: dict[str, Any] = await token.json()
        return answer


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_params(
    client_id: str, scope: str, challenge: str | None, redirect: str = REDIRECT
) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect,
        "scope": scope,
        "state": "s-1",
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return params


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


VillageFactory = Callable[[], Any]


@pytest.fixture
async def village(tmp_path: Path, aiohttp_client: Any) -> Village:
    node = make_node(tmp_path / "village", node_id="https://luetjenholm.example/")
    for dataset_id in (CLIMATE, PARKING, SAMPLE):
        body = {
            **dataset_body(dataset_id),
            "license": "other-closed",
            "policy": template_document("research-only", assigner=node.id),
        }
        if dataset_id != SAMPLE:
            body["title"] = {"de": f"Datensatz {dataset_id}", "en": f"Dataset {dataset_id}"}
        await service.create(node, body)
    client = await aiohttp_client(create_app(node))
    for dataset_id in (CLIMATE, PARKING, SAMPLE):
        uploaded = await client.post(
            f"/admin/datasets/{dataset_id}/distributions?file_name=feuchte.csv",
            data=FILE_CONTENT,
            headers={**admin_headers(node), "Content-Type": "text/csv"},
        )
        assert uploaded.status == 201, await uploaded.text()
    return Village(node, client)
