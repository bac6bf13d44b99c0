"""Refusals and validation errors read as the page's language, wherever they were made.

The catalog tests find labels of the catalogs on the wrong page; a message made deep in the
node (a dataset's validation, a policy's refusal, a missing page) that never went through a
catalog would pass them unseen. Here each such message is provoked on German pages, and the
alerts and error texts must hold no English sentence (and no part marked as English); the
same refusals reach API clients in English, or in German when they ask for it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from allmende.node.runtime import Node
from allmende.policies.explain import explain, plain_terms
from allmende.policies.templates import load_template
from tests.support import admin_headers, make_node
from tests.web.test_console import csrf_of, signed_in_client

GERMAN = {"Accept-Language": "de", "Accept": "text/html"}
# Words English sentences cannot do without and German never uses.
ENGLISH = re.compile(
    r"(?<![\w-])(the|is|are|must|cannot|not|this|there|which|should|has|have|does|of|and"
    r"|with|from|only|been|no|yet|for|to|a|an?y|give|name|lies|between|number|such)(?![\w-])",
    re.IGNORECASE,
)


class _Alerts(HTMLParser):
    """The text of alerts and error texts (role=alert, .problem, an error page's main),
    whatever language they claim; code and pre are machine text people may copy, except
    `code.reported`: a text the page shows as reported because no catalog had it."""

    def __init__(self, whole_main: bool) -> None:
        super().__init__()
        self.whole_main = whole_main
        self.depth: list[tuple[str, bool]] = []
        self.parts: list[str] = []
        self.english_marks = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if named.get("lang") == "en" and tag != "a":
            self.english_marks += 1
        if tag in {"br", "img", "input", "meta", "link", "hr", "wbr"}:
            return
        inside = bool(self.depth and self.depth[-1][1])
        alert = named.get("role") == "alert" or "problem" in (named.get("class") or "").split()
        alert = alert or (self.whole_main and tag == "main")
        reported = tag == "code" and "reported" in (named.get("class") or "").split()
        machine = tag in {"code", "pre", "script", "style", "textarea"} and not reported
        self.depth.append((tag, (inside or alert) and not machine))

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"br", "img", "input", "meta", "link", "hr", "wbr"} and self.depth:
            self.depth.pop()

    def handle_data(self, data: str) -> None:
        if self.depth and self.depth[-1][1] and data.strip():
            self.parts.append(data.strip())


def english_in_alerts(html: str, *, error_page: bool = False) -> list[str]:
    parser = _Alerts(error_page)
    parser.feed(html)
    found = [part for part in parser.parts if ENGLISH.search(part)]
    if parser.english_marks:
        found.append(f"{parser.english_marks} part(s) marked lang=en")
    assert parser.parts, "the page shows an alert or an error text"
    return found


def test_the_detector_finds_english_sentences() -> None:
    page = (
        '<div role="alert"><p>Nicht gespeichert: <span lang="en">lat is a number</span></p></div>'
    )
    assert english_in_alerts(page) == ["lat is a number", "1 part(s) marked lang=en"]
    german = '<div role="alert"><p>Nicht gespeichert: Breite ist eine Zahl, z. B. <code>54,62</code></p></div>'
    assert english_in_alerts(german) == []
    reported = '<p class="problem">Fehler: <code class="reported">no such thing</code></p>'
    assert english_in_alerts(reported) == ["no such thing"]


async def _publish(client: Any, **fields: str) -> Any:
    page = await (await client.get("/admin/console/datasets")).text()
    return await client.post(
        "/admin/console/datasets",
        data={"csrf_token": csrf_of(page), **fields},
        headers={"Accept-Language": "de"},
        allow_redirects=False,
    )


async def test_refusals_on_german_console_pages_are_german(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    node: Node = make_node(tmp_path, name="Bredstedt")
    client = await signed_in_client(aiohttp_client, node)
    published = await _publish(
        client,
        title_de="Pegel (Beispieldaten)",
        description_de="Beispieldaten.",
        contact_email="amt@bredstedt.example",
        policy="research-only",
        frequency="DAILY",
        theme="ENVI",
        license="dl-by-de/2.0",
    )
    assert published.status == 303, await published.text()
    dataset = published.headers["Location"].rsplit("/", 1)[-1]

    pages: dict[str, str] = {}
    refused = await _publish(
        client,
        title_de="Pegel",
        contact_email="keine Adresse",
        policy="research-only",
        temporal_start="gestern",
        landing_page="kein Link",
    )
    assert refused.status == 422
    pages["publish"] = await refused.text()

    devices = await (await client.get("/admin/console/devices")).text()
    for name, form in {
        "device: coordinate": {"device": "eui-1", "dataset": dataset, "lat": "Norden"},
        "device: range": {"device": "eui-1", "dataset": dataset, "lat": "95"},
        "device: dataset": {"device": "eui-1", "dataset": "gibt-es-nicht"},
    }.items():
        answer = await client.post(
            "/admin/console/devices",
            data={"csrf_token": csrf_of(devices), **form},
            headers={"Accept-Language": "de"},
        )
        assert answer.status == 422, name
        pages[name] = await answer.text()

    agreements = await (await client.get("/admin/console/agreements")).text()
    for name, form in {
        "agreement: nobody": {"dataset": dataset, "assignee": ""},
        "agreement: no dataset": {"dataset": "gibt-es-nicht", "assignee": "https://kreis.example"},
        "agreement: policy": {
            "dataset": dataset,
            "assignee": "https://firma.example",
            "purpose": "https://w3id.org/allmende/ns#commercial",
        },
        "agreement: no such": {"id": "urn:uuid:nope", "action": "token"},
    }.items():
        path = "/admin/console/agreements" + ("/action" if "action" in form else "")
        answer = await client.post(
            path,
            data={"csrf_token": csrf_of(agreements), **form},
            headers={"Accept-Language": "de"},
        )
        assert answer.status == 422, (name, await answer.text())
        pages[name] = await answer.text()

    refused = await client.get(
        f"/datasets/{dataset}/observations",
        headers={"Accept": "application/json", "Accept-Language": "de"},
    )
    assert refused.status == 401
    assert (await refused.json())["detail"] == (
        f"Den Datensatz „{dataset}“ gibt es nur mit einer Vereinbarung: Ohne Zugangs-Token."
    )
    audit = await (await client.get("/admin/console/audit", headers=GERMAN)).text()
    assert "Ohne Zugangs-Token." in audit and "no access token" not in audit

    found = {name: english_in_alerts(html) for name, html in pages.items()}
    assert found == {key: [] for key in pages}, found


async def test_error_pages_and_query_errors_are_german(tmp_path: Path, aiohttp_client: Any) -> None:
    node: Node = make_node(tmp_path, name="Bredstedt")
    client = await signed_in_client(aiohttp_client, node)
    found = {}
    for path in (
        "/datasets/gibt-es-nicht",
        "/sensors/gibt-es-nicht",
        "/villages/nirgendwo/sensors/x",
    ):
        answer = await client.get(path, headers=GERMAN)
        assert answer.status == 404, path
        found[path] = english_in_alerts(await answer.text(), error_page=True)
    query = await client.get("/sparql", params={"query": "SELEC * WHERE"}, headers=GERMAN)
    assert query.status in (200, 400)  # the query page again, with what is wrong
    found["/sparql"] = english_in_alerts(await query.text())
    assert found == {key: [] for key in found}, found


async def test_api_problems_speak_the_language_asked_for(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    node: Node = make_node(tmp_path, name="Bredstedt")
    client = await signed_in_client(aiohttp_client, node)
    client.session.cookie_jar.clear()
    plain = await client.get("/datasets/gibt-es-nicht", headers={"Accept": "application/json"})
    english = await plain.json()
    assert plain.status == 404 and plain.headers["Content-Language"] == "en"
    assert english["detail"] == "there is no dataset 'gibt-es-nicht'"
    asked = await client.get(
        "/datasets/gibt-es-nicht",
        headers={"Accept": "application/json", "Accept-Language": "de-DE,de;q=0.9,en;q=0.5"},
    )
    german = await asked.json()
    assert asked.headers["Content-Language"] == "de"
    assert german["detail"] == "Es gibt keinen Datensatz „gibt-es-nicht“."
    assert {k: v for k, v in german.items() if k != "detail"} == {
        k: v for k, v in english.items() if k != "detail"
    }


async def test_field_errors_of_an_api_answer_in_german(tmp_path: Path, aiohttp_client: Any) -> None:
    """The messages inside a problem (the field errors of a dataset description, a body
    that is not JSON) are translated too; the rest of the answer is the same."""
    node: Node = make_node(tmp_path, name="Bredstedt")
    client = await signed_in_client(aiohttp_client, node)
    client.session.cookie_jar.clear()
    german = {**admin_headers(node), "Accept-Language": "de"}
    broken = await client.post("/admin/datasets", data=b"{", headers=german)
    assert broken.status == 400
    assert (await broken.json())["detail"].startswith("Der Inhalt ist kein gültiges JSON: ")
    body = {"title": {"de": "Pegel"}, "contact": {"email": "keine Adresse"}, "bogus": 1}
    refused = await client.post("/admin/datasets", json=body, headers=german)
    errors = {e["field"]: e["message"] for e in (await refused.json())["errors"]}
    assert errors["contact.email"] == "Das ist keine E-Mail-Adresse."
    assert errors["bogus"] == "Dieses Feld gibt es hier nicht."
    english = await client.post("/admin/datasets", json=body, headers=admin_headers(node))
    errors = {e["field"]: e["message"] for e in (await english.json())["errors"]}
    assert errors["bogus"] == "Extra inputs are not permitted"


def test_policies_explain_themselves_from_their_catalog() -> None:
    policy = load_template(
        "research-only",
        assigner="https://bredstedt.example/",
        target="https://bredstedt.example/datasets/x",
        until="2027-12-31",
    )
    german = " ".join(explain(policy, "de"))
    assert (
        "Erlaubt: nutzen – unter der Bedingung: der Zweck ist eine Art von Forschung" in german
    ), german
    terms = dict(plain_terms(policy, "de", open_data=False, publisher="Bredstedt"))
    assert terms["Wofür?"] == "nur für: Forschung"
    words = " ".join(
        explain(policy, "en")
        + [t for pair in plain_terms(policy, "en", open_data=False, publisher="B") for t in pair]
    )
    assert not re.search(r"[äöüß]|\b(und|nur|wenn|Zweck)\b", words), words
