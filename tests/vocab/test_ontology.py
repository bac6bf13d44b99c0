"""Every term of our own namespace that the code or the data uses is defined in the ontology."""

from __future__ import annotations

import re
from pathlib import Path

import rdflib

from allmende.policies import terms

ROOT = Path(__file__).resolve().parents[2]
NS = "https://w3id.org/allmende/ns#"


def defined_terms() -> set[str]:
    graph = rdflib.Graph().parse(ROOT / "vocab" / "allmende.ttl")
    return {str(s) for s in graph.subjects() if str(s).startswith(NS)}


def used_terms() -> set[str]:
    used: set[str] = set()
    for folder in ("connectors", "policies", "vocab", "node"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".json", ".jsonld"}:
                continue
            text = path.read_text(encoding="utf-8")
            used |= {NS + name for name in re.findall(r"ALLMENDE\.([A-Za-z]+)", text)}
            used |= {NS + name for name in re.findall(r"allmende/ns#([A-Za-z]+)", text)}
    used |= set(terms.PURPOSE_ANCESTORS) | set(terms.ORGANISATION_ANCESTORS)
    used |= {terms.AMT_MEMBERSHIP, terms.ORGANISATION_TYPE, terms.AGGREGATION}
    return used


def test_every_used_term_is_defined() -> None:
    missing = used_terms() - defined_terms()
    assert not missing, sorted(missing)


def test_purpose_hierarchy_matches_the_evaluator() -> None:
    graph = rdflib.Graph().parse(ROOT / "vocab" / "allmende.ttl")
    broader = rdflib.URIRef("http://www.w3.org/2004/02/skos/core#broader")
    for child, parent in {**terms.PURPOSE_PARENT, **terms.ORGANISATION_PARENT}.items():
        assert (rdflib.URIRef(child), broader, rdflib.URIRef(parent)) in graph, child
