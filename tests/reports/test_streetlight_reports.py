"""A broken street light names its segment of the street-light registry: the portal's form
asks which of the lamps near the place it is (or none of them), Open311 apps find the
segments in the category's definition, and the operator's console shows the segment."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aiohttp
from sqlmodel import Session, select

from allmende.node.actuation.models import Segment
from allmende.node.reports.models import Report
from tests.reports.conftest import INSIDE, Served
from tests.reports.test_categories_console import signed_in

NEAR_DORFSTRASSE = ("54.6458", "8.9660")  # some 20 m from the Dorfstraße's lamps


def _segment(segment_id: str, name: str, geometry: dict[str, object]) -> Segment:
    return Segment(
        id=segment_id,
        name=name,
        controller_id="ws558-beispiel",
        kind="segment",
        geometry=json.dumps(geometry),
        lat=54.6458,
        lon=8.966,
        lamps=12,
        watts=40,
        duration=900,
        dark_from="00:30",
        dark_until="05:30",
        registered=datetime.now(UTC),
    )


async def test_a_broken_lamp_report_names_its_segment(served: Served) -> None:
    with Session(served.node.engine) as db:  # as the registry keeps them (sample data)
        db.add(
            _segment(
                "dorfstrasse",
                "Dorfstraße (Beispiel)",
                {"type": "LineString", "coordinates": [[8.9650, 54.6455], [8.9672, 54.6462]]},
            )
        )
        db.add(
            _segment(
                "hafen",
                "Hafen (Beispiel)",
                {"type": "Point", "coordinates": [8.99, 54.66]},  # far away
            )
        )
        db.commit()
    form = {
        "service_code": "strassenlicht",
        "lat": NEAR_DORFSTRASSE[0],
        "long": NEAR_DORFSTRASSE[1],
        "description": "Lampe aus",
    }
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.post(
            f"{served.url}/melden", data=form, headers={"Accept-Language": "de"}
        ) as r:
            page = await r.text()
        assert r.status == 409
        assert "Welche Straßenlampe ist defekt?" in page
        assert 'value="dorfstrasse"' in page and 'value="hafen"' not in page
        async with session.post(
            f"{served.url}/melden", data={**form, "attribute[segment]": "nirgendwo"}
        ) as r:
            assert r.status == 400  # no such street light
        async with session.post(
            f"{served.url}/melden",
            data={**form, "attribute[segment]": "dorfstrasse"},
            allow_redirects=False,
        ) as r:
            assert r.status == 303, await r.text()
        # "none of these": filed without a segment; another category is never asked
        async with session.post(
            f"{served.url}/melden",
            data={**form, "attribute[segment]": "-", "acknowledge_duplicate": "true"},
            allow_redirects=False,
        ) as r:
            assert r.status == 303
        async with session.post(
            f"{served.url}/melden",
            data={**form, "service_code": "vandalismus"},
            allow_redirects=False,
        ) as r:
            assert r.status == 303
        # Open311 apps: the segments are a value list of the category's definition
        async with session.get(f"{served.open311}/services/strassenlicht.json") as r:
            [segment] = [a for a in (await r.json())["attributes"] if a["code"] == "segment"]
        assert {v["key"] for v in segment["values"]} == {"dorfstrasse", "hafen"}
        async with session.post(
            f"{served.open311}/requests.json",
            data={
                "api_key": served.api_key,
                "service_code": "strassenlicht",
                "lat": str(INSIDE[0]),
                "long": str(INSIDE[1]),
                "attribute[segment]": "hafen",
                "acknowledge_duplicate": "true",
            },
        ) as r:
            assert r.status == 201, await r.text()
        with Session(served.node.engine) as db:
            named = sorted(
                json.loads(row.attributes).get("segment", "")
                for row in db.exec(select(Report).where(Report.service_code == "strassenlicht"))
            )
        assert named == ["", "dorfstrasse", "hafen"]
        # the operator sees the segment on the report
        await signed_in(session, served)
        async with session.get(f"{served.url}/admin/console/reports") as r:
            console = await r.text()
        assert console.count('data-segment="dorfstrasse"') == 1
        assert "Dorfstraße (Beispiel)" in console and 'data-segment="hafen"' in console
