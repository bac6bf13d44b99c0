"""The gettext catalogs are complete and current, and pages read as their language writes.

Fails when a text in the templates or in node/web is missing from the template catalog
(run `python -m allmende.node.web.catalogs update`), when a German or English entry is empty, fuzzy
or has other placeholders than its source, when a compiled .mo is older than its .po
(`python -m allmende.node.web.catalogs compile`), or when a German page shows an English text, a raw
code or a US-formatted number or date.
"""

from __future__ import annotations

import html as html_module
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from allmende.node.auth import mint_token
from allmende.node.http.app import create_app
from allmende.node.web.catalogs import BABEL_CONFIG, CATALOGS, Catalog
from allmende.node.web.i18n import LANGUAGES, texts
from tests.support import make_node
from tests.web.i18n_words import catalog, page_problems
from tests.web.test_console import csrf_of, signed_in_client
from tests.web.test_pooled_sensors import two_villages

KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
    "say": None,
    "NP_": (1, 2),
}


def _ids(messages: Any) -> set[tuple[str, str | None]]:
    found = set()
    for message in messages:
        if message.id:
            found.add(
                (message.id if isinstance(message.id, str) else message.id[0], message.context)
            )
    return found


@pytest.mark.parametrize("files", CATALOGS, ids=lambda c: c.domain)
def test_template_catalog_lists_every_text_of_the_sources(files: Catalog) -> None:
    with BABEL_CONFIG.open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    extracted = {
        (message if isinstance(message, str) else message[0], context)
        for sources in files.sources
        for _file, _line, message, _comments, context in extract_from_dir(
            str(sources), method_map, options_map, keywords=KEYWORDS
        )
    }
    with files.pot.open("rb") as source:
        listed = _ids(read_po(source))
    assert extracted - listed == set(), "new texts: run python -m allmende.node.web.catalogs update"
    assert listed - extracted == set(), (
        "texts no longer used: run python -m allmende.node.web.catalogs update"
    )


@pytest.mark.parametrize("files", CATALOGS, ids=lambda c: c.domain)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_translated(language: str, files: Catalog) -> None:
    with files.pot.open("rb") as source:
        template = _ids(read_po(source))
    translated = catalog(language, files.domain)
    assert _ids(translated) == template, "catalog and template differ: run the update"
    empty = [
        message.id
        for message in translated
        if message.id
        and (
            "fuzzy" in message.flags
            or not all(
                [message.string] if isinstance(message.string, str) else list(message.string or ())
            )
        )
    ]
    assert empty == [], f"untranslated in {language}: {empty}"
    problems = [(message.id, errors) for message, errors in translated.check() if errors]
    assert problems == [], problems


@pytest.mark.parametrize("files", CATALOGS, ids=lambda c: c.domain)
@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_its_source(language: str, files: Catalog) -> None:
    compiled = BytesIO()
    write_mo(compiled, catalog(language, files.domain))
    assert files.po(language).with_suffix(".mo").read_bytes() == compiled.getvalue(), (
        "run python -m allmende.node.web.catalogs compile"
    )


def test_numbers_dates_and_plurals_as_each_language_writes_them() -> None:
    de, en = texts("de"), texts("en")
    assert de.number("1234.5") == "1.234,5" and en.number("1234.5") == "1,234.5"
    assert de.number(54.7, 5) == "54,70000" and de.number("not a number") == "not a number"
    assert de.reading("true") == "ja" and en.reading("false") == "no"
    summer = datetime(2026, 7, 12, 13, 5, tzinfo=UTC)
    winter = "2026-12-07T16:30:00Z"
    assert de.datetime_text(summer) == "12.07.2026, 15:05 MESZ"  # Europe/Berlin, with the zone
    assert de.datetime_text(winter) == "07.12.2026, 17:30 MEZ"
    assert en.datetime_text(summer) == "12 Jul 2026, 15:05 CEST"
    assert de.datetime_text(datetime(2026, 12, 7, 16, 30)) == "07.12.2026, 17:30 MEZ"  # naive = UTC
    assert de.date_text("2026-07-12") == "12.07.2026"
    assert de.ago_text(winter, now=datetime(2026, 12, 7, 19, 30, tzinfo=UTC)) == "vor 3 Stunden"
    one, many = "%(num)s own sensor", "%(num)s own sensors"
    assert de.ngettext(one, many, 1) == "1 eigener Sensor"
    assert de.ngettext(one, many, 1234) == "1.234 eigene Sensoren"
    assert en.ngettext(one, many, 1) == "1 own sensor"


