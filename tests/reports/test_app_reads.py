"""An app with the scope reports:read reads the reports of the resident who allowed it
(Open311 `account_id=me` with its bearer token), held ones too, with status, note and
updates; never another resident's, and nothing without a live token of that scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from sqlmodel import Session

from allmende.node.reports.models import Report
from tests.apps.conftest import Village, bearer
from tests.federation.villages import eventually, federation
from tests.reports.conftest import INSIDE, reporting_village
from tests.reports.test_villages import configure, hold_for_release, knows_all_villages
from tests.support import admin_headers

MINE = "/open311/v2/requests.json?account_id=me"


def form(text: str) -> dict[str, str]:
    return {
        "service_code": "vandalismus",
        "lat": str(INSIDE[0]),
        "long": str(INSIDE[1]),
        "description": text,
        "acknowledge_duplicate": "true",
    }


async def test_an_app_reads_its_residents_own_reports_held_ones_too(
    tmp_path: Any, aiohttp_client: Any
) -> None:
    node, client = await reporting_village(tmp_path, aiohttp_client)
    admin = admin_headers(node)
    moderated = await client.put(
        "/admin/reports/settings", json={"moderation": True}, headers=admin
    )
    assert moderated.status == 200, await moderated.text()
    village = Village(node, client)
    app = (await village.register(datasets=(), actions=("reports:write", "reports:read")))[
        "client_id"
    ]
    await village.approve(app)
    both = "reports:write reports:read"
    await village.sign_in("anna")
    anna = (await village.code_token(app, both))["access_token"]
    await village.sign_in("bert")
    bert = (await village.code_token(app, both))["access_token"]

    async def file(token: str, text: str) -> str:
        filed = await client.post(
            "/open311/v2/requests.json", data=form(text), headers=bearer(token)
        )
        assert filed.status == 201, await filed.text()
        return str((await filed.json())[0]["token"])  # held: a token, no id yet

    annas, berts = await file(anna, "Bank beschmiert"), await file(bert, "Schild verbogen")

    async def mine(token: str) -> list[dict[str, Any]]:
        answer = await client.get(MINE, headers=bearer(token))
        assert answer.status == 200, await answer.text()
        rows: list[dict[str, Any]] = await answer.json()
        return rows

    seen = await mine(anna)
    assert [r["token"] for r in seen] == [annas]
    assert seen[0]["released"] is False and seen[0]["description"] == "Bank beschmiert"
    assert "email" not in seen[0] and "first_name" not in seen[0]
    annas_id = seen[0]["service_request_id"]
    berts_id = (await mine(bert))[0]["service_request_id"]
    assert [r["token"] for r in await mine(bert)] == [berts]
    # nobody else sees Anna's held report: not Bert, not without a token, not the public list
    public = await client.get("/open311/v2/requests.json")
    assert annas_id not in {r["service_request_id"] for r in await public.json()}
    assert (await client.get(f"/open311/v2/requests/{annas_id}.json")).status == 404
    own = f"/open311/v2/requests/{annas_id}.json?account_id=me"
    assert (await client.get(own, headers=bearer(bert))).status == 404
    anonymous = await client.get(MINE)
    assert anonymous.status == 401 and anonymous.content_type == "application/problem+json"
    assert (await client.get(own)).status == 401
    one = await client.get(own, headers=bearer(anna))
    assert one.status == 200, await one.text()
    assert (await one.json())[0]["token"] == annas
    berts_own = f"/open311/v2/requests/{berts_id}.json?account_id=me"
    assert (await client.get(berts_own, headers=bearer(anna))).status == 404

    # the village works on it: the status, its note and the update reach Anna's app
    changed = await client.post(
        f"/admin/reports/{annas_id}/status",
        json={"status": "in_bearbeitung", "note": "Bauhof ist informiert"},
        headers=admin,
    )
    assert changed.status == 200, await changed.text()
    seen = await mine(anna)
    assert seen[0]["detailed_status"] == "in_bearbeitung"
    assert seen[0]["status_notes"] == "Bauhof ist informiert"
    assert [u["description"] for u in seen[0]["updates"]] == ["Bauhof ist informiert"]
    xml = await client.get("/open311/v2/requests.xml?account_id=me", headers=bearer(anna))
    assert xml.status == 200 and "Bauhof ist informiert" in await xml.text()

    async def refused(headers: dict[str, str], status: int, words: str) -> None:
        answer = await client.get(MINE, headers=headers)
        assert answer.status == status, await answer.text()
        assert answer.content_type == "application/problem+json"
        assert words in (await answer.json())["detail"]

    writer = (await village.register(datasets=(), actions=("reports:write",)))["client_id"]
    await village.approve(writer)
    await village.sign_in("anna")
    write_only = (await village.code_token(writer, "reports:write"))["access_token"]
    await refused(bearer(write_only), 403, "reports:read")
    await refused(bearer("not-a-token"), 401, "malformed")
    await refused(admin, 403, "reports:read")
    revoked = await client.post("/oauth/revoke", data={"token": anna, "client_id": app})
    assert revoked.status == 200, await revoked.text()
    await refused(bearer(anna), 403, "revoked")
    fresh = (await village.code_token(app, both))["access_token"]
    assert [r["token"] for r in await mine(fresh)] == [annas]
    await client.post(f"/admin/apps/{app}/suspend", json={"reason": "Prüfung"}, headers=admin)
    await refused(bearer(fresh), 403, "suspended")
    other = await client.get("/open311/v2/requests.json?account_id=anna", headers=bearer(bert))
    assert other.status == 400  # only `me`: an app never names another resident


async def test_a_report_from_the_portal_form_is_the_signed_in_residents_own(
    tmp_path: Any, aiohttp_client: Any
) -> None:
    """Filed on the portal while signed in, the report is the resident's: their app reads it
    as their own; filed signed out, it is nobody's."""
    node, client = await reporting_village(tmp_path, aiohttp_client)
    village = Village(node, client)
    app = (await village.register(datasets=(), actions=("reports:read",)))["client_id"]
    await village.approve(app)
    await village.sign_in("anna")
    anna = (await village.code_token(app, "reports:read"))["access_token"]

    async def portal(text: str) -> None:
        sent = await client.post("/melden", data=form(text), allow_redirects=False)
        assert sent.status == 303, await sent.text()

    await portal("Papierkorb umgestoßen")
    client.session.cookie_jar.clear()  # signed out
    await portal("Laterne flackert")
    answer = await client.get(MINE, headers=bearer(anna))
    assert answer.status == 200, await answer.text()
    assert [r["description"] for r in await answer.json()] == ["Papierkorb umgestoßen"]


