"""The photo of a report forwarded from Lütjenholm (A) reaches Bredstedt (B): B fetches it
from A's address in its trust list with a token signed by its node key, re-encodes it and
serves it as its own. A gives it to B only: no token, a token of Calsum (C) or one naming
another report is refused."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
from PIL import Image
from sqlmodel import Session

from allmende.node.auth import mint_token
from allmende.node.reports.models import Report
from tests.federation.villages import eventually, federation
from tests.reports.test_photos import GPS_IFD, phone_photo
from tests.reports.test_unreleased import SPOT
from tests.reports.test_villages import configure, knows_all_villages


async def test_the_photo_of_a_forwarded_report_reaches_the_village_responsible(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        for running in villages:
            await configure(session, running)
        async with session.post(
            f"{a.url}/admin/reports/clients", json={"name": "App"}, headers=a.admin()
        ) as r:
            key = (await r.json())["api_key"]
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
