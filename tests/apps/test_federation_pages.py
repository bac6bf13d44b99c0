"""The interkommunal app store for people, not only for API clients: a resident of a
neighbouring village sees the apps other villages approved on the /apps page, and the
operator adopts one from the console with one button (a plain form, CSRF-protected)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import aiohttp

from allmende.node.auth import mint_token
from tests.apps.test_federation import MANIFEST, _has, _json, _neighbours
from tests.federation.villages import Running, eventually, federation
from tests.web.test_console import csrf_of


async def _register(
    session: aiohttp.ClientSession, running: Running, method: str, name: str
) -> str:
    manifest = {**MANIFEST, "name": name}
    status, body = await _json(
        session,
        "POST",
        f"{running.url}/oauth/register",
        json={
            "redirect_uris": ["https://melder.example/callback"],
            "token_endpoint_auth_method": method,
            "allmende_manifest": manifest,
        },
    )
    assert status == 201, body
    client_id = str(body["client_id"])
    status, _ = await _json(
        session, "POST", f"{running.url}/admin/apps/{client_id}/approve", headers=running.admin()
    )
    assert status == 200
    return client_id


async def _console(running: Running) -> aiohttp.ClientSession:
    """A browser signed in to `running`'s console (cookies for 127.0.0.1 kept)."""
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with browser.get(f"{running.url}/admin/login") as form:
        csrf = csrf_of(await form.text())
    token = mint_token(running.node.key, running.node.id)
    async with browser.post(
        f"{running.url}/admin/login",
        data={"csrf_token": csrf, "token": token},
        allow_redirects=False,
    ) as signed_in:
        assert signed_in.status == 303
    return browser


def _section(page: str, ident: str) -> str:
    match = re.search(rf'<section class="app" id="{re.escape(ident)}">(.*?)</section>', page, re.S)
    assert match, f"the page has a section {ident}"
    return match.group(1)


async def test_neighbours_apps_on_the_pages_and_adopted_from_the_console(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, _ = villages
        public = await _register(session, a, "none", "Mängelmelder-App")
        secret = await _register(session, a, "client_secret_basic", "Geheim-App")
        for client_id in (public, secret):
            await eventually(
                lambda client_id=client_id: _has(_neighbours(session, b), client_id),
                what=f"{client_id} listed at b",
            )

        # a resident of b sees both on b's app directory, as a's apps, with what they use
        async with session.get(f"{b.url}/apps", headers={"Accept": "text/html"}) as response:
            assert response.status == 200
            page = html.unescape(await response.text())
        assert "Apps aus Nachbargemeinden" in page
        neighbours = page.split("Apps aus Nachbargemeinden", 1)[1]
        assert "Mängelmelder-App" in neighbours and "Geheim-App" in neighbours
        assert f"freigegeben von {a.village.name}" in neighbours
        assert "Melder eG" in neighbours
        assert f'href="{a.node.base_url}/apps#app-{public}"' in neighbours
        assert "Mängelmeldungen in Ihrem Namen abgeben" in neighbours  # reports:write in words

        # b's operator adopts the public one with the console's button
        browser = await _console(b)
        try:
            async with browser.get(f"{b.url}/admin/console/apps") as response:
                console = html.unescape(await response.text())
            mine = _section(console, f"neighbour-{a.node.id}-{public}")
            assert 'value="adopt"' in mine and "Übernehmen" in mine
            theirs = _section(console, f"neighbour-{a.node.id}-{secret}")
            assert 'value="adopt"' not in theirs and "Client-Secret" in theirs

            forged = await browser.post(
                f"{b.url}/admin/console/apps",
                data={
                    "csrf_token": "x",
                    "action": "adopt",
                    "source": a.node.id,
                    "client_id": public,
                },
                allow_redirects=False,
            )
            assert forged.status in (400, 403)
            status, _ = await _json(
                session, "GET", f"{b.url}/admin/apps/{public}", headers=b.admin()
            )
            assert status == 404  # nothing adopted by a forged form

            form = {"csrf_token": csrf_of(console), "action": "adopt", "source": a.node.id}
            async with browser.post(
                f"{b.url}/admin/console/apps",
                data={**form, "client_id": public},
                allow_redirects=False,
            ) as adopted:
                assert adopted.status == 303
            status, app = await _json(
                session, "GET", f"{b.url}/admin/apps/{public}", headers=b.admin()
            )
            assert status == 200 and app["status"] == "sandbox", app
            assert app["requested_scopes"] == ["reports:read", "reports:write"]

            async with browser.get(f"{b.url}/admin/console/apps") as response:
                console = html.unescape(await response.text())
            assert "in der Sandbox, wartet auf Prüfung" in _section(console, f"app-{public}")
            assert 'value="adopt"' not in _section(console, f"neighbour-{a.node.id}-{public}")

            async with browser.post(
                f"{b.url}/admin/console/apps",
                data={**form, "client_id": secret},
                allow_redirects=False,
            ) as refused:
                assert refused.status == 422
                said = html.unescape(await refused.text())
            assert "nur öffentliche Clients" in said  # the reason, in German
            status, _ = await _json(
                session, "GET", f"{b.url}/admin/apps/{secret}", headers=b.admin()
            )
            assert status == 404
        finally:
            await browser.close()
