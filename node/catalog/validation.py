"""Checking a dataset's RDF against our DCAT-AP.de profile (vocab/shapes) before publishing.

The shapes are parsed once per process; one dataset validates in well under a second, so
the check runs on every publish and update. Each result names the JSON field to fix.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH

from allmende.node.catalog.rdf import dataset_iri, distribution_iri
from allmende.vocab.messages import Tagged
from allmende.vocab.shapes import shapes_text


@dataclass(frozen=True)
class Finding:
    field: str
    message: str
    message_de: str
    severity: str
    focus: str

    def to_json(self) -> dict[str, str]:
        return {
            "field": self.field,
            # the shape's own words, in the language the page or client reads
            "message": Tagged({"en": self.message, "de": self.message_de}),
            "message_de": self.message_de,
            "severity": self.severity,
            "focus": self.focus,
        }


@functools.cache
def profile_shapes() -> Graph:
    graph = Graph()
    graph.parse(data=shapes_text(), format="turtle")
    return graph


def _messages(report: Graph, result: Any, shapes: Graph, source: Any) -> tuple[str, str]:
    found: dict[str, str] = {}
    for message in [*report.objects(result, SH.resultMessage), *shapes.objects(source, SH.message)]:
        if isinstance(message, Literal):
            found.setdefault(message.language or "en", str(message))
    english = found.get("en") or next(iter(found.values()), "constraint not met")
    return english, found.get("de", english)


def _name(shapes: Graph, source: Any) -> str | None:
    name = shapes.value(source, SH.name)
    if name is None:
        for parent in shapes.subjects(SH.property, source):
            name = shapes.value(parent, SH.name)
            if name is None:  # a property of a node shape used by another property (sh:node)
                for holder in shapes.subjects(SH.node, parent):
                    name = shapes.value(holder, SH.name)
                    if name is not None:
                        break
            if name is not None:
                break
    return str(name) if name is not None else None


def validate(graph: Graph, data: dict[str, Any]) -> list[Finding]:
    """Every violation and warning of the profile, with the JSON field it concerns."""
    import pyshacl

    shapes = profile_shapes()
    _conforms, report, _text = pyshacl.validate(
        graph, shacl_graph=shapes, inference="none", do_owl_imports=False, allow_warnings=True
    )
    assert isinstance(report, Graph)
    base = data["base"]
    prefixes: dict[str, str] = {dataset_iri(base, data["id"]): ""}
    for index, item in enumerate(data.get("distributions", [])):
        prefixes[distribution_iri(base, data["id"], item["id"])] = f"distributions[{index}]."
    findings = []
    for result in report.subjects(SH.resultSeverity, None):
        source = report.value(result, SH.sourceShape)
        focus = str(report.value(result, SH.focusNode))
        owner = focus.split("#", 1)[0]
        field = _name(shapes, source) or _path_name(report.value(result, SH.resultPath))
        prefix = prefixes.get(owner, "")
        english, german = _messages(report, result, shapes, source)
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        findings.append(Finding(prefix + field, english, german, severity, focus))
    return sorted(set(findings), key=lambda f: (f.severity != "Violation", f.field, f.message))


def _path_name(path: Any) -> str:
    return str(path).rsplit("/", 1)[-1].rsplit("#", 1)[-1] if isinstance(path, URIRef) else ""
