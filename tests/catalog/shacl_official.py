"""The official DCAT-AP.de 3.0 SHACL shapes (GovData), vendored in tests/data and loaded offline."""

from __future__ import annotations

import functools
from pathlib import Path

import pyshacl
from rdflib import Graph
from rdflib.namespace import SH

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


def results(data: Graph) -> list[tuple[str, str, str, str]]:
    """(severity, focus node, path, message) of every result."""
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
    for result in report.subjects(SH.resultSeverity, None):
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
