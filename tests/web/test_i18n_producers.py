"""Refusals of the Mängelmelder console, the app platform and the residents' sign-in read as
German on German pages (tests/web/test_i18n_messages.py does the same for datasets,
devices and agreements): each is made as a Message where it is found, so the page can say it
in its reader's language; API clients that ask for nothing still read the English."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from allmende.node.auth import mint_token
from allmende.node.federation.trust import add_peer, checked_peer
from allmende.node.http.app import create_app
from allmende.node.reports import service
from allmende.node.runtime import Node
from allmende.node.web.i18n import texts
from allmende.policies import jws
from tests.ingest.conftest import prepare_village
from tests.support import admin_headers, make_node
from tests.web.test_console import csrf_of, signed_in_client
from tests.web.test_i18n_messages import ENGLISH, english_in_alerts

DE = {"Accept-Language": "de"}
DEAD = "http://127.0.0.1:9"  # the discard port: nothing answers there


def _text(html: str) -> str:
    """The words of an HTML fragment, without its tags and what is inside <pre> (the
    refused payload's excerpt, as it came)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<pre>.*?</pre>", "", html, flags=re.S))


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


async def test_refused_payloads_read_german_in_the_console(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    node: Node = make_node(tmp_path, name="Bredstedt")
    secrets = await prepare_village(node)
    client = await signed_in_client(aiohttp_client, node)
    stranger = {"sensor": "sample-fremder-sensor", "property": "lamp_on", "value": True}
    unmapped = {"sensor": "sample-luetjenholm-leuchte-12", "property": "farbe", "value": 3}
    for observation in (stranger, unmapped):
        answer = await client.post(
            "/ingest/observations",
            json={"observations": [{**observation, "time": "2024-05-14T20:45:00Z"}]},
            headers={
                "X-Allmende-Webhook-Secret": secrets["observations"],
                "Accept": "application/json",
            },
        )
        assert answer.status == 422, await answer.text()
        detail = (await answer.json())["detail"]  # the sender asked for nothing: English
        assert "is not registered" in detail or "is not in the mapping" in detail, detail
    listed = await client.get("/admin/ingest/problems", headers=admin_headers(node))
    reasons = [p["reason"] for p in (await listed.json())["items"]]
    assert reasons[0].startswith("/observations/0: field 'farbe' is not in the mapping"), reasons

    nameless = {"observations": [{"property": "lamp_on", "value": True}]}
    answer = await client.post(
        "/ingest/observations",
        json=nameless,
        headers={"X-Allmende-Webhook-Secret": secrets["observations"]},
    )
    assert answer.status == 422, await answer.text()

    page = await (await client.get("/admin/", headers={**DE, "Accept": "text/html"})).text()
    refused = page.split("<h2>Abgelehnte Daten</h2>", 1)[1].split("</table>", 1)[0]
    assert "fehlt, wird aber gebraucht" in refused, refused
    assert "Gerät „sample-fremder-sensor“ ist nicht registriert" in refused, refused
    assert "„farbe“ ist nicht in der Zuordnung" in refused, refused
    assert 'class="reported"' not in refused and not ENGLISH.search(_text(refused)), refused


async def test_an_unreachable_neighbour_reads_german_in_the_console(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    node: Node = make_node(tmp_path, name="Bredstedt")
    peer = {"id": "https://struckum.example/", "name": "Struckum"}
    jwk = jws.public_jwk(Ed25519PrivateKey.generate().public_key())
    add_peer(node.engine, checked_peer({**peer, "jwk": jwk, "base_url": DEAD}, node.id))
    client = await signed_in_client(aiohttp_client, node)
    feeds = client.server.app["federation_feeds"]
    for _ in range(200):  # the first poll of the dead address fails at once
        if peer["id"] in feeds.errors:
            break
        await asyncio.sleep(0.05)
    assert feeds.errors[peer["id"]] == "the peer cannot be reached (ClientConnectorError)"

    page = await (await client.get("/admin/", headers={**DE, "Accept": "text/html"})).text()
    neighbours = page.split("<h2>Nachbargemeinden</h2>", 1)[1]
    assert "Die Nachbargemeinde ist nicht erreichbar" in neighbours, neighbours
    assert not ENGLISH.search(_text(neighbours.split("</table>", 1)[0]))


async def test_the_report_form_refuses_in_german(tmp_path: Path, aiohttp_client: Any) -> None:
    node: Node = make_node(tmp_path, name="Bredstedt")
    client = await aiohttp_client(create_app(node))
    category = {"code": "muell", "name": "Müll", "department": "Bauhof"}
    made = await client.post(
        "/admin/reports/categories", json=category, headers=admin_headers(node)
    )
    assert made.status in (200, 201), await made.text()
    place = {"service_code": "muell", "lat": "54,6467", "long": "8,9656", "description": "Sack"}
    pages = {}
    for name, changed in {
        "category": {"service_code": "gibtsnicht"},
        "no category": {"service_code": ""},
        "latitude": {"lat": "Norden"},
        "range": {"lat": "95"},
        "half a place": {"long": ""},
        "e-mail": {"email": "keine Adresse"},
    }.items():
        answer = await client.post("/melden", data={**place, **changed}, headers=DE)
        assert answer.status in (400, 404), (name, answer.status)
        pages[name] = await answer.text()
    found = {name: english_in_alerts(html) for name, html in pages.items()}
    assert found == {key: [] for key in pages}, found
    assert "Die Kategorie (service_code) „gibtsnicht“ gibt es hier nicht." in pages["category"]


async def test_implausible_readings_read_german_on_the_device_page(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    node: Node = make_node(tmp_path, name="Bredstedt")
    secrets = await prepare_village(node)
    client = await signed_in_client(aiohttp_client, node)
    reading = {"sensor": "70B3D57ED00AB001", "property": "temperature", "value": -300.5}
    answer = await client.post(
        "/ingest/observations",
        json={"observations": [{**reading, "time": "2024-05-14T20:45:00Z"}]},
        headers={"X-Allmende-Webhook-Secret": secrets["observations"]},
    )
    assert answer.status == 202, await answer.text()
    page = await (await client.get("/admin/console/devices/70B3D57ED00AB001", headers=DE)).text()
    assert "-300,5 °C ist hier nicht plausibel (erwartet:" in page, page
    assert "is not plausible" not in page
