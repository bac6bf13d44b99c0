"""The reports as an open dataset in the village's catalog (DCAT-AP.de, as the catalog checks
every entry), with the reports page as landing page; publishing again updates the entry."""

from __future__ import annotations

import aiohttp

from tests.reports.conftest import Served


async def test_the_reports_are_listed_in_the_catalog(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{served.url}/admin/reports/dataset", json={"contact": "x"}, headers=served.admin
        ) as r:
            assert r.status == 400
        for _ in range(2):  # a second time updates the entry
            async with session.post(
                f"{served.url}/admin/reports/dataset",
                json={"contact": "ordnungsamt@luetjenholm.example"},
                headers=served.admin,
            ) as r:
                assert r.status == 200, await r.text()
                entry = (await r.json())["dataset"]
        async with session.get(f"{served.url}/catalog", headers={"Accept": "text/turtle"}) as r:
            catalog = await r.text()
    assert entry["id"] == "maengelmeldungen"
    assert entry["landing_page"] == f"{served.url}/meldungen"
    assert "Mängelmeldungen Lütjenholm" in catalog
    assert f"{served.url}/meldungen" in catalog
