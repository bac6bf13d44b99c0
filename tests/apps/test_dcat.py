"""The app directory as DCAT validates against the official DCAT-AP.de shapes."""

from __future__ import annotations

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF

from tests.apps.conftest import CLIMATE, Village
from tests.catalog.shacl_official import violations


async def test_approved_apps_are_dcat_data_services_valid_as_dcat_ap_de(village: Village) -> None:
    approved = (await village.register())["client_id"]
    await village.register()  # in the sandbox: not in the catalog
    await village.approve(approved)
    response = await village.client.get("/apps", headers={"Accept": "text/turtle"})
    assert response.status == 200 and response.content_type == "text/turtle"
    graph = Graph().parse(data=await response.text(), format="turtle")
    services = list(graph.subjects(RDF.type, DCAT.DataService))
    assert len(services) == 1 and str(services[0]).endswith(f"#app-{approved}")
    served = set(graph.objects(services[0], DCAT.servesDataset))
    assert served == {URIRef(f"{village.node.base_url}/datasets/{CLIMATE}")}
    assert violations(graph) == []

    broken = Graph().parse(data=await response.text(), format="turtle")
    broken.remove((None, URIRef("http://purl.org/dc/terms/title"), None))
    assert violations(broken), "the shapes must notice a service without a title"


async def test_approved_apps_are_services_of_the_data_catalog(village: Village) -> None:
    from rdflib.namespace import DCTERMS

    from allmende.node.catalog.rdf import catalog_iri

    catalog = URIRef(catalog_iri(village.node.base_url))
    before = await village.client.get("/catalog", headers={"Accept": "text/turtle"})
    assert before.status == 200
    client_id = (await village.register())["client_id"]
    await village.approve(client_id)
    response = await village.client.get(
        "/catalog", headers={"Accept": "text/turtle", "If-None-Match": before.headers["ETag"]}
    )
    assert response.status == 200, "an approval changes the catalog, so no 304 of the old page"
    graph = Graph().parse(data=await response.text(), format="turtle")
    app = URIRef(f"{village.node.base_url}/apps#app-{client_id}")
    assert (catalog, DCAT.service, app) in graph
    assert (app, RDF.type, DCAT.DataService) in graph
    assert (app, DCAT.servesDataset, URIRef(f"{village.node.base_url}/datasets/{CLIMATE}")) in graph
    assert (app, DCTERMS.publisher, URIRef("https://dorfapp.example/")) in graph
    assert violations(graph) == []

    await village.client.post(
        f"/admin/apps/{client_id}/suspend", json={"reason": "Prüfung"}, headers=village.admin
    )
    after = await village.client.get("/catalog", headers={"Accept": "text/turtle"})
    assert (catalog, DCAT.service, app) not in Graph().parse(
        data=await after.text(), format="turtle"
    )
