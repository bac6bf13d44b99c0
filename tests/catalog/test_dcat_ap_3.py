"""The node's catalog against the DCAT-AP 3 SHACL shapes as SEMIC publishes them.

DCAT-AP.de's profile deactivates some of SEMIC's shapes; a European harvester runs them all.
The demo's village and federated catalogs are checked in test_demo_conformance.py.
"""

from __future__ import annotations

import re
from typing import Any

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, SKOS

from allmende.node.runtime import Node
from tests.catalog import shacl_dcat_ap_3
from tests.catalog.samples import publish_all
from tests.catalog.test_catalog_rdf import fetch_graph


def test_only_the_shapes_that_contradict_dcat_ap_are_set_aside() -> None:
    shapes = shacl_dcat_ap_3.shapes()
    paths = {
        re.split(r"[#/]", str(shapes.value(shape, shacl_dcat_ap_3.SH.path)))[-1]
        for shape in shacl_dcat_ap_3.set_aside(shapes)
    }
    # two geometry shapes (a node wanted where DCAT-AP's usage note allows a literal) and
    # the rdfs:Resource ranges; an upstream change of either shows here
    assert len(shacl_dcat_ap_3.set_aside(shapes)) == 9
    assert paths == {
        "geometry",
        "accessURL",
        "downloadURL",
        "endpointURL",
        "endpointDescription",
        "relation",
        "isReferencedBy",
    }


async def test_catalog_with_every_field_violates_no_dcat_ap_3_shape(
    client: Any, node: Node
) -> None:
    await publish_all(client, node)
    catalog = await fetch_graph(client, "/catalog")
    assert shacl_dcat_ap_3.violations(catalog) == []
    concepts = set(catalog.subjects(RDF.type, SKOS.Concept))
    assert len(concepts) > 10
    for concept in concepts:
        labels = list(catalog.objects(concept, SKOS.prefLabel))
        assert labels and all(isinstance(label, Literal) for label in labels), concept
    theme = URIRef("http://publications.europa.eu/resource/authority/data-theme/ENVI")
    assert set(catalog.objects(theme, SKOS.prefLabel)) == {
        Literal("Umwelt", lang="de"),
        Literal("Environment", lang="en"),
    }
