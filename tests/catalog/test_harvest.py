"""What a harvester (CKAN, GovData, piveau) sees: validators, 304s, paging, retractions."""

from __future__ import annotations

from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from allmende.node.catalog import service
from allmende.node.events import SignedEvent
from allmende.node.events.log import BatchProof
from allmende.node.runtime import Node
from allmende.policies import jws
from allmende.vocab.namespaces import DCAT, HYDRA
from tests.catalog.samples import air, budget, levels, publish
from tests.support import admin_headers


def datasets_in(turtle: bytes) -> set[str]:
    graph = Graph()
    graph.parse(data=turtle, format="turtle")
    return {str(d).rsplit("/", 1)[-1] for d in graph.subjects(RDF.type, DCAT.Dataset)}


async def test_a_harvester_that_remembers_the_etag_gets_304_and_sees_a_retraction(
    client: Any, node: Node
) -> None:
    for sample in (air, levels, budget):
        await publish(client, node, sample(node))
    first = await client.get("/catalog")
    assert first.status == 200
    etag = first.headers["ETag"]
    last_modified = first.headers["Last-Modified"]
    assert datasets_in(await first.read()) == {"luftqualitaet", "pegelstaende", "haushalt-2024"}

    again = await client.get("/catalog", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["ETag"] == etag
    assert await again.read() == b""
    by_date = await client.get("/catalog", headers={"If-Modified-Since": last_modified})
    assert by_date.status == 304
    other_format = await client.get(
        "/catalog", headers={"If-None-Match": etag, "Accept": "application/ld+json"}
    )
    assert other_format.status == 200  # another representation has its own validator

    dataset_etag = (await client.get("/datasets/pegelstaende")).headers["ETag"]
    retracted = await client.delete("/admin/datasets/pegelstaende", headers=admin_headers(node))
    assert retracted.status == 200

    changed = await client.get("/catalog", headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert datasets_in(await changed.read()) == {"luftqualitaet", "haushalt-2024"}
    gone = await client.get("/datasets/pegelstaende", headers={"If-None-Match": dataset_etag})
    assert gone.status == 410
    assert gone.headers["Content-Type"].startswith("application/problem+json")
    unchanged = await client.get("/catalog", headers={"If-None-Match": changed.headers["ETag"]})
    assert unchanged.status == 304

    # peers see the deletion too: a signed retraction event in the log
    events = await (await client.get("/admin/events", headers=admin_headers(node))).json()
    types = [item["event"]["type"] for item in events["items"]]
    assert types[-1] == "de.allmende.dataset.retracted"
    last = events["items"][-1]
    assert last["event"]["subject"] == "pegelstaende"
    keys = jws.keys_from_jwks(node.key.jwks())
    SignedEvent(
        event=last["event"],
        signature=last.get("signature"),
        batch=BatchProof(**last["batch"]) if "batch" in last else None,
    ).verify(keys)


async def test_an_update_changes_the_validators_and_an_unchanged_put_does_not(
    client: Any, node: Node
) -> None:
    body = air(node)
    await publish(client, node, body)
    first = await client.get("/datasets/luftqualitaet")
    etag = first.headers["ETag"]
    same = await client.put("/admin/datasets/luftqualitaet", json=body, headers=admin_headers(node))
    assert (await same.json())["changed"] is False
    assert (
        await client.get("/datasets/luftqualitaet", headers={"If-None-Match": etag})
    ).status == 304
    patched = await client.patch(
        "/admin/datasets/luftqualitaet",
        json={"keywords": {"de": ["Luft", "Stickstoffdioxid"]}},
        headers=admin_headers(node),
    )
    assert patched.status == 200, await patched.text()
    assert (await patched.json())["changed"] is True
    now = await client.get("/datasets/luftqualitaet", headers={"If-None-Match": etag})
    assert now.status == 200
    assert "Stickstoffdioxid" in (await now.text())


async def test_pages_cover_the_catalog_exactly_once(client: Any, node: Node) -> None:
    ids = [f"messreihe-{n:02d}" for n in range(7)]
    for dataset_id in ids:
        body = {**budget(node), "id": dataset_id, "distributions": []}
        body["title"] = {"de": f"Messreihe {dataset_id}", "en": f"Series {dataset_id}"}
        await publish(client, node, body)
    seen: list[str] = []
    url: str | None = "/catalog?page_size=3"
    pages = 0
    while url is not None:
        response = await client.get(url)
        assert response.status == 200
        graph = Graph()
        graph.parse(data=await response.read(), format="turtle")
        catalog = URIRef(f"{node.base_url}/catalog")
        assert int(graph.value(catalog, HYDRA.totalItems)) == 7
        view = graph.value(catalog, HYDRA.view)
        assert (view, RDF.type, HYDRA.PartialCollectionView) in graph
        assert str(graph.value(view, HYDRA.last)).endswith("page=3")
        page_ids = sorted(str(d).rsplit("/", 1)[-1] for d in graph.objects(catalog, DCAT.dataset))
        assert len(page_ids) <= 3
        seen += page_ids
        following = graph.value(view, HYDRA.next)
        assert following == graph.value(view, HYDRA.nextPage)  # the legacy term CKAN reads
        url = str(following).removeprefix(node.base_url) if following is not None else None
        pages += 1
    assert pages == 3
    assert seen == sorted(ids)
    beyond = await client.get("/catalog?page=4&page_size=3")
    assert beyond.status == 404
    bad = await client.get("/catalog?page_size=100000")
    assert bad.status == 400


async def test_publishing_is_visible_at_once_after_the_answer(client: Any, node: Node) -> None:
    """The admin API answers after the projection, so the next read sees the change."""
    await publish(client, node, budget(node))
    assert datasets_in(await (await client.get("/catalog")).read()) == {"haushalt-2024"}
    await service.retract(node, "haushalt-2024")
    assert datasets_in(await (await client.get("/catalog")).read()) == set()
