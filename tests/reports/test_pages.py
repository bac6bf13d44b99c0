"""The portal's report form works without JavaScript (a plain form post), lands on the
reporter's status page, and the public list shows the report and its status; in plain
German by default, in English on request; nothing of the reporter on the public pages."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp
from sqlmodel import Session, select

from allmende.node.reports.models import Report
from tests.reports.conftest import Served
from tests.reports.test_photos import bomb


async def test_report_through_the_form_and_follow_it(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{served.url}/melden") as r:
            page = await r.text()
        assert r.status == 200
        assert "Mangel melden" in page and 'name="service_code"' in page
        assert "Straßenbeleuchtung defekt" in page and "Breitengrad (z. B. 54,6467)" in page
        form = {
            "service_code": "vandalismus",
            "lat": "54,6467",  # as a German keyboard writes it
            "long": "8,9656",
            "description": "Bank beschmiert, meldet sich bei 0171 2345678",
            "email": "paula@example.org",
        }
        async with session.post(f"{served.url}/melden", data=form, allow_redirects=False) as r:
            assert r.status == 303, await r.text()
            status_url = served.url + r.headers["Location"]
        assert re.fullmatch(r".*/meldungen/status/[0-9a-f]{16}", status_url)
        async with session.get(status_url) as r:
            page = await r.text()
        assert "Ihre Meldung" in page and 'data-status="offen"' in page and ">offen<" in page
        async with session.get(f"{served.url}/meldungen") as r:
            listing = await r.text()
        [request_id] = re.findall(r'data-report="([0-9a-f]+)"', listing)
        async with session.post(
            f"{served.url}/admin/reports/{request_id}/status",
            json={"status": "erledigt", "note": "gereinigt"},
            headers=served.admin,
        ) as r:
            assert r.status == 200
        async with session.get(status_url) as r:
            page = await r.text()
        assert 'data-status="erledigt"' in page and "gereinigt" in page
        async with session.get(f"{served.url}/meldungen") as r:
            listing = await r.text()
        async with session.get(f"{served.url}/meldungen/karte.geojson") as r:
            points = await r.json()
        async with session.get(f"{served.url}/meldungen?lang=en") as r:
            english = await r.text()
    assert 'data-status="erledigt"' in listing and "gereinigt" in listing
    assert points["features"][0]["geometry"]["coordinates"] == [8.9656, 54.6467]
    assert points["features"][0]["properties"]["name"] == "Vandalismus: erledigt"
    for text in (listing, page, str(points)):
        assert "paula" not in text and "2345678" not in text
    assert "What residents reported" in english and ">done<" in english


async def test_the_form_says_what_is_wrong(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        data = aiohttp.FormData()
        data.add_field("service_code", "vandalismus")
        data.add_field("lat", "54.6467")
        data.add_field("long", "8.9656")
        data.add_field("media", bomb(), filename="bild.png", content_type="image/png")
        async with session.post(f"{served.url}/melden", data=data) as r:
            page = await r.text()
        assert r.status == 400 and "text/html" in r.headers["Content-Type"]
        assert "Die Meldung konnte nicht gesendet werden" in page and "megapixels" in page
        async with session.post(
            f"{served.url}/melden", data={"service_code": "vandalismus", "lat": "54,6467"}
        ) as r:
            assert r.status == 400
            assert 'value="54.6467"' in await r.text()  # what was typed stays in the form


async def test_reports_per_category_with_the_median_time_to_fix(served: Served) -> None:
    ids = []
    async with aiohttp.ClientSession() as session:
        for code in ("vandalismus", "vandalismus", "vandalismus", "strassenlicht"):
            form = {
                "service_code": code,
                "lat": "54.6467",
                "long": "8.9656",
                "acknowledge_duplicate": "true",
            }
            async with session.post(f"{served.url}/melden", data=form, allow_redirects=False) as r:
                assert r.status == 303
        with Session(served.node.engine) as db:
            rows = db.exec(select(Report).where(Report.service_code == "vandalismus")).all()
            ids = [row.id for row in rows]
            for days, row in zip((1, 3, 5), rows, strict=True):
                row.requested = row.requested - timedelta(days=days)
                db.add(row)
            db.commit()
        for request_id in ids:  # closing publishes them with their (earlier) report time
            async with session.post(
                f"{served.url}/admin/reports/{request_id}/status",
                json={"status": "erledigt"},
                headers=served.admin,
            ) as r:
                assert r.status == 200
        await served.node.projected()
        async with session.get(f"{served.url}/meldungen") as r:
            page = await r.text()
    vandalism = page[page.index('data-category="Vandalismus"') :].split("</tr>")[0]
    assert re.findall(r"<td>(\d+)</td>", vandalism) == ["3"] and "3 Tage" in vandalism
    assert re.search(r"</span> 3</td>", vandalism)
    lights = page[page.index('data-category="Straßenbeleuchtung defekt"') :].split("</tr>")[0]
    assert "<td data-median>–</td>" in lights
