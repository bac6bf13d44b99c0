"""Status mails through a local SMTP server: the reporter who left an address hears of each
change once, with the village's note; nobody else gets mail, and nothing goes out unless
the operator turned it on."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from allmende.node.reports.mail import notifier
from tests.federation.villages import eventually
from tests.reports.conftest import INSIDE, Served
from tests.reports.smtp import smtp_server
from tests.support import make_node


async def file(session: aiohttp.ClientSession, served: Served, **extra: str) -> str:
    form = {
        "api_key": served.api_key,
        "service_code": "vandalismus",
        "lat": str(INSIDE[0]),
        "long": str(INSIDE[1]),
        "acknowledge_duplicate": "true",
        **extra,
    }
    async with session.post(f"{served.open311}/requests.json", data=form) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())[0]["service_request_id"])


async def set_status(
    session: aiohttp.ClientSession, served: Served, request_id: str, status: str, note: str
) -> None:
    async with session.post(
        f"{served.url}/admin/reports/{request_id}/status",
        json={"status": status, "note": note},
        headers=served.admin,
    ) as r:
        assert r.status == 200, await r.text()


async def test_reporters_get_a_mail_per_status_change(served: Served) -> None:
    with smtp_server() as (inbox, port):
        async with aiohttp.ClientSession() as session:
            quiet = await file(session, served, email="frueh@example.org")
            await set_status(session, served, quiet, "in_bearbeitung", "vor dem Einschalten")
            settings: dict[str, Any] = {
                "notify": True,
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "mail_from": "bauhof@luetjenholm.example",
            }
            async with session.put(
                f"{served.url}/admin/reports/settings", json=settings, headers=served.admin
            ) as r:
                assert r.status == 200, await r.text()
            with_mail = await file(session, served, email="hanna@example.org")
            without = await file(session, served)
            await set_status(session, served, with_mail, "in_bearbeitung", "Bauhof ist unterwegs")
            await set_status(session, served, without, "erledigt", "")
            await set_status(session, served, with_mail, "erledigt", "Schild steht wieder")
            await eventually(lambda: len(inbox.messages) >= 3, 20, "three mails")
            await set_status(session, served, without, "offen", "")  # another commit
    # the earlier change to frueh@ was made before mails were on: mailed now, once
    to = sorted((m["To"], m["Subject"]) for m in inbox.messages)
    assert to == [
        ("frueh@example.org", "Ihre Meldung „Vandalismus“ wird bearbeitet"),
        ("hanna@example.org", "Ihre Meldung „Vandalismus“ ist erledigt"),
        ("hanna@example.org", "Ihre Meldung „Vandalismus“ wird bearbeitet"),
    ]
    bodies = [m.get_content() for m in inbox.messages if m["To"] == "hanna@example.org"]
    assert any("Schild steht wieder" in b and with_mail in b for b in bodies)
    assert all(m["From"] == "bauhof@luetjenholm.example" for m in inbox.messages)


async def test_the_mailer_stops_when_told_to_as_it_is_woken(tmp_path: Path) -> None:
    """Shutdown cancels the mailer just as a commit wakes it: it must end, not wait on."""
    node = make_node(tmp_path / "node")
    app = web.Application()
    app["node"] = node
    running = notifier(app)
    try:
        await anext(running)
        await asyncio.sleep(0)  # the mailer waits for a wake
        node.commit_listeners[-1]()  # a commit wakes it ...
        await asyncio.sleep(0)  # ... its wait is over, the mailer not yet resumed
        stopping = asyncio.timeout(10)
        async with stopping:  # ... and the node stops
            with contextlib.suppress(StopAsyncIteration):
                await anext(running)
        assert not stopping.expired(), "the mailer went on waiting after it was cancelled"
    finally:
        node.close()
