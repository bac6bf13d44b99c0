"""The DCAT-AP 3 SHACL shapes as SEMIC publishes them, vendored in tests/data/dcat-ap-3.

DCAT-AP.de's profile (tests/catalog/shacl_official.py) runs the same shapes with its own
messages and severities added; this runs them alone, as a European harvester would.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pyshacl
from rdflib import Graph, URIRef
from rdflib.namespace import RDFS, SH

from tests.catalog import shacl_official

SHAPES = Path(__file__).resolve().parents[1] / "data" / "dcat-ap-3" / "dcat-ap-SHACL.jsonld"


@functools.cache
def shapes() -> Graph:
    return Graph().parse(SHAPES, format="json-ld")


def resource_class_shapes(graph: Graph) -> set[URIRef]:
    """The property shapes that want an explicit `rdf:type rdfs:Resource` on a value.

    DCAT-AP 3 gives the range of access URL, download URL, endpoint URL, endpoint
    description, related resource, is referenced by and relation as rdfs:Resource, the class of
    everything RDF describes (RDF Schema 1.1, 2.1: "All things described by RDF are called
    resources, and are instances of the class rdfs:Resource"), so every IRI has it by RDFS
    entailment; the SHACL file turns that range into `sh:class rdfs:Resource`, which without
    inference fails on every URL no one typed. DCAT-AP.de deactivates exactly these shapes
    ("Klassentyp unangebracht"), and the 3.0.1 release still names those of access URL,
    download URL, related resource, is referenced by and relation but no longer defines them.
    We set them aside.
    """
    found = set()
    for shape in graph.subjects(SH["class"], RDFS.Resource):
        assert isinstance(shape, URIRef)
        found.add(shape)
    return found


def set_aside(graph: Graph) -> set[URIRef]:
    """Shapes that contradict DCAT-AP's own text (see the two functions named here)."""
    return shacl_official.geometry_node_shapes(graph) | resource_class_shapes(graph)


def results(data: Graph) -> list[tuple[str, str, str, str, str]]:
    """(severity, focus node, path, constraint, shape) of every result but the shapes set aside."""
    _conforms, report, _text = pyshacl.validate(
        data,
        shacl_graph=shapes(),
        ont_graph=shacl_official.ontology(),
        inference="none",
        do_owl_imports=False,
        allow_warnings=True,
    )
    assert isinstance(report, Graph)
    aside = set_aside(shapes())
    found = []
    for result in report.subjects(SH.resultSeverity, None):
        shape = report.value(result, SH.sourceShape)
        if shape in aside:
            continue
        found.append(
            (
                str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1],
                str(report.value(result, SH.focusNode)),
                str(report.value(result, SH.resultPath)),
                str(report.value(result, SH.sourceConstraintComponent)).rsplit("#", 1)[-1],
                str(shape),
            )
        )
    return sorted(found)


def violations(data: Graph) -> list[tuple[str, str, str, str, str]]:
    return [r for r in results(data) if r[0] == "Violation"]
