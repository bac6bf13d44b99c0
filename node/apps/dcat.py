"""The app directory as DCAT: a catalog of `dcat:DataService` entries, one per approved app,
so that harvesters that read the village's data catalog also find the apps built on it.

Each app is a service whose endpoint is the village's node (it acts through the node's API,
authorised by OAuth 2.0), which serves the datasets of the app's agreements; its publisher is
the developer, its landing page the app's homepage.
"""

from __future__ import annotations

from typing import Any

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from allmende.node.catalog.rdf import dataset_iri, operator_iri

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCAT_VERSION = URIRef(str(DCAT) + "version")
"""dcat:version (DCAT 3), which rdflib's DCAT namespace does not list yet."""
OAUTH2 = "https://www.rfc-editor.org/rfc/rfc6749"
"""The standard the apps' access conforms to (dct:conformsTo)."""


def catalog_iri(base: str) -> str:
    return f"{base}/apps#catalog"


def app_iri(base: str, client_id: str) -> str:
    return f"{base}/apps#app-{client_id}"


def directory_graph(base: str, operator: str, apps: list[dict[str, Any]]) -> Graph:
    """The approved apps (as `Registry.directory` lists them) as a DCAT catalog."""
    graph = Graph()
    graph.bind("dcat", DCAT)
    graph.bind("dct", DCTERMS)
    graph.bind("foaf", FOAF)
    graph.bind("vcard", VCARD)
    catalog = URIRef(catalog_iri(base))
    publisher = URIRef(operator_iri(base))
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal(f"Apps – {operator}", lang="de")))
    graph.add((catalog, DCTERMS.title, Literal(f"Apps – {operator}", lang="en")))
    graph.add(
        (
            catalog,
            DCTERMS.description,
            Literal(f"Apps, die {operator} geprüft und zugelassen hat.", lang="de"),
        )
    )
    graph.add((catalog, DCTERMS.description, Literal(f"Apps approved by {operator}.", lang="en")))
    graph.add((catalog, DCTERMS.publisher, publisher))
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal(operator)))
    add_services(graph, catalog, base, apps)
    return graph


def catalog_services(base: str, apps: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    """The approved apps as services of the node's data catalog (`/catalog`), so that a
    harvester of the village's data finds the apps built on it there too."""
    from allmende.node.catalog.rdf import catalog_iri as data_catalog

    graph = Graph()
    add_services(graph, URIRef(data_catalog(base)), base, apps)
    return list(graph)


def add_services(graph: Graph, catalog: URIRef, base: str, apps: list[dict[str, Any]]) -> None:
    """One `dcat:DataService` per app, listed by `catalog`."""
    publisher = URIRef(operator_iri(base))
    standard = URIRef(OAUTH2)
    if apps:
        graph.add((standard, RDF.type, DCTERMS.Standard))
    for app in apps:
        manifest = app["manifest"]
        service = URIRef(app_iri(base, app["client_id"]))
        graph.add((catalog, DCAT.service, service))
        graph.add((service, RDF.type, DCAT.DataService))
        graph.add((service, DCTERMS.identifier, Literal(app["client_id"])))
        graph.add((service, DCTERMS.title, Literal(manifest["name"])))
        graph.add((service, DCTERMS.description, Literal(manifest["description"])))
        graph.add((service, DCAT_VERSION, Literal(str(app["version"]))))
        graph.add((service, DCAT.endpointURL, URIRef(base)))
        description = URIRef(f"{base}/.well-known/oauth-authorization-server")
        graph.add((service, DCAT.endpointDescription, description))
        graph.add((service, DCTERMS.conformsTo, standard))
        developer = URIRef(manifest["developer"]["id"])
        graph.add((service, DCTERMS.publisher, developer))
        graph.add((developer, RDF.type, FOAF.Agent))
        graph.add((developer, FOAF.name, Literal(manifest["developer"]["name"])))
        if manifest.get("homepage"):
            page = URIRef(manifest["homepage"])
            graph.add((service, DCAT.landingPage, page))
            graph.add((page, RDF.type, FOAF.Document))
        if manifest["developer"].get("email"):
            contact = URIRef(f"{service}-contact")
            graph.add((service, DCAT.contactPoint, contact))
            graph.add((contact, RDF.type, VCARD.Kind))
            graph.add((contact, VCARD.fn, Literal(manifest["developer"]["name"])))
            graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{manifest['developer']['email']}")))
        for dataset in app["agreements"]:
            served = URIRef(dataset_iri(base, dataset))  # described in full at /catalog
            graph.add((service, DCAT.servesDataset, served))
            graph.add((served, RDF.type, DCAT.Dataset))
            graph.add((served, DCTERMS.publisher, publisher))
            described = app.get("datasets", {}).get(dataset, {})
            for prop, key in ((DCTERMS.title, "title"), (DCTERMS.description, "description")):
                for language, text in dict(described.get(key) or {}).items():
                    graph.add((served, prop, Literal(text, lang=language)))
