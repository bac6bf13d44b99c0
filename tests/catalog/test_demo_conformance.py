"""The demo's catalogs conform to DCAT-AP.de 3.0 and DCAT-AP 3: a village's own and its federated
catalog, every page, by the official shapes (tests/catalog/shacl_official.py, shacl_dcat_ap_3.py)."""

from __future__ import annotations

import aiohttp
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from allmende.vocab.namespaces import DCAT, DCT, GSP, HYDRA, LOCN, ODRL
from tests.catalog import shacl_dcat_ap_3, shacl_official
from tests.federation.villages import Running


async def every_page(session: aiohttp.ClientSession, url: str) -> tuple[Graph, int]:
    """All pages of a catalog in Turtle, followed along hydra:next, as one graph."""
    merged, pages = Graph(), 0
    next_page: str | None = url
    while next_page:
        async with session.get(next_page, headers={"Accept": "text/turtle"}) as response:
            assert response.status == 200, await response.text()
            page = Graph().parse(data=await response.text(), format="turtle")
        pages += 1
        found = list(page.objects(None, HYDRA.next))
        next_page = str(found[0]) if found else None
        merged += page
    return merged, pages


async def test_a_village_and_its_federated_catalog_violate_no_official_shape(
    villages: list[Running],
) -> None:
    bredstedt = villages[1]
    async with aiohttp.ClientSession() as session:
        own, own_pages = await every_page(session, f"{bredstedt.url}/catalog?page_size=2")
        pooled, pooled_pages = await every_page(
            session, f"{bredstedt.url}/federation/catalog?page_size=4"
        )
    assert (own_pages, pooled_pages) == (2, 3)
    assert len(set(own.subjects(RDF.type, DCAT.Dataset))) == 3
    assert len(set(pooled.subjects(RDF.type, DCAT.Dataset))) == 9
    assert (URIRef(f"{bredstedt.url}/federation/catalog"), RDF.type, DCAT.Catalog) in pooled
    for graph in (own, pooled):
        for dataset in graph.subjects(RDF.type, DCAT.Dataset):
            assert graph.value(dataset, ODRL.hasPolicy) is not None, dataset
            services = {
                graph.value(d, DCAT.accessService)
                for d in graph.objects(dataset, DCAT.distribution)
            }
            assert any(s is not None and (s, RDF.type, DCAT.DataService) in graph for s in services)
            geometries = [
                g
                for place in graph.objects(dataset, DCT.spatial)
                for g in graph.objects(place, LOCN.geometry)
            ]
            assert [isinstance(g, Literal) and g.datatype for g in geometries] == [GSP.wktLiteral]
            as_geojson = [
                literal
                for place in graph.objects(dataset, DCT.spatial)
                for shape in graph.objects(place, GSP.hasGeometry)
                for literal in graph.objects(shape, GSP.asGeoJSON)
            ]
            assert [isinstance(g, Literal) and g.datatype for g in as_geojson] == [
                GSP.geoJSONLiteral
            ]
    assert shacl_official.violations(own) == []
    assert shacl_official.violations(pooled) == []
    assert shacl_dcat_ap_3.violations(own) == []
    assert shacl_dcat_ap_3.violations(pooled) == []
