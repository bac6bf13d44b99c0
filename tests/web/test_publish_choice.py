"""Publishing asks for a policy instead of preselecting one; /admin finds the console."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from allmende.node.catalog.models import CatalogDataset
from allmende.node.http.app import create_app
from allmende.node.models import EventRecord
from allmende.node.runtime import Node
from tests.support import make_node
from tests.web.test_console import csrf_of, signed_in_client

FIELDS = {
    "title_de": "Pegel am Mühlenteich (Beispieldaten)",
    "description_de": "Wasserstand, alle 15 Minuten. Beispieldaten.",
    "theme": "ENVI",
    "license": "dl-by-de/2.0",
    "frequency": "15MIN",
    "contact_email": "daten@bredstedt.example",
}


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_node(tmp_path, name="Bredstedt")


def written(node: Node) -> tuple[int, int]:
    with Session(node.engine) as session:
        datasets = len(session.exec(select(CatalogDataset)).all())
        events = len(session.exec(select(EventRecord)).all())
    return datasets, events


async def test_the_form_preselects_no_policy_and_explains_each(
    aiohttp_client: Any, node: Node
) -> None:
    client = await signed_in_client(aiohttp_client, node)
    for language, example in (("de", "Schülerin"), ("en", "pupil")):
        page = await (
            await client.get("/admin/console/datasets", headers={"Accept-Language": language})
        ).text()
        radios = re.findall(r'<input type="radio"[^>]*name="policy"[^>]*>', page)
        assert len(radios) >= 6, page
        assert not [r for r in radios if "checked" in r], "a policy is preselected"
        assert "<select" not in page.split('id="policy"', 1)[1].split("</fieldset>", 1)[0]
        assert example in page  # open data's sentence names who could use it
        assert page.count("z. B." if language == "de" else "e.g.") >= 6


async def test_publishing_without_a_policy_is_a_form_error_and_writes_nothing(
    aiohttp_client: Any, node: Node
) -> None:
    client = await signed_in_client(aiohttp_client, node)
    page = await (await client.get("/admin/console/datasets")).text()
    before = written(node)
    response = await client.post(
        "/admin/console/datasets",
        data={"csrf_token": csrf_of(page), **FIELDS},
        allow_redirects=False,
    )
    text = await response.text()
    assert response.status == 422, text
    assert 'role="alert"' in text and "Bitte wählen Sie Nutzungsbedingungen" in text
    assert FIELDS["title_de"] in text  # what was typed stays in the form
    assert written(node) == before
    chosen = await client.post(
        "/admin/console/datasets",
        data={"csrf_token": csrf_of(text), **FIELDS, "policy": "open-data-attribution"},
        allow_redirects=False,
    )
    assert chosen.status == 303, await chosen.text()
    assert written(node)[0] == before[0] + 1


async def test_admin_without_slash_redirects_to_the_console(
    aiohttp_client: Any, node: Node
) -> None:
    client = await aiohttp_client(create_app(node))
    response = await client.get("/admin", allow_redirects=False)
    assert response.status in (301, 308)
    assert response.headers["Location"] == "/admin/"
    followed = await client.get("/admin")
    assert followed.status == 200 and str(followed.url).endswith("/admin/login")
