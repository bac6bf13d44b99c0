"""The photo of a report forwarded from Lütjenholm (A) reaches Bredstedt (B): B fetches it
from A's address in its trust list with a token signed by its node key, re-encodes it and
serves it as its own. A gives it to B only: no token, a token of Calsum (C) or one naming
another report is refused."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from PIL import Image
from sqlmodel import Session

from allmende.node.auth import mint_token
from allmende.node.db import transaction
from allmende.node.reports import events
from allmende.node.reports.models import Report
from tests.federation.villages import eventually, federation
from tests.reports.test_photos import GPS_IFD, phone_photo
from tests.reports.test_unreleased import SPOT
from tests.reports.test_villages import app_key, configure, knows_all_villages
from tests.services.ports import free_port


async def test_the_photo_of_a_forwarded_report_reaches_the_village_responsible(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        for running in villages:
            await configure(session, running)
        key = await app_key(session, a)
        await eventually(lambda: knows_all_villages(session, a), 60, "A knows the areas")
        form = aiohttp.FormData()
        for name, value in {"api_key": key, "service_code": "vandalismus", **SPOT}.items():
            form.add_field(name, value)
        form.add_field("media", phone_photo(), filename="IMG_1.jpg", content_type="image/jpeg")
        async with session.post(f"{a.url}/open311/v2/requests.json", data=form) as r:
            assert r.status == 201, await r.text()
            request_id = (await r.json())[0]["service_request_id"]

        def photo_at_b() -> str | None:
            with Session(b.node.engine) as s:
                row = s.get(Report, request_id)
                url = row.media_url if row is not None else ""
                return url if url.startswith(b.url) else None

        url = await eventually(photo_at_b, 30, "the photo kept at B")
        assert url == f"{b.url}/reports/photos/{request_id}.jpg"
        async with session.get(url) as r:
            assert r.status == 200 and r.content_type == "image/jpeg"
            image = Image.open(io.BytesIO(await r.read()))
        assert max(image.size) <= 2048 and not image.getexif().get_ifd(GPS_IFD)
        async with session.get(f"{b.url}/open311/v2/requests/{request_id}.json") as r:
            assert (await r.json())[0]["media_url"] == url

        # A's side: only B, with its own signed token naming this report
        at_a = f"{a.url}/federation/reports/{request_id}/photo"
        async with session.get(at_a) as r:
            assert r.status == 401 and r.content_type == "application/problem+json"

        def token(signer: object, subject: str) -> dict[str, str]:
            node = signer.node  # type: ignore[attr-defined]
            minted = mint_token(
                node.key, a.node.id, role="participant", subject=subject, issuer=node.id
            )
            return {"Authorization": f"Bearer {minted}"}

        async with session.get(at_a, headers=token(c, request_id)) as r:
            assert r.status == 403, await r.text()
        async with session.get(at_a, headers=token(b, "0123456789ab")) as r:
            assert r.status == 403
        async with session.get(at_a, headers=token(b, request_id)) as r:
            assert r.status == 200


async def test_the_photo_is_asked_for_only_at_the_trusted_address(tmp_path: Path) -> None:
    """A forwarded report whose media_url names another server (here a trap on loopback):
    B asks A at A's address in its trust list, never the trap, and keeps no photo."""
    trap_hits: list[str] = []

    async def trap(request: web.Request) -> web.Response:
        trap_hits.append(request.path)
        return web.Response(body=phone_photo(), content_type="image/jpeg")

    trap_app = web.Application()
    trap_app.router.add_get("/{tail:.*}", trap)
    runner = web.AppRunner(trap_app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
            a, b, _ = villages
            for running in villages:
                await configure(session, running)
            await eventually(lambda: knows_all_villages(session, a), 60, "A knows the areas")
            peers = {p.id: p.keys for p in a.app.get("federation_trust").peers()}
            report = Report(
                id="a1b2c3d4e5f6",
                token="a1b2c3d4e5f6",
                origin=a.node.id,
                responsible=b.node.id,
                service_code="vandalismus",
                service_name="Vandalismus",
                lat=float(SPOT["lat"]),
                long=float(SPOT["long"]),
                media_url=f"http://127.0.0.1:{port}/private/secret.jpg",
                status="offen",
                routing="forwarded",
                requested=datetime.now(UTC),
                updated=datetime.now(UTC),
                released=False,
            )

            def forward() -> None:
                with transaction(a.node.engine) as db:
                    db.add(report)
                    a.node.log.append(
                        db, [events.forwarded(a.node.id, report, peers[b.node.id], held=False)]
                    )

            await a.node.write(forward)
            a.node.project_soon()

            def settled_at_b() -> bool:
                with Session(b.node.engine) as s:
                    row = s.get(Report, report.id)
                    return row is not None and row.media_url == ""

            await eventually(settled_at_b, 30, "B asked A and learnt there is no photo")
            assert trap_hits == []
    finally:
        await runner.cleanup()
