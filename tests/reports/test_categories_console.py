"""The console's categories page: the operator adds, changes and retires categories with
plain forms (CSRF-checked, the admin API's checks), says which department handles each,
and ties one to the street-light registry; Open311 apps see the result."""

from __future__ import annotations

import aiohttp

from allmende.node.auth import mint_token
from tests.reports.conftest import Served
from tests.reports.test_console import csrf_of

PAGE = "/admin/console/reports/categories"


async def signed_in(session: aiohttp.ClientSession, served: Served) -> None:
    async with session.get(f"{served.url}/admin/login") as r:
        login = await r.text()
    token = mint_token(served.node.key, served.node.id)
    async with session.post(
        f"{served.url}/admin/login",
        data={"csrf_token": csrf_of(login), "token": token},
        allow_redirects=False,
    ) as r:
        assert r.status == 303, await r.text()


async def test_the_operator_keeps_the_categories_in_the_console(served: Served) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.get(f"{served.url}{PAGE}", allow_redirects=False) as r:
            assert r.status == 303  # signed out: to the sign-in form
        await signed_in(session, served)
        async with session.get(f"{served.url}{PAGE}", headers={"Accept-Language": "de"}) as r:
            page = await r.text()
        assert r.status == 200
        assert 'data-category="muell"' in page and "Bauhof" in page
        assert "Kategorie hinzufügen" in page and "Zuständige Stelle" in page
        assert 'name="viewport"' in page and "<script" not in page
        csrf = csrf_of(page)
        new = {
            "code": "gruenanlage",
            "name": "Grünanlage",
            "department": "Bauhof",
            "contact": "gruen@luetjenholm.example",
            "active": "true",
        }
        async with session.post(f"{served.url}{PAGE}", data=new, allow_redirects=False) as r:
            assert r.status in (400, 403)  # no CSRF token
        async with session.post(
            f"{served.url}{PAGE}", data={**new, "csrf_token": csrf}, allow_redirects=False
        ) as r:
            assert r.status == 303, await r.text()
        # the same code again is refused, as is a bad code; the form keeps what was typed
        async with session.post(
            f"{served.url}{PAGE}", data={**new, "name": "Park", "csrf_token": csrf}
        ) as r:
            assert r.status == 422 and "gruenanlage" in await r.text()
        async with session.post(
            f"{served.url}{PAGE}", data={**new, "code": "Grün Anlage", "csrf_token": csrf}
        ) as r:
            assert r.status == 422 and 'value="Grün Anlage"' in await r.text()
        # change: another department, tied to the street lights; its attributes stay
        changed = {**new, "existing": "true", "department": "Ordnungsamt", "streetlights": "true"}
        async with session.post(
            f"{served.url}{PAGE}", data={**changed, "csrf_token": csrf}, allow_redirects=False
        ) as r:
            assert r.status == 303
        menge = {
            "code": "muell",
            "existing": "true",
            "name": "Müll und Abfall",
            "department": "Bauhof",
            "active": "true",
        }
        async with session.post(
            f"{served.url}{PAGE}", data={**menge, "csrf_token": csrf}, allow_redirects=False
        ) as r:
            assert r.status == 303
        async with session.get(f"{served.url}/admin/reports/categories", headers=served.admin) as r:
            rows = {c["code"]: c for c in (await r.json())["categories"]}
        assert rows["gruenanlage"]["department"] == "Ordnungsamt"
        assert rows["gruenanlage"]["link"] == "/actuation/segments"
        assert rows["muell"]["name"] == "Müll und Abfall"
        assert [a["code"] for a in rows["muell"]["attributes"]] == ["menge"]
        # retire: apps no longer see it, the page says so
        async with session.post(
            f"{served.url}{PAGE}/gruenanlage/retire",
            data={"csrf_token": csrf},
            allow_redirects=False,
        ) as r:
            assert r.status == 303
        async with session.get(f"{served.open311}/services.json") as r:
            codes = [s["service_code"] for s in await r.json()]
        assert "gruenanlage" not in codes and "muell" in codes
        async with session.get(f"{served.url}{PAGE}") as r:
            page = await r.text()
        assert 'data-category="gruenanlage" data-active="false"' in page
