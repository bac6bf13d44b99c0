"""The operator console: sign-in required, CSRF enforced, publishing through the form."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import rdflib
from sqlmodel import Session

from allmende.node.auth import mint_token
from allmende.node.catalog import service
from allmende.node.dsp.models import Negotiation, Transfer
from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from allmende.policies.templates import template_document
from tests.ingest.conftest import dataset_body
from tests.support import admin_headers, make_node

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_node(tmp_path, name="Bredstedt")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


async def signed_in_client(aiohttp_client: Any, node: Node) -> Any:
    client = await aiohttp_client(create_app(node))
    form = await (await client.get("/admin/login")).text()
    response = await client.post(
        "/admin/login",
        data={"csrf_token": csrf_of(form), "token": mint_token(node.key, node.id)},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/admin/"
    return client


async def test_console_needs_sign_in(aiohttp_client: Any, node: Node) -> None:
    client = await aiohttp_client(create_app(node))
    for path in ("/admin/", "/admin/console/datasets"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/admin/login"


async def test_sign_in_refuses_bad_tokens_and_posts_without_csrf(
    aiohttp_client: Any, node: Node
) -> None:
    client = await aiohttp_client(create_app(node))
    form = await (await client.get("/admin/login")).text()
    token = mint_token(node.key, node.id)
    missing = await client.post("/admin/login", data={"token": token}, allow_redirects=False)
    assert missing.status == 403
    wrong = await client.post(
        "/admin/login", data={"token": token, "csrf_token": "guess"}, allow_redirects=False
    )
    assert wrong.status == 403
    bad = await client.post(
        "/admin/login",
        data={"token": "nonsense", "csrf_token": csrf_of(form)},
        allow_redirects=False,
    )
    assert bad.status == 401
    assert (await client.get("/admin/", allow_redirects=False)).status == 303


async def test_session_cookie_is_protected(aiohttp_client: Any, node: Node) -> None:
    client = await aiohttp_client(create_app(node))
    response = await client.get("/admin/login")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie


async def test_publish_through_the_form_reaches_the_catalog(
    aiohttp_client: Any, node: Node
) -> None:
    client = await signed_in_client(aiohttp_client, node)
    page = await (await client.get("/admin/console/datasets")).text()
    fields = {
        "csrf_token": csrf_of(page),
        "title_de": "Pegelstände am Dorfteich (Beispieldaten)",
        "title_en": "Pond water levels (sample data)",
        "description_de": "Wasserstand des Dorfteichs, alle 15 Minuten gemessen. Beispieldaten.",
        "keywords": "Wasser, Pegel",
        "theme": "ENVI",
        "license": "dl-by-de/2.0",
        "frequency": "15MIN",
        "contact_email": "daten@bredstedt.example",
        "policy": "open-data-attribution",
    }
    without_csrf = {k: v for k, v in fields.items() if k != "csrf_token"}
    refused = await client.post("/admin/console/datasets", data=without_csrf, allow_redirects=False)
    assert refused.status == 403
    response = await client.post("/admin/console/datasets", data=fields, allow_redirects=False)
    assert response.status == 303, await response.text()
    dataset_path = response.headers["Location"]
    catalog = await client.get("/catalog", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=await catalog.text(), format="turtle")
    datasets = {str(s) for s in graph.subjects(rdflib.RDF.type, DCAT.Dataset)}
    assert f"{node.base_url}{dataset_path}" in datasets


async def test_form_errors_are_shown_and_nothing_is_published(
    aiohttp_client: Any, node: Node
) -> None:
    client = await signed_in_client(aiohttp_client, node)
    page = await (await client.get("/admin/console/datasets")).text()
    response = await client.post(
        "/admin/console/datasets",
        data={
            "csrf_token": csrf_of(page),
            "title_de": "Ohne Beschreibung",
            "policy": "open-data-attribution",
            "contact_email": "kein-mail",
        },
    )
    assert response.status == 422
    assert 'role="alert"' in await response.text()
    catalog = await client.get("/catalog", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=await catalog.text(), format="turtle")
    assert not list(graph.subjects(rdflib.RDF.type, DCAT.Dataset))


async def test_dataset_page_for_people_and_dcat_for_machines(
    aiohttp_client: Any, node: Node
) -> None:
    client = await signed_in_client(aiohttp_client, node)
    page = await (await client.get("/admin/console/datasets")).text()
    await client.post(
        "/admin/console/datasets",
        data={
            "csrf_token": csrf_of(page),
            "title_de": "Straßenlicht (Beispieldaten)",
            "description_de": "Schaltzeiten der Straßenbeleuchtung. Beispieldaten.",
            "contact_email": "daten@bredstedt.example",
            "policy": "research-only",
            "frequency": "DAILY",
            "theme": "ENER",
            "license": "dl-by-de/2.0",
        },
        allow_redirects=False,
    )
    path = "/datasets/strassenlicht-beispieldaten"
    html = await (await client.get(path, headers={"Accept": "text/html"})).text()
    assert "<h1>Straßenlicht (Beispieldaten)</h1>" in html
    assert "Erlaubt: nutzen – unter der Bedingung: der Zweck ist eine Art von Forschung" in html
    assert "Datenlizenz Deutschland – Namensnennung – Version 2.0" in html
    assert f"GRAPH &lt;{node.base_url}/graphs{path}&gt;" in html
    turtle = await client.get(path, headers={"Accept": "text/turtle"})
    assert turtle.content_type == "text/turtle"
    graph = rdflib.Graph().parse(data=await turtle.text(), format="turtle")
    assert (
        rdflib.URIRef(f"{node.base_url}{path}"),
        rdflib.RDF.type,
        DCAT.Dataset,
    ) in graph


async def test_overview_shows_silent_sensors_and_refused_payloads(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    from tests.ingest.conftest import prepare_village

    node = make_node(tmp_path / "v", name="Lütjenholm", node_id="https://luetjenholm.example/")
    secrets = await prepare_village(node)
    client = await signed_in_client(aiohttp_client, node)
    refused = await client.post(
        "/ingest/ttn",
        data="{not json",
        headers={"X-Allmende-Webhook-Secret": secrets["ttn"], "Content-Type": "application/json"},
    )
    assert refused.status == 400
    html = await (await client.get("/admin/")).text()
    assert html.count('class="badge sample">verstummt</span>') == 5  # registered, never heard
    assert "the body is not valid JSON" in html


async def test_the_overview_shows_the_trusted_villages_and_what_they_sent(
    aiohttp_client: Any, node: Node, tmp_path: Path
) -> None:
    from allmende.node.federation.trust import add_peer, checked_peer

    peer = make_node(tmp_path / "peer", name="Struckum", node_id="https://struckum.example/")
    body = {"id": peer.id, "jwk": peer.key.jwk(), "name": "Struckum (Beispiel)"}
    add_peer(node.engine, checked_peer(body, node.id))
    peer.close()
    client = await signed_in_client(aiohttp_client, node)
    page = await (await client.get("/admin/")).text()
    assert "Nachbargemeinden" in page and "Struckum (Beispiel)" in page
    assert "https://struckum.example/" in page
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title and "Struckum" not in title.group(1)
    assert page.count("Nachbargemeinden") == 1


async def test_agreements_are_granted_and_revoked_from_the_console_and_audited(
    aiohttp_client: Any, node: Node
) -> None:
    policy = template_document("research-only", assigner=node.id)
    await service.create(node, {**dataset_body("raumklima-dgh"), "policy": policy})
    client = await signed_in_client(aiohttp_client, node)
    page = await (await client.get("/admin/console/agreements")).text()
    assert "Noch keine Vereinbarungen" in page and 'value="raumklima-dgh"' in page
    fields = {
        "dataset": "raumklima-dgh",
        "assignee": "https://uni-kiel.example/",
        "purpose": "https://w3id.org/allmende/ns#commercial",
    }
    refused = await client.post("/admin/console/agreements", data=fields, allow_redirects=False)
    assert refused.status == 403  # no CSRF token
    wrong = await client.post(
        "/admin/console/agreements", data={**fields, "csrf_token": csrf_of(page)}
    )
    assert wrong.status == 422 and 'role="alert"' in await wrong.text()
    fields["purpose"] = "https://w3id.org/allmende/ns#research"
    made = await client.post(
        "/admin/console/agreements",
        data={**fields, "csrf_token": csrf_of(page)},
        allow_redirects=False,
    )
    assert made.status == 303
    page = await (await client.get("/admin/console/agreements")).text()
    assert "https://uni-kiel.example/" in page and "gültig" in page
    agreement_id = re.search(r'name="id" value="([^"]+)"', page)
    assert agreement_id
    issued = await client.post(
        "/admin/console/agreements/action",
        data={"csrf_token": csrf_of(page), "id": agreement_id.group(1), "action": "token"},
    )
    token = re.search(r"readonly>([^<]+)</textarea>", await issued.text())
    assert token
    params = {"sensor": "none", "from": "2024-01-01T00:00:00Z"}
    headers = {"Authorization": f"Bearer {token.group(1)}"}
    used = await client.get("/datasets/raumklima-dgh/observations", params=params, headers=headers)
    assert used.status == 200
    await client.post(
        "/admin/console/agreements/action",
        data={"csrf_token": csrf_of(page), "id": agreement_id.group(1), "action": "revoke"},
    )
    stopped = await client.get(
        "/datasets/raumklima-dgh/observations", params=params, headers=headers
    )
    assert stopped.status == 403
    assert "widerrufen" in await (await client.get("/admin/console/agreements")).text()

    audit = await (await client.get("/admin/console/audit", params={"decision": "deny"})).text()
    # the audit page says the reasons in German (they are kept as message ids and values)
    assert "Die Vereinbarung wurde widerrufen." in audit
    assert "Erlaubt durch die Vereinbarung." not in audit
    everything = await (await client.get("/admin/console/audit")).text()
    assert "Erlaubt durch die Vereinbarung." in everything


async def test_sensors_are_registered_and_removed_from_the_console(
    aiohttp_client: Any, node: Node
) -> None:
    await service.create(node, dataset_body("raumklima"))
    client = await signed_in_client(aiohttp_client, node)
    page = await (await client.get("/admin/console/devices")).text()
    form = {
        "csrf_token": csrf_of(page),
        "device": "70B3D57ED00AB0C1",
        "label": "Dorfgemeinschaftshaus",
        "dataset": "raumklima",
        "profile": "room-climate",
        "lat": "54,6201",
        "lon": "8.9630",
    }
    bad = await client.post("/admin/console/devices", data={**form, "lat": "north"})
    assert bad.status == 422 and "lat" in await bad.text()
    without_csrf = await client.post(
        "/admin/console/devices", data={k: v for k, v in form.items() if k != "csrf_token"}
    )
    assert without_csrf.status == 403
    added = await client.post("/admin/console/devices", data=form, allow_redirects=False)
    assert added.status == 303
    devices = await (await client.get("/admin/devices", headers=admin_headers(node))).json()
    [device] = devices["items"]
    assert device["device"] == "70b3d57ed00ab0c1" and device["lat"] == pytest.approx(54.6201)
    assert device["profile"] == "room-climate" and device["dataset"] == "raumklima"
    assert "Dorfgemeinschaftshaus" in await (await client.get("/admin/console/devices")).text()
    removed = await client.post(
        "/admin/console/devices",
        data={"csrf_token": form["csrf_token"], "device": device["device"], "action": "remove"},
        allow_redirects=False,
    )
    assert removed.status == 303
    devices = await (await client.get("/admin/devices", headers=admin_headers(node))).json()
    assert devices["items"] == []


async def test_the_dataspace_page_lists_negotiations_and_transfers_of_both_roles(
    aiohttp_client: Any, node: Node
) -> None:
    now = datetime.now(UTC)
    common = {"created": now, "updated": now, "callback": "http://127.0.0.1:9/dsp"}
    with Session(node.engine) as session:
        session.add(
            Negotiation(
                pid="urn:uuid:p1",
                consumer_pid="urn:uuid:c1",
                participant="https://kreis-nf.example/",
                dataset_id="raumklima",
                offer_id="o",
                state="FINALIZED",
                **common,
            )
        )
        session.add(
            Negotiation(
                pid="urn:uuid:c2",
                role="consumer",
                consumer_pid="urn:uuid:c2",
                participant="https://luetjenholm.example/",
                dataset_id="wasserstand-au",
                offer_id="o",
                state="REQUESTED",
                **common,
            )
        )
        session.add(
            Transfer(
                pid="urn:uuid:t1",
                consumer_pid="urn:uuid:c3",
                participant="https://kreis-nf.example/",
                agreement_id="urn:uuid:agreement-7",
                dataset_id="raumklima",
                format="HttpData-PULL",
                state="STARTED",
                **common,
            )
        )
        session.commit()
    client = await signed_in_client(aiohttp_client, node)
    page = await (await client.get("/admin/console/dataspace")).text()
    for text in (
        "https://kreis-nf.example/",
        "https://luetjenholm.example/",
        "wasserstand-au",
        "geschlossen",  # FINALIZED, in words
        "angefragt",  # REQUESTED
        "läuft",  # STARTED
        "urn:uuid:agreement-7",
        "Anbieterin",
        "Nutzerin",
    ):
        assert text in page, text
