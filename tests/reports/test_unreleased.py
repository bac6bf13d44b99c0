"""Nothing of a forwarded report is public before it is released: Bredstedt (B) holds reports
for release, Lütjenholm (A) forwards one to it with a photo. Until B releases it, neither
A nor B nor Calsum (C) shows its text on any read path: Open311 (list, one, updates,
token), the portal's list and map, the photo, SPARQL over the store, and the federation
feed every member (and anyone) reads, which carries its contents sealed to B. Then A holds
reports too and B does not: B still holds A's next report. Once released, A and B show it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from sqlmodel import Session, select

from allmende.node.reports.models import Report
from tests.federation.villages import Running, eventually, federation
from tests.reports.test_photos import phone_photo
from tests.reports.test_villages import (
    app_key,
    configure,
    console,
    hold_for_release,
    knows_all_villages,
)

MARKER = "Sperrmuell-XQ7 am Deich, Ruf 0171 2345678"
SECRET = "Sperrmuell-XQ7"
SPOT = {"lat": "54.6197", "long": "8.9647"}  # Bredstedt's demo spot


async def _text(session: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, str]:
    async with session.get(url, params=params) as r:
        return r.status, (await r.read()).decode("utf-8", "replace")


async def whole_feed(session: aiohttp.ClientSession, base: str) -> str:
    """Every page of a village's federation feed, as anyone may read it."""
    pages, after = [], 0
    while True:
        async with session.get(f"{base}/federation/events", params={"after": after}) as r:
            assert r.status == 200, await r.text()
            pages.append(await r.text())
            body = await r.json()
        if body["next"] >= body["head"] or body["next"] == after:
            return "\n".join(pages)
        after = body["next"]


async def public_views(
    session: aiohttp.ClientSession, running: Running, request_id: str
) -> dict[str, tuple[int, str]]:
    """Every public read path of a village, as an anonymous visitor sees it."""
    base = running.url
    views = {
        "requests": await _text(session, f"{base}/open311/v2/requests.json"),
        "requests.xml": await _text(session, f"{base}/open311/v2/requests.xml"),
        "one": await _text(session, f"{base}/open311/v2/requests/{request_id}.json"),
        "near": await _text(session, f"{base}/open311/v2/requests.json", radius="500", **SPOT),
        "updates": await _text(
            session,
            f"{base}/open311/v2/servicerequestupdates.json",
            start_date="2020-01-01T00:00:00Z",
        ),
        "list": await _text(session, f"{base}/meldungen"),
        "map": await _text(session, f"{base}/meldungen/karte.geojson"),
        "photo": await _text(session, f"{base}/reports/photos/{request_id}.jpg"),
        "feed": (200, await whole_feed(session, base)),
        "sparql": await _text(
            session,
            f"{base}/sparql",
            query="SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
        ),
    }
    return views


def assert_hidden(views: dict[str, tuple[int, str]], request_id: str, where: str) -> None:
    for name, (_status, text) in views.items():
        assert SECRET not in text, f"{where} {name} shows the held report's text"
        if name not in ("feed", "one", "photo"):  # the feed names it; 404s name what is missing
            assert request_id not in text, f"{where} {name} names the report"
    assert views["one"][0] == 404, where
    assert views["photo"][0] == 404, where
    assert '"features": []' in views["map"][1], where


async def test_a_forwarded_report_is_public_nowhere_before_release(tmp_path: Path) -> None:
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        for running in villages:
            await configure(session, running)
        await hold_for_release(session, b)
        key = await app_key(session, a)
        await eventually(lambda: knows_all_villages(session, a), 60, "A knows the areas")
        form = aiohttp.FormData()
        for name, value in {
            "api_key": key,
            "service_code": "vandalismus",
            "description": MARKER,
            "email": "erika@example.org",
            **SPOT,
        }.items():
            form.add_field(name, value)
        form.add_field("media", phone_photo(), filename="IMG_1.jpg", content_type="image/jpeg")
        async with session.post(f"{a.url}/open311/v2/requests.json", data=form) as r:
            assert r.status == 201, await r.text()
            request_id = (await r.json())[0]["service_request_id"]

        async def held_at_b() -> Any:
            rows = [q for q in await console(session, b) if q["service_request_id"] == request_id]
            return rows[0] if rows else None

        held = await eventually(held_at_b, 30, "the report in B's queue")
        assert held["released"] is False and "[Telefonnummer entfernt]" in held["description"]

        def acknowledged() -> Report | None:
            with Session(a.node.engine) as s:
                row = s.get(Report, request_id)
                return row if row is not None and row.acknowledged is not None else None

        row_at_a = await eventually(acknowledged, 30, "B's acknowledgement at A")
        assert row_at_a.released is False  # B holds it, so A does not show it either
        # the feed carries the forwarding, its contents sealed to B
        feed = await whole_feed(session, a.url)
        assert request_id in feed and '"sealed"' in feed
        for running in (a, b, c):
            await running.node.projected()
            assert_hidden(await public_views(session, running, request_id), request_id, running.url)

        # A holds reports for release too, B no longer: A's next report waits at B all the same
        for running, moderated in ((a, True), (b, False)):
            async with session.put(
                f"{running.url}/admin/reports/settings",
                json={"moderation": moderated},
                headers=running.admin(),
            ) as r:
                assert r.status == 200
        second = {"api_key": key, "service_code": "muell", "attribute[menge]": "viel", **SPOT}
        second["description"] = f"{SECRET} zweite Meldung"
        async with session.post(f"{a.url}/open311/v2/requests.json", data=second) as r:
            assert r.status == 201, await r.text()
            token = (await r.json())[0]["token"]
        with Session(a.node.engine) as s:
            second_id = s.exec(select(Report.id).where(Report.token == token)).one()

        async def second_held_at_b() -> Any:
            rows = [q for q in await console(session, b) if q["service_request_id"] == second_id]
            return rows[0] if rows else None

        assert (await eventually(second_held_at_b, 30, "the second in B's queue"))[
            "released"
        ] is False
        status, text = await _text(session, f"{b.url}/open311/v2/requests/{second_id}.json")
        assert status == 404 and SECRET not in text
        status, text = await _text(session, f"{a.url}/open311/v2/tokens/{token}.json")
        assert '"service_request_id": null' in text.replace('":null', '": null')

        # B releases the first: both villages show it, with its photo at A
        async with session.post(
            f"{b.url}/admin/reports/{request_id}/status",
            json={"status": "in_bearbeitung", "note": "freigegeben"},
            headers=b.admin(),
        ) as r:
            assert r.status == 200

        async def shown(running: Running) -> bool:
            status, text = await _text(session, f"{running.url}/open311/v2/requests.json")
            listing = (await _text(session, f"{running.url}/meldungen"))[1]
            return status == 200 and SECRET in text and f'data-report="{request_id}"' in listing

        await eventually(lambda: shown(b), 30, "released at B")
        await eventually(lambda: shown(a), 30, "shown at A")
        status, _ = await _text(session, f"{a.url}/reports/photos/{request_id}.jpg")
        assert status == 200
