"""Harvesters get RDF, browsers the page: content negotiation of both catalogs."""

from __future__ import annotations

from typing import Any

import pytest

from allmende.node.runtime import Node
from tests.catalog.samples import publish_all

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("path", ["/catalog", "/federation/catalog"])
@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("*/*", "text/turtle"),
        ("", "text/turtle"),
        ("text/turtle", "text/turtle"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/ld+json", "application/ld+json"),
        ("application/rdf+xml;q=0.5, text/turtle;q=0.9", "text/turtle"),
    ],
)
async def test_harvesters_get_rdf(
    client: Any, node: Node, path: str, accept: str, media_type: str
) -> None:
    await publish_all(client, node)
    response = await client.get(path, headers={"Accept": accept}, allow_redirects=False)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert "Accept" in response.headers.get("Vary", "")


async def test_browsers_get_the_page(client: Any) -> None:
    own = await client.get("/catalog", headers={"Accept": BROWSER})
    assert own.status == 200 and own.headers["Content-Type"].startswith("text/html")
    pooled = await client.get(
        "/federation/catalog", headers={"Accept": BROWSER}, allow_redirects=False
    )
    assert pooled.status == 303 and pooled.headers["Location"] == "/region"


async def test_json_only_when_asked_for(client: Any, node: Node) -> None:
    await publish_all(client, node)
    for headers, params in (({"Accept": "application/json"}, {}), ({}, {"format": "json"})):
        response = await client.get("/federation/catalog", headers=headers, params=params)
        assert response.status == 200
        assert (await response.json())["total"] == 3