class _Served:
    """A served village's address for the OAuth helpers (which speak to a test client):
    the same calls over a session that keeps the resident's sign-in cookie."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.session.get(f"{self.url}{path}", **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.session.post(f"{self.url}{path}", **kwargs)


async def test_a_forwarded_report_is_read_by_its_residents_app_before_release(
    tmp_path: Path,
) -> None:
    """Anna's app files at Lütjenholm (A) for a place in Bredstedt (B), which holds reports
    for release: her app reads it at A, unreleased, and B's status change once it travelled."""
    jar = aiohttp.CookieJar(unsafe=True)  # the resident's sign-in on 127.0.0.1
    async with (
        federation(tmp_path) as villages,
        aiohttp.ClientSession(cookie_jar=jar) as session,
    ):
        a, b, _ = villages
        for running in villages:
            await configure(session, running)
        await hold_for_release(session, b)
        await eventually(lambda: knows_all_villages(session, a), 60, "A knows the areas")
        village = Village(a.node, _Served(session, a.url))
        app = (await village.register(datasets=(), actions=("reports:write", "reports:read")))[
            "client_id"
        ]
        await village.approve(app)
        await village.sign_in("anna")
        token = (await village.code_token(app, "reports:write reports:read"))["access_token"]
        spot = {"service_code": "vandalismus", "lat": "54.6197", "long": "8.9647"}
        async with session.post(
            f"{a.url}/open311/v2/requests.json",
            data={**spot, "description": "Bank am Deich beschmiert"},
            headers=bearer(token),
        ) as r:
            assert r.status == 201, await r.text()
            request_id = (await r.json())[0]["service_request_id"]

        async def annas() -> list[dict[str, Any]]:
            async with session.get(f"{a.url}{MINE}", headers=bearer(token)) as r:
                assert r.status == 200, await r.text()
                rows: list[dict[str, Any]] = await r.json()
                return rows

        def acknowledged() -> bool:
            with Session(a.node.engine) as s:
                row = s.get(Report, request_id)
                return (
                    row is not None and row.acknowledged is not None and row.routing == "forwarded"
                )

        await eventually(acknowledged, 30, "B's acknowledgement at A")
        seen = await annas()
        assert [r["service_request_id"] for r in seen] == [request_id]
        assert seen[0]["released"] is False  # B holds it: public nowhere, but Anna's app sees it
        async with session.get(f"{a.url}/open311/v2/requests/{request_id}.json") as r:
            assert r.status == 404
        async with session.post(
            f"{b.url}/admin/reports/{request_id}/status",
            json={"status": "in_bearbeitung", "note": "Bauhof Bredstedt informiert"},
            headers=b.admin(),
        ) as r:
            assert r.status == 200, await r.text()

        async def noted() -> bool:
            rows = await annas()
            return bool(rows) and rows[0]["status_notes"] == "Bauhof Bredstedt informiert"

        await eventually(noted, 30, "B's note in Anna's app")
        updates = (await annas())[0]["updates"]
        assert "Bauhof Bredstedt informiert" in [u["description"] for u in updates]
