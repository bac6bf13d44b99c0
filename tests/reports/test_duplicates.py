"""Duplicate suggestions: an open report of the same category within the operator's radius
is named instead of filing a second one; residents support it, or file anyway."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.reports.conftest import INSIDE, Served

NEAR = (INSIDE[0] + 0.0009, INSIDE[1])  # 100 m north
FAR = (INSIDE[0] + 0.0027, INSIDE[1])  # 300 m north


async def post(
    session: aiohttp.ClientSession, served: Served, where: tuple[float, float], **extra: str
) -> tuple[int, Any]:
    form = {
        "api_key": served.api_key,
        "service_code": extra.pop("code", "muell"),
        "attribute[menge]": "viel",
        "lat": str(where[0]),
        "long": str(where[1]),
        **extra,
    }
    if form["service_code"] != "muell":
        del form["attribute[menge]"]
    async with session.post(f"{served.open311}/requests.json", data=form) as r:
        return r.status, await r.json()


async def test_a_near_open_report_is_suggested_and_supported(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        status, first = await post(session, served, INSIDE)
        assert status == 201
        first_id = first[0]["service_request_id"]
        status, refused = await post(session, served, NEAR)
        assert status == 409
        assert refused[0]["description"].startswith("100 - Duplicate")
        assert first_id in refused[0]["description"] and "100 m" in refused[0]["description"]
        async with session.get(
            f"{served.open311}/requests.json",
            params={"lat": NEAR[0], "long": NEAR[1], "radius": 250, "service_code": "muell"},
        ) as r:
            assert [q["service_request_id"] for q in await r.json()] == [first_id]
        async with session.post(
            f"{served.open311}/requests/{first_id}/support.json", data={"api_key": served.api_key}
        ) as r:
            assert r.status == 200
            assert (await r.json())[0]["supporters"] == 1
        async with session.post(
            f"{served.open311}/requests/{first_id}/support.json", data={"api_key": "falsch"}
        ) as r:
            assert r.status == 403
        # another category, farther than the radius, or acknowledged: filed
        assert (await post(session, served, NEAR, code="vandalismus"))[0] == 201
        assert (await post(session, served, FAR))[0] == 201
        assert (await post(session, served, NEAR, acknowledge_duplicate="true"))[0] == 201
        # a closed report is no duplicate
        async with session.post(
            f"{served.url}/admin/reports/{first_id}/status",
            json={"status": "erledigt"},
            headers=served.admin,
        ) as r:
            assert r.status == 200
        async with session.get(
            f"{served.open311}/requests.json",
            params={"lat": INSIDE[0], "long": INSIDE[1], "radius": 50, "service_code": "muell"},
        ) as r:
            assert await r.json() == []
