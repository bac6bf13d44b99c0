"""Helpers shared by the connector tests: sample payloads, mappings, graph comparison."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from allmende.connectors.model import DeviceMapping
from allmende.vocab.devices import load_profile

PAYLOADS = Path(__file__).parent.parent / "fixtures" / "payloads"
BASE = "https://luetjenholm.example"
PREFIXES = """
@prefix sosa: <http://www.w3.org/ns/sosa/> .
@prefix qudt: <http://qudt.org/schema/qudt/> .
@prefix unit: <http://qudt.org/vocab/unit/> .
@prefix quantitykind: <http://qudt.org/vocab/quantitykind/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix geo: <http://www.w3.org/2003/01/geo/wgs84_pos#> .
@prefix gsp: <http://www.opengis.net/ont/geosparql#> .
@prefix time: <http://www.w3.org/2006/time#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix cf: <http://vocab.nerc.ac.uk/standard_name/> .
@prefix allmende: <https://w3id.org/allmende/ns#> .
"""


def load_payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def mapping_for(profile: str, device_id: str, dataset_id: str, **extra: Any) -> DeviceMapping:
    return DeviceMapping.from_profile(
        load_profile(profile), device_id=device_id, dataset_id=dataset_id, base=BASE, **extra
    )


def to_graph(quads: Iterable[ox.Quad]) -> Graph:
    """The triples of pyoxigraph quads as an rdflib graph (graph names dropped)."""
    data = ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=data, format="nt")


def turtle(text: str) -> Graph:
    return Graph().parse(data=PREFIXES + text, format="turtle")


def assert_same_graph(actual: Graph, expected: Graph) -> None:
    if not isomorphic(actual, expected):
        _, only_actual, only_expected = graph_diff(to_isomorphic(actual), to_isomorphic(expected))
        pytest.fail(
            "graphs differ\nonly in actual:\n"
            + only_actual.serialize(format="nt")
            + "\nonly in expected:\n"
            + only_expected.serialize(format="nt")
        )
