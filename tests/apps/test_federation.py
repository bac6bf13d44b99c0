"""The interkommunal app store: an app one village approved appears in its neighbours'
federated directory (signed events over the federation's feed); each neighbour decides for
itself whether to take it into its own review and approve it, which the others then see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from click.testing import CliRunner

from allmende.node.auth import mint_token
from allmende.node.cli import main
from tests.federation.villages import Running, eventually, federation

MANIFEST = {
    "name": "Mängelmelder-App",
    "description": "Meldet Schäden an Straßen und Laternen an das zuständige Dorf.",
    "developer": {"id": "https://melder.example/", "name": "Melder eG"},
    "privacy_policy": "https://melder.example/datenschutz",
    "version": "1.0.0",
    "datasets": [],
    "actions": ["reports:write", "reports:read"],
}


async def _json(session: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> Any:
    async with session.request(method, url, **kw) as response:
        return response.status, await response.json()


async def _neighbours(session: aiohttp.ClientSession, running: Running) -> list[dict[str, Any]]:
    status, body = await _json(session, "GET", f"{running.url}/apps?format=json")
    assert status == 200
    found: list[dict[str, Any]] = body["neighbours"]
    return found


async def _register(session: aiohttp.ClientSession, running: Running, method: str) -> str:
    status, body = await _json(
        session,
        "POST",
        f"{running.url}/oauth/register",
        json={
            "redirect_uris": ["https://melder.example/callback"],
            "token_endpoint_auth_method": method,
            "allmende_manifest": MANIFEST,
        },
    )
    assert status == 201, body
    return str(body["client_id"])


async def test_an_approved_app_travels_to_neighbours_who_decide_themselves(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        client_id = await _register(session, a, "none")
        status, _ = await _json(
            session, "POST", f"{a.url}/admin/apps/{client_id}/approve", headers=a.admin()
        )
        assert status == 200

        async def listed_by(running: Running, source: Running) -> list[dict[str, Any]]:
            return [
                e
                for e in await _neighbours(session, running)
                if e["client_id"] == client_id and e["source"] == source.node.id
            ]

        for peer in (b, c):
            found = await eventually(
                lambda peer=peer: listed_by(peer, a), what=f"the app in {peer.village.name}"
            )
            assert found[0]["village"] == a.village.name and found[0]["here"] is None
            assert found[0]["manifest"]["actions"] == ["reports:write", "reports:read"]

        # b takes it into its own review and approves it; c does nothing
        status, adopted = await _json(
            session,
            "POST",
            f"{b.url}/admin/apps/neighbours/adopt",
            json={"source": a.node.id, "client_id": client_id},
            headers=b.admin(),
        )
        assert status == 201 and adopted["status"] == "sandbox", adopted
        assert adopted["requested_scopes"] == ["reports:read", "reports:write"]
        again = await _json(
            session,
            "POST",
            f"{b.url}/admin/apps/neighbours/adopt",
            json={"source": a.node.id, "client_id": client_id},
            headers=b.admin(),
        )
        assert again[0] == 409
        status, _ = await _json(
            session, "POST", f"{b.url}/admin/apps/{client_id}/approve", headers=b.admin()
        )
        assert status == 200
        for peer in (a, c):
            await eventually(
                lambda peer=peer: listed_by(peer, b), what=f"b's approval in {peer.village.name}"
            )
        assert (await listed_by(a, b))[0]["here"] == "approved"
        assert (await listed_by(a, b))[0]["origin"]["base"] == a.node.base_url
        status, at_c = await _json(
            session, "GET", f"{c.url}/admin/apps/{client_id}", headers=c.admin()
        )
        assert status == 404, at_c  # nobody's approval counts for c
        # b's residents use it on b's node, with the same client_id
        assert await _consent_page(b, client_id) == 200
        assert await _consent_page(c, client_id) == 400  # unknown at c: invalid_client

        # a suspends it: its listing goes, b's own approval stands
        status, _ = await _json(
            session,
            "POST",
            f"{a.url}/admin/apps/{client_id}/suspend",
            json={"reason": "Prüfung"},
            headers=a.admin(),
        )
        assert status == 200
        for peer in (b, c):
            await eventually(
                lambda peer=peer: _gone(listed_by(peer, a)), what=f"a's delisting at {peer}"
            )
        status, at_b = await _json(
            session, "GET", f"{b.url}/admin/apps/{client_id}", headers=b.admin()
        )
        assert status == 200 and at_b["status"] == "approved"
        assert len(await listed_by(c, b)) == 1

    # c's operator, from the command line on c's folder: b's listing, and adopting it from b
    folder = str(c.node.settings.directory)
    runner = CliRunner()
    listed = runner.invoke(main, ["app", "neighbours", folder])
    assert listed.exit_code == 0, listed.output
    assert f"{client_id}  Mängelmelder-App 1.0.0  by Melder eG  approved by {b.village.name}" in (
        listed.output
    )
    assert a.village.name not in listed.output  # delisted
    adopted_at_c = runner.invoke(main, ["app", "adopt", folder, b.node.id, client_id])
    assert adopted_at_c.exit_code == 0, adopted_at_c.output
    assert f"in review here: {client_id}  sandbox  Mängelmelder-App" in adopted_at_c.output
    twice = runner.invoke(main, ["app", "adopt", folder, b.node.id, client_id])
    assert twice.exit_code == 2 and "already has an app" in twice.output


async def test_only_listed_public_apps_can_be_adopted(tmp_path: Path) -> None:
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, _ = villages
        confidential = await _register(session, a, "client_secret_basic")
        await _json(
            session, "POST", f"{a.url}/admin/apps/{confidential}/approve", headers=a.admin()
        )
        unknown = await _json(
            session,
            "POST",
            f"{b.url}/admin/apps/neighbours/adopt",
            json={"source": a.node.id, "client_id": "nope"},
            headers=b.admin(),
        )
        assert unknown[0] == 404
        await eventually(
            lambda: _has(_neighbours(session, b), confidential), what="the listing at b"
        )
        status, body = await _json(
            session,
            "POST",
            f"{b.url}/admin/apps/neighbours/adopt",
            json={"source": a.node.id, "client_id": confidential},
            headers=b.admin(),
        )
        assert status == 409 and "public clients" in body["detail"]


async def _consent_page(running: Running, client_id: str) -> int:
    """A resident of `running` signs in there and opens the app's consent page."""
    code = mint_token(running.node.key, running.node.id, role="resident", subject="anwohner-1")
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": "https://melder.example/callback",
        "scope": "reports:write",
        "state": "s",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        next_path = "/oauth/authorize?x=1"
        async with browser.post(
            f"{running.url}/oauth/signin",
            data={"code": code, "next": next_path},
            allow_redirects=False,
        ) as signed_in:
            assert signed_in.status == 303
        async with browser.get(
            f"{running.url}/oauth/authorize",
            params=params,
            headers={"Accept": "text/html"},
            allow_redirects=False,
        ) as page:
            text = await page.text()
            if page.status == 200:
                assert "Mängelmelder-App" in text and "Melder eG" in text
            return page.status


async def _gone(found: Any) -> bool:
    return not await found


async def _has(found: Any, client_id: str) -> bool:
    return any(e["client_id"] == client_id for e in await found)
