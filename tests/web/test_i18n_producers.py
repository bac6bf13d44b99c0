"""Refusals of the Mängelmelder console, the app platform and the residents' sign-in read as
German on German pages (tests/web/test_i18n_messages.py does the same for datasets,
devices and agreements): each is made as a Message where it is found, so the page can say it
in its reader's language; API clients that ask for nothing still read the English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from allmende.node.auth import mint_token
from allmende.node.reports import service
from allmende.node.runtime import Node
from allmende.node.web.i18n import texts
from tests.support import admin_headers, make_node
from tests.web.test_console import csrf_of, signed_in_client
from tests.web.test_i18n_messages import english_in_alerts

DE = {"Accept-Language": "de"}


async def _post(client: Any, page: str, path: str, form: dict[str, str]) -> tuple[int, str]:
    shown = await (await client.get(page, headers=DE)).text()
    answer = await client.post(path, data={"csrf_token": csrf_of(shown), **form}, headers=DE)
    return answer.status, await answer.text()


async def test_report_console_refusals_are_german(tmp_path: Path, aiohttp_client: Any) -> None:
    node: Node = make_node(tmp_path, name="Bredstedt")
    client = await signed_in_client(aiohttp_client, node)
    pages: dict[str, str] = {}
    categories = "/admin/console/reports/categories"
    for name, form in {
        "category: code": {"code": "Grün Anlage", "name": "Grünanlage"},
        "category: name": {"code": "gruen", "name": ""},
        "category: unknown": {"code": "gruen", "name": "Grünanlage", "existing": "true"},
    }.items():
        status, pages[name] = await _post(client, categories, categories, form)
        assert status == 422, (name, pages[name])
    status, created = await _post(
        client, categories, categories, {"code": "gruen", "name": "Grünanlage", "active": "true"}
    )
    assert status == 200, created  # redirected to the list
    status, pages["category: taken"] = await _post(
        client, categories, categories, {"code": "gruen", "name": "Park"}
    )
    assert status == 422

    found = {name: english_in_alerts(html) for name, html in pages.items()}
    assert found == {key: [] for key in pages}, found
    assert "„gruen“ ist schon vergeben" in pages["category: taken"]


async def test_report_refusals_stay_english_for_the_api(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    node: Node = make_node(tmp_path, name="Bredstedt")
    client = await signed_in_client(aiohttp_client, node)
    body = {"code": "Grün", "name": "Grünanlage"}
    plain = await client.post("/admin/reports/categories", json=body, headers=admin_headers(node))
    assert plain.status == 400
    assert (await plain.json())["detail"].startswith("code: lower-case letters")
    german = await client.post(
        "/admin/reports/categories", json=body, headers={**admin_headers(node), **DE}
    )
    assert (await german.json())["detail"].startswith("Code: Kleinbuchstaben")
    # the status words of a report's update: the message keeps its values
    try:
        service.checked_category({"code": "x", "name": "X", "attributes": "viele"})
    except service.Invalid as exc:
        refusal = exc.args[0]
    assert refusal == "attributes: a list of at most 30 attribute definitions"
    assert texts("de").message(refusal).startswith("Zusatzfragen (attributes)")


async def test_app_review_and_resident_sign_in_refusals_are_german(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    node: Node = make_node(tmp_path, name="Bredstedt")
    client = await signed_in_client(aiohttp_client, node)
    pages: dict[str, str] = {}
    apps = "/admin/console/apps"
    for name, form in {
        "review: no app": {"client_id": "gibt-es-nicht", "action": "approve"},
        "review: no reason": {"client_id": "gibt-es-nicht", "action": "reject"},
        "review: no action": {"client_id": "gibt-es-nicht", "action": "tanzen"},
    }.items():
        status, pages[name] = await _post(client, apps, apps, form)
        assert status == 422, (name, pages[name])
    for name, code in {
        "sign-in: garbled": "kein-code",
        "sign-in: operator's": mint_token(node.key, node.id),
    }.items():
        answer = await client.post(
            "/oauth/signin", data={"next": "/apps/mine", "code": code}, headers=DE
        )
        assert answer.status == 401, name
        pages[name] = await answer.text()

    found = {name: english_in_alerts(html) for name, html in pages.items()}
    assert found == {key: [] for key in pages}, found
    assert "Eine App „gibt-es-nicht“ gibt es nicht" in pages["review: no app"]
