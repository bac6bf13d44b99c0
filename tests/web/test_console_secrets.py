"""The console's webhook secrets: made or rotated (shown once), revoked, in both languages;
the running node checks webhook calls against the change at once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from allmende.node.ingest.sources import HEADER
from tests.support import make_node
from tests.web.test_console import csrf_of, signed_in_client

SECRET = re.compile(r'<textarea id="new-secret"[^>]*>([^<]+)</textarea>')


async def uplink_status(client: Any, secret: str) -> int:
    answer = await client.post("/ingest/ttn", json={}, headers={HEADER: secret})
    return int(answer.status)


async def test_a_secret_is_made_shown_once_rotated_and_revoked(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    node = make_node(tmp_path, name="Bredstedt")
    client = await signed_in_client(aiohttp_client, node)
    page = await (await client.get("/admin/console/devices?lang=de")).text()
    assert "Webhook-Geheimnisse" in page and "keines – Aufrufe werden abgewiesen" in page
    csrf = csrf_of(page)
    form = {"csrf_token": csrf, "source": "ttn", "action": "rotate_secret"}

    made = await client.post("/admin/console/devices", data=form)
    assert made.status == 200 and made.headers["Cache-Control"] == "no-store"
    shown = SECRET.search(await made.text())
    assert shown, "the new secret is on the page once"
    first = shown.group(1)
    assert await uplink_status(client, first) != 401
    again = await (await client.get("/admin/console/devices")).text()
    assert first not in again and "gültig seit" in again

    rotated = SECRET.search(await (await client.post("/admin/console/devices", data=form)).text())
    assert rotated and rotated.group(1) != first
    assert await uplink_status(client, first) == 401
    assert await uplink_status(client, rotated.group(1)) != 401

    revoked = await client.post(
        "/admin/console/devices",
        data={**form, "action": "revoke_secret"},
        allow_redirects=False,
    )
    assert revoked.status == 303
    assert await uplink_status(client, rotated.group(1)) == 401

    english = await (await client.get("/admin/console/devices?lang=en")).text()
    assert "Webhook secrets" in english and "none – calls are refused" in english

    without_csrf = await client.post(
        "/admin/console/devices", data={"source": "ttn", "action": "rotate_secret"}
    )
    assert without_csrf.status == 403
    unknown = await client.post(
        "/admin/console/devices", data={**form, "source": "lora"}, allow_redirects=False
    )
    assert unknown.status == 422
