"""The operator's console page lists the reports this village handles, held ones first, and
its form sets status and note as the admin API does (CSRF-checked)."""

from __future__ import annotations

import re

import aiohttp

from allmende.node.auth import mint_token
from tests.reports.conftest import INSIDE, Served


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def test_the_console_lists_and_closes_reports(served: Served) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        form = {
            "api_key": served.api_key,
            "service_code": "vandalismus",
            "lat": str(INSIDE[0]),
            "long": str(INSIDE[1]),
            "description": "Scheibe eingeworfen",
            "email": "melder@example.org",
        }
        async with session.post(f"{served.open311}/requests.json", data=form) as r:
            request_id = (await r.json())[0]["service_request_id"]
        async with session.get(f"{served.url}/admin/login") as r:
            login = await r.text()
        token = mint_token(served.node.key, served.node.id)
        async with session.post(
            f"{served.url}/admin/login",
            data={"csrf_token": csrf_of(login), "token": token},
            allow_redirects=False,
        ) as r:
            assert r.status == 303, await r.text()
        async with session.get(f"{served.url}/admin/console/reports") as r:
            page = await r.text()
        assert r.status == 200
        assert f'data-report="{request_id}"' in page and "Scheibe eingeworfen" in page
        assert "melder@example.org" not in page  # the console shows the report, not the reporter
        async with session.post(
            f"{served.url}/admin/console/reports/{request_id}",
            data={"status": "erledigt", "note": "Scheibe ersetzt"},
            allow_redirects=False,
        ) as r:
            assert r.status in (400, 403)  # no CSRF token
        async with session.post(
            f"{served.url}/admin/console/reports/{request_id}",
            data={"csrf_token": csrf_of(page), "status": "erledigt", "note": "Scheibe ersetzt"},
            allow_redirects=False,
        ) as r:
            assert r.status == 303, await r.text()
        async with session.get(f"{served.open311}/requests/{request_id}.json") as r:
            shown = (await r.json())[0]
    assert (shown["status"], shown["status_notes"]) == ("closed", "Scheibe ersetzt")