class _Text(HTMLParser):
    """A page's text as people read it: no scripts, styles, code or other-language parts."""

    SKIPPED = frozenset({"script", "style", "code", "pre", "textarea", "template"})
    VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "source", "wbr"})

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        self.stack: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        other = dict(attrs).get("lang") not in (None, self.language)
        self.stack.append(tag in self.SKIPPED or other or bool(self.stack and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def visible_parts(html: str, language: str = "de") -> list[str]:
    parser = _Text(language)
    parser.feed(html)
    return [part.strip() for part in parser.parts if part.strip()]


def german_page_problems(html: str) -> list[str]:
    return page_problems(visible_parts(html, "de"), "de")


def test_the_detector_finds_what_it_looks_for() -> None:
    page = "<p>Datensätze</p><p>Last heard 1,234.5 on 12/07/2026, UPDATE_CONT, dl-de/by-2-0</p>"
    found = german_page_problems(page)
    for expected in ("untranslated: Last heard", "US number: 1,234.5", "US date: 12/07/2026"):
        assert expected in found
    assert "code: UPDATE_CONT" in found and "code: dl-de/by-2-0" in found
    assert "untranslated: Datasets" in german_page_problems("<th>Datasets</th>")
    assert german_page_problems("<td>Home office Datasets survey</td>") == []  # data, not a label
    assert german_page_problems('<a lang="en">English</a><pre>SELECT ?s_p</pre>') == []


async def test_german_portal_pages_have_no_english_no_codes_no_us_formats(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    client = await two_villages(tmp_path, aiohttp_client)
    home = await (await client.get("/", headers={"Accept-Language": "de"})).text()
    links = set(re.findall(r'href="(/(?:sensors|villages|datasets)/[^"?]+)"', home))
    links |= set(
        re.findall(
            r'href="(/(?:sensors|villages)/[^"?]+)"', await (await client.get("/map")).text()
        )
    )
    sparql = await (await client.get("/sparql", headers={"Accept": "text/html"})).text()
    examples = [
        html_module.unescape(q) for q in re.findall(r'href="(/sparql\?query=[^"]+)"', sparql)
    ]
    assert examples, "the SPARQL page links its examples, which show results as a table"
    nav = re.search(r"<header.*?</header>", home, re.S)
    assert nav, "the page has its header with the navigation"
    listed = {
        p for p in re.findall(r'href="(/[^"?#]*)"', nav.group(0)) if not p.startswith("/admin")
    }
    paths = ["/", "/map", "/data", "/usage", "/sparql", "/region", "/catalog"]
    paths += sorted(listed - set(paths)) + sorted(links)
    paths += examples
    assert len(paths) > 8
    for path in paths:
        response = await client.get(path, headers={"Accept-Language": "de", "Accept": "text/html"})
        html = await response.text()
        assert response.status == 200, (path, html[:300])
        problems = german_page_problems(html)
        if path in examples:
            # a query's own strings are shown as it made them (the daily averages example
            # cuts the day out of the time as text); typed numbers and times are formatted
            assert 'class="table-wrap"' in html, path
            problems = [p for p in problems if not re.fullmatch(r"US date: \d{4}-\d\d-\d\d", p)]
        assert problems == [], path


async def test_german_console_pages_have_no_english_no_codes_no_us_formats(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    """With sensors, readings, datasets and a neighbouring village to show."""
    client = await two_villages(tmp_path, aiohttp_client)
    node = client.server.app["node"]
    form = await (await client.get("/admin/login")).text()
    signed = await client.post(
        "/admin/login",
        data={"csrf_token": csrf_of(form), "token": mint_token(node.key, node.id)},
        allow_redirects=False,
    )
    assert signed.status == 303
    devices = await (await client.get("/admin/console/devices")).text()
    pages = set(re.findall(r'href="(/admin/console/devices/[^"?#]+)"', devices))
    assert pages, "the sensor list links each sensor's page"
    for path in (
        "/admin/",
        "/admin/console/devices",
        "/admin/console/datasets",
        "/admin/console/agreements",
        "/admin/console/audit",
        "/admin/console/dataspace",
        "/admin/console/sessions",
        *sorted(pages),
    ):
        response = await client.get(path, headers={"Accept-Language": "de"})
        html = await response.text()
        assert response.status == 200, path
        assert german_page_problems(html) == [], path


async def test_refusals_name_fields_and_errors_in_words(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    node = make_node(tmp_path, name="Bredstedt")
    client = await signed_in_client(aiohttp_client, node)
    page = await (await client.get("/admin/console/datasets")).text()
    refused = await client.post(
        "/admin/console/datasets",
        data={
            "csrf_token": csrf_of(page),
            "title_de": "Pegel (Beispieldaten)",
            "description_de": "Beispieldaten.",
            "contact_email": "keine Adresse",
            "policy": "research-only",
            "temporal_start": "gestern",
        },
        headers={"Accept-Language": "de"},
    )
    html = await refused.text()
    assert refused.status == 422
    assert "Kontakt (E-Mail):" in html and "Daten ab:" in html  # the labels, not contact.email
    assert german_page_problems(html) == []
    missing = await client.get("/sensors/nope", headers={"Accept": "text/html"})
    assert missing.status == 404 and "404 – Seite nicht gefunden" in await missing.text()


async def test_the_language_switch_is_remembered(tmp_path: Path, aiohttp_client: Any) -> None:
    node = make_node(tmp_path, name="Bredstedt")
    client = await aiohttp_client(create_app(node))
    german = await (await client.get("/", headers={"Accept-Language": "en;q=0.4, de;q=0.9"})).text()
    assert '<html lang="de">' in german and 'href="/?lang=en"' in german
    switched = await client.get("/data?lang=en")
    assert '<html lang="en">' in await switched.text()
    assert "lang=en" in switched.headers.get("Set-Cookie", "")
    # the cookie now wins over the browser's German
    later = await (await client.get("/", headers={"Accept-Language": "de"})).text()
    assert '<html lang="en">' in later
