"""The official DCAT-AP.de 3.0 SHACL shapes (GovData), vendored in tests/data and loaded offline."""

from __future__ import annotations

import functools
from pathlib import Path

import pyshacl
from rdflib import Graph, URIRef
from rdflib.namespace import SH

LOCN_GEOMETRY = URIRef("http://www.w3.org/ns/locn#geometry")
LOCN_GEOMETRY_CLASS = URIRef("http://www.w3.org/ns/locn#Geometry")

OFFICIAL = Path(__file__).resolve().parents[1] / "data" / "dcat-ap-de"


@functools.cache
def shapes() -> Graph:
    graph = Graph()
    for path in sorted((OFFICIAL / "shapes").glob("*.ttl")):
        if path.name != "dcat-ap-de-imports.ttl":
            graph.parse(path)
    return graph


@functools.cache
def ontology() -> Graph:
    graph = Graph()
    for path in sorted((OFFICIAL / "mirror").iterdir()):
        graph.parse(path, format="xml" if path.suffix == ".rdf" else "turtle")
    return graph


def geometry_node_shapes(graph: Graph) -> set[URIRef]:
    """The DCAT-AP 3.0 property shapes that want `locn:geometry` to point to a node.

    DCAT-AP's own usage note for Location.geometry allows a literal (WKT, GeoJSON, GML), the
    official DCAT-AP.de 3.0 examples publish one, and CKAN's ckanext-dcat reads only a literal
    (a node makes its parser fail): the SHACL file contradicts its specification here. We
    publish the literal and set aside exactly these shapes, no others.
    """
    found = set()
    for shape in graph.subjects(SH.path, LOCN_GEOMETRY):
        if (shape, SH.nodeKind, SH.BlankNodeOrIRI) in graph or (
            shape,
            SH["class"],
            LOCN_GEOMETRY_CLASS,
        ) in graph:
            assert isinstance(shape, URIRef)
            found.add(shape)
    return found


def results(data: Graph) -> list[tuple[str, str, str, str]]:
    """(severity, focus node, path, message) of every result but the geometry erratum."""
    _conforms, report, _text = pyshacl.validate(
        data,
        shacl_graph=shapes(),
        ont_graph=ontology(),
        inference="none",
        do_owl_imports=False,
        allow_warnings=True,
    )
    assert isinstance(report, Graph)
    found = []
    erratum = geometry_node_shapes(shapes())
    for result in report.subjects(SH.resultSeverity, None):
        if report.value(result, SH.sourceShape) in erratum:
            continue
        found.append(
            (
                str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1],
                str(report.value(result, SH.focusNode)),
                str(report.value(result, SH.resultPath)),
                str(report.value(result, SH.resultMessage)),
            )
        )
    return sorted(found)


def violations(data: Graph) -> list[tuple[str, str, str, str]]:
    return [r for r in results(data) if r[0] == "Violation"]
