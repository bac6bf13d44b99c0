""" "Meine Apps": a resident sees what they allowed and what the app did, and withdraws it,
which the app feels on its very next request. The public directory lists approved apps."""

from __future__ import annotations

import re

from tests.apps.conftest import CLIMATE, Village, bearer

DOWNLOAD = f"/datasets/{CLIMATE}/distributions/feuchte/download"


async def test_my_apps_shows_uses_and_withdrawing_refuses_the_next_request(
    village: Village,
) -> None:
    client_id = (await village.register())["client_id"]
    await village.approve(client_id)
    unsigned = await village.client.get("/apps/mine", headers={"Accept": "text/html"})
    assert unsigned.status == 200 and 'action="/oauth/signin"' in await unsigned.text()
    await village.sign_in()
    token = (await village.code_token(client_id, f"dataset:{CLIMATE}"))["access_token"]
    assert (await village.client.get(DOWNLOAD, headers=bearer(token))).status == 200

    page = await (await village.client.get("/apps/mine")).text()
    assert "Meine Apps" in page and "Dorf-App" in page and "Dorfapp GmbH" in page
    assert "1 Nutzung Ihrer Erlaubnis" in page and CLIMATE in page
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None

    forged = await village.client.post(
        "/apps/mine/withdraw", data={"client_id": client_id, "csrf": "0" * 64}
    )
    assert forged.status == 403
    assert (await village.client.get(DOWNLOAD, headers=bearer(token))).status == 200

    withdrawn = await village.client.post(
        "/apps/mine/withdraw",
        data={"client_id": client_id, "csrf": csrf.group(1)},
        allow_redirects=False,
    )
    assert withdrawn.status == 303 and withdrawn.headers["Location"] == "/apps/mine"
    refused = await village.client.get(DOWNLOAD, headers=bearer(token))
    assert refused.status == 403
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert "withdrew" in (await refused.json())["detail"]
    after = await (await village.client.get("/apps/mine")).text()
    assert "Zurückgenommen" in after and 'action="/apps/mine/withdraw"' not in after


async def test_another_residents_withdrawal_leaves_mine(village: Village) -> None:
    client_id = (await village.register())["client_id"]
    await village.approve(client_id)
    await village.sign_in("anwohner-1")
    mine = (await village.code_token(client_id, f"dataset:{CLIMATE}"))["access_token"]
    await village.sign_in("anwohner-2")
    page = await (await village.client.get("/apps/mine")).text()
    assert "Dorf-App" not in page  # the second resident allowed nothing yet
    token = (await village.code_token(client_id, f"dataset:{CLIMATE}"))["access_token"]
    page = await (await village.client.get("/apps/mine")).text()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None
    await village.client.post(
        "/apps/mine/withdraw", data={"client_id": client_id, "csrf": csrf.group(1)}
    )
    assert (await village.client.get(DOWNLOAD, headers=bearer(token))).status == 403
    assert (await village.client.get(DOWNLOAD, headers=bearer(mine))).status == 200


async def test_the_directory_lists_approved_apps_with_their_use(village: Village) -> None:
    approved = (await village.register())["client_id"]
    await village.register()  # still in the sandbox: not listed
    await village.approve(approved)
    await village.sign_in()
    token = (await village.code_token(approved, f"dataset:{CLIMATE}"))["access_token"]
    await village.client.get(DOWNLOAD, headers=bearer(token))
    await village.client.get(DOWNLOAD, headers=bearer(token))
    listed = await (await village.client.get("/apps")).json()
    assert [a["client_id"] for a in listed["apps"]] == [approved]
    entry = listed["apps"][0]
    assert entry["uses"] == 2 and entry["residents"] == 1
    assert entry["manifest"]["developer"]["name"] == "Dorfapp GmbH"
    assert list(entry["agreements"]) == [CLIMATE]
    page = await (await village.client.get("/apps", headers={"Accept": "text/html"})).text()
    assert "Dorf-App" in page and "2 Nutzungen" in page and "Datenschutzerklärung" in page
