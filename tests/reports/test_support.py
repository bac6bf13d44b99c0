"""Support ("me too") of a report forwarded from Lütjenholm (A) to Bredstedt (B): given at A,
it reaches B over the federation, each person once (account, device or e-mail within an
app), and B's open dataset counts it; who supported never leaves A."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
from sqlmodel import Session

from allmende.node.reports.models import Report
from tests.federation.villages import Running, eventually, federation
from tests.reports.conftest import INSIDE, Served
from tests.reports.test_unreleased import SPOT, whole_feed
from tests.reports.test_villages import app_key, configure, knows_all_villages


async def _supporters(session: aiohttp.ClientSession, running: Running, request_id: str) -> int:
    async with session.get(f"{running.url}/open311/v2/requests/{request_id}.json") as r:
        if r.status != 200:
            return -1
        return int((await r.json())[0]["supporters"])


async def test_support_at_the_origin_reaches_the_village_responsible(tmp_path: Path) -> None:
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        for running in villages:
            await configure(session, running)
        key_a, key_b = await app_key(session, a), await app_key(session, b)
        await eventually(lambda: knows_all_villages(session, a), 60, "A knows the areas")
        form = {"api_key": key_a, "service_code": "vandalismus", "description": "Graffiti", **SPOT}
        async with session.post(f"{a.url}/open311/v2/requests.json", data=form) as r:
            assert r.status == 201, await r.text()
            request_id = (await r.json())[0]["service_request_id"]

        def released_at_a() -> bool:
            with Session(a.node.engine) as s:
                row = s.get(Report, request_id)
                return row is not None and row.released

        await eventually(released_at_a, 30, "B's acknowledgement at A")

        async def support(running: Running, key: str, **who: str) -> int:
            async with session.post(
                f"{running.url}/open311/v2/requests/{request_id}/support.json",
                data={"api_key": key, **who},
            ) as r:
                assert r.status == 200, await r.text()
                return int((await r.json())[0]["supporters"])

        assert await support(a, key_a, device_id="geraet-1") == 1
        assert await support(a, key_a, device_id="geraet-1") == 1  # the same person again
        assert await support(a, key_a, device_id="geraet-2") == 2
        assert await support(a, key_a, email="Erika@Example.org") == 3
        assert await support(a, key_a, email="erika@example.org") == 3

        async def three_at_b() -> bool:
            return await _supporters(session, b, request_id) == 3

        await eventually(three_at_b, 30, "A's three supporters counted at B")
        # B's own residents add to it; B's open dataset, pooled at C, says so
        assert await support(b, key_b, device_id="geraet-9") == 4
        query = (
            "PREFIX a: <https://w3id.org/allmende/ns#> SELECT ?n WHERE { "
            f"GRAPH <{b.url}/graphs/reports/{request_id}> {{ ?r a:supporters ?n }} }}"
        )

        async def counted_at_c() -> Any:
            async with session.get(
                f"{c.url}/sparql",
                params={"query": query},
                headers={"Accept": "application/sparql-results+json"},
            ) as r:
                rows = (await r.json())["results"]["bindings"]
            return rows and rows[0]["n"]["value"] == "4"

        await eventually(counted_at_c, 30, "four supporters in the pooled dataset")
        assert await _supporters(session, b, request_id) == 4
        # nobody who supported is named outside A
        feed = await whole_feed(session, a.url)
        assert '"support_id"' in feed
        for who in ("geraet-1", "geraet-2", "erika"):
            assert who not in feed.lower()


async def test_a_visitor_supports_a_suggested_report_on_the_portal_once(served: Served) -> None:
    form = {"service_code": "vandalismus", "lat": str(INSIDE[0]), "long": str(INSIDE[1])}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{served.url}/melden", data=form, allow_redirects=False) as r:
            assert r.status == 303
        async with session.post(
            f"{served.url}/melden", data=form, headers={"Accept-Language": "de"}
        ) as r:
            page = await r.text()
        assert r.status == 409 and "Diese Meldung unterstützen" in page
        action = re.search(r'action="(/meldungen/(\w+)/unterstuetzen)"', page)
        assert action is not None
        for _ in range(2):
            async with session.post(served.url + action.group(1), allow_redirects=False) as r:
                assert r.status == 303
        async with session.get(
            served.url + r.headers["Location"], headers={"Accept-Language": "de"}
        ) as r:
            assert "Ihre Unterstützung ist gezählt" in await r.text()
        async with session.get(f"{served.open311}/requests/{action.group(2)}.json") as r:
            assert (await r.json())[0]["supporters"] == 1
        async with session.post(f"{served.url}/meldungen/0/unterstuetzen") as r:
            assert r.status == 404
