"""Reporters are erased once their report has been closed longer than the operator's
retention period; the report itself stays, as the public knows it."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from sqlmodel import Session, select

from allmende.node.reports.models import Report, Reporter, Support
from tests.reports.conftest import INSIDE, Served


async def file(session: aiohttp.ClientSession, served: Served, email: str) -> str:
    form = {
        "api_key": served.api_key,
        "service_code": "vandalismus",
        "email": email,
        "first_name": "Jan",
        "acknowledge_duplicate": "true",
        "lat": str(INSIDE[0]),
        "long": str(INSIDE[1]),
    }
    async with session.post(f"{served.open311}/requests.json", data=form) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())[0]["service_request_id"])


async def test_reporters_are_erased_after_the_retention_period(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        old = await file(session, served, "alt@example.org")
        async with session.post(
            f"{served.open311}/requests/{old}/support.json",
            data={"api_key": served.api_key, "device_id": "geraet-1"},
        ) as r:
            assert r.status == 200
        recent = await file(session, served, "neu@example.org")
        still_open = await file(session, served, "offen@example.org")
        for request_id in (old, recent):
            async with session.post(
                f"{served.url}/admin/reports/{request_id}/status",
                json={"status": "erledigt"},
                headers=served.admin,
            ) as r:
                assert r.status == 200
        async with session.put(
            f"{served.url}/admin/reports/settings",
            json={"retention_days": 30},
            headers=served.admin,
        ) as r:
            assert r.status == 200
        with Session(served.node.engine) as db:
            row = db.get(Report, old)
            assert row is not None and row.closed is not None
            row.closed = row.closed - timedelta(days=31)
            db.add(row)
            db.commit()
        async with session.post(
            f"{served.url}/admin/reports/purge", json={}, headers=served.admin
        ) as r:
            assert (await r.json()) == {"erased": 1}
    with Session(served.node.engine) as db:
        assert db.get(Reporter, old) is None
        assert db.get(Report, old) is not None
        [support] = db.exec(select(Support).where(Support.report_id == old)).all()
        assert support.person == ""  # who supported is gone, the count stays
        assert db.get(Report, old).supporters == 1  # type: ignore[union-attr]
        assert {db.get(Reporter, i).email for i in (recent, still_open)} == {  # type: ignore[union-attr]
            "neu@example.org",
            "offen@example.org",
        }
