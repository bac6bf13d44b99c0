"""Ranked search over titles, descriptions and keywords, in JSON and in DCAT."""

from __future__ import annotations

from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from allmende.node.runtime import Node
from allmende.vocab.namespaces import DCAT, HYDRA, SCHEMA
from tests.catalog.samples import air, budget, levels, publish
from tests.support import admin_headers


async def publish_samples(client: Any, node: Node) -> None:
    for sample in (air, levels, budget):
        await publish(client, node, sample(node))
    extra = budget(node)
    extra.update(
        id="baumkataster",
        title={"de": "Baumkataster", "en": "Tree register"},
        description={"de": "Alle Straßenbäume mit Art und Pflanzjahr; die Luft dankt es."},
        keywords={"de": ["Bäume", "Grünflächen"]},
        themes=["ENVI"],
        publisher={"name": "Bauhof Lütjenholm"},
        distributions=[],
    )
    await publish(client, node, extra)


async def search(client: Any, query: str) -> dict[str, Any]:
    response = await client.get(f"/catalog/search?{query}")
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("application/json")
    return dict(await response.json())


async def test_title_matches_rank_above_description_matches(client: Any, node: Node) -> None:
    await publish_samples(client, node)
    result = await search(client, "q=Luft")
    ids = [item["id"] for item in result["items"]]
    assert ids == ["luftqualitaet", "baumkataster"]  # title+keyword beats a description word
    assert result["items"][0]["score"] > result["items"][1]["score"]
    assert result["total"] == 2
    first = result["items"][0]
    assert first["themes"] == ["ENVI", "HEAL"] and first["open"] is True
    assert first["iri"] == f"{node.base_url}/datasets/luftqualitaet"


async def test_words_are_folded_and_compounds_found(client: Any, node: Node) -> None:
    await publish_samples(client, node)
    assert [i["id"] for i in (await search(client, "q=STRASSENBAUME"))["items"]] == ["baumkataster"]
    assert [i["id"] for i in (await search(client, "q=qualität"))["items"]] == ["luftqualitaet"]
    assert [i["id"] for i in (await search(client, "q=pegel+hochwasser"))["items"]] == [
        "pegelstaende"
    ]
    assert (await search(client, "q=pegel+haushalt"))["total"] == 0  # every word must match


async def test_filters_by_theme_keyword_and_publisher(client: Any, node: Node) -> None:
    await publish_samples(client, node)
    by_theme = {i["id"] for i in (await search(client, "theme=ENVI"))["items"]}
    assert by_theme == {"luftqualitaet", "pegelstaende", "baumkataster"}
    assert {i["id"] for i in (await search(client, "theme=GOVE"))["items"]} == {"haushalt-2024"}
    assert [i["id"] for i in (await search(client, "keyword=hochwasser"))["items"]] == [
        "pegelstaende"
    ]
    assert [i["id"] for i in (await search(client, "publisher=bauhof"))["items"]] == [
        "baumkataster"
    ]
    combined = await search(client, "q=luft&theme=HEAL")
    assert [i["id"] for i in combined["items"]] == ["luftqualitaet"]
    bad = await client.get("/catalog/search?theme=WEATHER")
    assert bad.status == 400


async def test_results_as_dcat_keep_their_rank_and_page(client: Any, node: Node) -> None:
    await publish_samples(client, node)
    response = await client.get(
        "/catalog/search?q=luft&page_size=1", headers={"Accept": "text/turtle"}
    )
    assert response.status == 200
    graph = Graph()
    graph.parse(data=await response.read(), format="turtle")
    assert set(graph.subjects(RDF.type, DCAT.Dataset)) == {
        URIRef(f"{node.base_url}/datasets/luftqualitaet")
    }
    results = next(graph.subjects(RDF.type, SCHEMA.ItemList))
    element = graph.value(results, SCHEMA.itemListElement)
    assert int(graph.value(element, SCHEMA.position)) == 1
    assert graph.value(element, SCHEMA.item) == URIRef(f"{node.base_url}/datasets/luftqualitaet")
    view = graph.value(results, HYDRA.view)
    assert "page=2" in str(graph.value(view, HYDRA.next))
    assert int(graph.value(results, HYDRA.totalItems)) == 2
    second = await client.get(
        "/catalog/search?q=luft&page_size=1&page=2", headers={"Accept": "text/turtle"}
    )
    graph = Graph()
    graph.parse(data=await second.read(), format="turtle")
    assert set(graph.subjects(RDF.type, DCAT.Dataset)) == {
        URIRef(f"{node.base_url}/datasets/baumkataster")
    }
    html = await client.get("/catalog/search?q=luft&format=html")
    assert "Luftqualität am Dorfplatz" in await html.text()


async def test_search_follows_changes(client: Any, node: Node) -> None:
    await publish_samples(client, node)
    assert (await search(client, "q=baumkataster"))["total"] == 1
    await client.delete("/admin/datasets/baumkataster", headers=admin_headers(node))
    assert (await search(client, "q=baumkataster"))["total"] == 0
