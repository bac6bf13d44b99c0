"""The operator reviews apps in the console: reads the manifest, approves, rejects with a
reason, suspends — the same steps as the admin API."""

from __future__ import annotations

from typing import Any

from allmende.node.auth import mint_token
from tests.apps.conftest import Village
from tests.web.test_console import csrf_of


async def _sign_in(village: Village) -> None:
    form = await (await village.client.get("/admin/login")).text()
    token = mint_token(village.node.key, village.node.id)
    response = await village.client.post(
        "/admin/login",
        data={"csrf_token": csrf_of(form), "token": token},
        allow_redirects=False,
    )
    assert response.status == 303


async def _act(village: Village, **form: str) -> Any:
    page = await (await village.client.get("/admin/console/apps")).text()
    return await village.client.post(
        "/admin/console/apps", data={"csrf_token": csrf_of(page), **form}, allow_redirects=False
    )


async def test_operator_reviews_apps_in_the_console(village: Village) -> None:
    unsigned = await village.client.get("/admin/console/apps", allow_redirects=False)
    assert unsigned.status == 303 and unsigned.headers["Location"] == "/admin/login"
    first = (await village.register(actions=("lights:switch",)))["client_id"]
    second = (await village.register())["client_id"]
    await _sign_in(village)
    page = await (await village.client.get("/admin/console/apps")).text()
    assert "Dorf-App" in page and "Dorfapp GmbH" in page and "Forschung" in page
    assert "Straßenlaternen für Sie einschalten" in page
    assert "in der Sandbox, wartet auf Prüfung" in page

    approved = await _act(village, client_id=first, version="1.0.0", action="approve")
    assert approved.status == 303
    app = await (await village.client.get(f"/admin/apps/{first}", headers=village.admin)).json()
    assert app["status"] == "approved" and app["agreements"]

    no_reason = await _act(village, client_id=second, action="reject", reason="")
    assert no_reason.status == 422 and "reason" in await no_reason.text()
    rejected = await _act(village, client_id=second, action="reject", reason="Kein Impressum")
    assert rejected.status == 303
    page = await (await village.client.get("/admin/console/apps")).text()
    assert "Kein Impressum" in page

    forged = await village.client.post(
        "/admin/console/apps",
        data={"csrf_token": "x", "client_id": first, "action": "suspend", "reason": "x"},
    )
    assert forged.status in (400, 403)
    app = await (await village.client.get(f"/admin/apps/{first}", headers=village.admin)).json()
    assert app["status"] == "approved"
