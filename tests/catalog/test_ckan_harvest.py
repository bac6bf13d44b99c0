"""CKAN's ckanext-dcat harvests the demo's catalogs: every dataset arrives complete.

Three demo villages federate over loopback. CKAN's own RDF parser (`ckanext.dcat.processors.
RDFParser`) with the DCAT-AP profiles it ships reads every page of a village's catalog and of
its federated catalog, fetched with `requests` as its harvester fetches them (HEAD, then GET,
the format taken from the Content-Type) and followed along Hydra `next` links as its harvester
follows them. Licences are matched by CKAN's own licence register, loaded from a licence list
like the one GovData's CKAN uses.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.federation.villages import Running

ckan_common = pytest.importorskip("ckan.common", reason="ckan is in the dev extra")
processors = pytest.importorskip("ckanext.dcat.processors", reason="ckanext-dcat is in dev")

LICENCE_LIST = Path(__file__).with_name("ckan_licenses.json")
# DCAT-AP 3 (ckanext-dcat's default) and 2 (what many portals still run); it ships no
# DCAT-AP.de profile (GovData's ckanext-dcatde is not on PyPI)
PROFILES = ("euro_dcat_ap_3", "euro_dcat_ap_2")
DEMO_LICENCE = {"strassenlicht": "other-closed"}  # the others are dl-de/by-2-0


def harvest(
    url: str, profile: str = PROFILES[0]
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """What ckanext-dcat's RDF harvester gathers from `url` on: its dataset dicts, and the
    (url, content type) of every page it read."""
    ckan_common.config["licenses_group_url"] = LICENCE_LIST.resolve().as_uri()
    datasets: list[dict[str, Any]] = []
    pages: list[tuple[str, str]] = []
    session = requests.Session()
    next_page: str | None = url
    while next_page:
        assert len(pages) < 50, "the Hydra links do not end"
        assert session.head(next_page, timeout=30).ok
        response = session.get(next_page, timeout=30)
        response.raise_for_status()
        content_type = response.headers["Content-Type"].split(";", 1)[0]
        pages.append((next_page, content_type))
        parser = processors.RDFParser(profiles=[profile])
        parser.parse(response.text, _format=content_type)
        datasets.extend(parser.datasets())
        next_page = parser.next_page()
    return datasets, pages


def extras(dataset: dict[str, Any]) -> dict[str, str]:
    return {item["key"]: item["value"] for item in dataset.get("extras", [])}


def assert_complete(dataset: dict[str, Any]) -> None:
    """Title, description, licence, spatial coverage, distributions and publisher."""
    found = extras(dataset)
    uri = found["uri"]
    dataset_id = uri.rstrip("/").rsplit("/", 1)[-1]
    assert dataset["title"].strip(), uri
    assert dataset["notes"].strip(), uri
    assert dataset["license_id"] == DEMO_LICENCE.get(dataset_id, "dl-by-de/2.0"), uri
    geometry = json.loads(found["spatial"])
    assert geometry["type"] == "Polygon" and len(geometry["coordinates"][0]) == 5, uri
    assert found["spatial_uri"].startswith("http"), uri
    assert found["publisher_name"].strip() and found["publisher_uri"].startswith("http"), uri
    resources = dataset["resources"]
    assert resources, uri
    assert all(r["url"].startswith("http") for r in resources), uri
    services = [r for r in resources if r.get("access_services")]
    # without ckanext-scheming, CKAN keeps a resource's access services as a JSON string
    endpoints = {
        url for r in services for s in json.loads(r["access_services"]) for url in s["endpoint_url"]
    }
    assert any(e.endswith("/sparql") for e in endpoints), (uri, endpoints)
    downloads = [r for r in resources if r.get("download_url")]
    assert downloads, uri
    base = uri.split("/datasets/", 1)[0]
    graph = quote(f"{base}/graphs/datasets/{dataset_id}", safe="")
    assert [r["download_url"] for r in downloads] == [f"{base}/rdf-graphs?graph={graph}"]


async def test_ckan_harvests_every_dataset_of_a_village_and_of_the_federation(
    villages: list[Running],
) -> None:
    bredstedt = villages[1]
    expected_own = sorted(
        f"{bredstedt.url}/datasets/{d['id']}" for d in bredstedt.village.datasets()
    )
    expected_pooled = sorted(
        f"{running.url}/datasets/{d['id']}"
        for running in villages
        for d in running.village.datasets()
    )
    for profile in PROFILES:
        own, own_pages = await asyncio.to_thread(
            harvest, f"{bredstedt.url}/catalog?page_size=2", profile
        )
        assert [p[1] for p in own_pages] == ["text/turtle", "text/turtle"]
        assert sorted(extras(d)["uri"] for d in own) == expected_own
        for dataset in own:
            assert_complete(dataset)

        pooled, pooled_pages = await asyncio.to_thread(
            harvest, f"{bredstedt.url}/federation/catalog?page_size=2", profile
        )
        assert len(pooled_pages) == 5
        assert sorted(extras(d)["uri"] for d in pooled) == expected_pooled
        for dataset in pooled:
            assert_complete(dataset)


@pytest.mark.parametrize(
    ("path", "fmt", "media_type"),
    [
        ("/catalog", "rdf", "application/rdf+xml"),
        ("/catalog", "jsonld", "application/ld+json"),
        ("/federation/catalog", "rdf", "application/rdf+xml"),
        ("/federation/catalog", "nt", "application/n-triples"),
    ],
)
async def test_every_page_keeps_the_format_the_harvester_asked_for(
    villages: list[Running], path: str, fmt: str, media_type: str
) -> None:
    url = f"{villages[0].url}{path}?format={fmt}&page_size=1"
    datasets, pages = await asyncio.to_thread(harvest, url)
    total = 3 if path == "/catalog" else 9
    assert len(pages) == len(datasets) == total
    assert {p[1] for p in pages} == {media_type}
    assert all(f"format={fmt}" in p[0] and "page_size=1" in p[0] for p in pages)
