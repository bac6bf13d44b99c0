"""Real SPARQL clients nobody here wrote, against a node on 127.0.0.1, with their defaults.

SPARQLWrapper: every query form with every return format it offers for that form, by GET
and by POST, and with no format set at all; it warns when an endpoint answers a format
it did not ask for, and here such a warning is a failure. rdflib's SPARQLStore: a Graph
whose store is the node, asked SELECT, ASK, CONSTRUCT and for its triples.
"""

from __future__ import annotations

import asyncio
import csv
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.dom.minidom import Document

import aiohttp
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    RDFXML,
    TSV,
    TURTLE,
    XML,
    SPARQLWrapper,
)

from allmende.node.http.app import create_app
from tests.support import admin_headers, make_node

pytestmark = [
    pytest.mark.stores("embedded", "oxigraph", "fuseki"),
    pytest.mark.usefixtures("store_backend"),
]

GRAPH = "http://example.org/graphs/village"
DATA = """@prefix ex: <http://example.org/> .
ex:teich ex:depth 3 ; ex:label "Dorfteich"@de .
ex:brunnen ex:depth 12 ; ex:label "Brunnen"@de ."""
EX = "http://example.org/"
SELECT = (
    f"SELECT ?label ?depth WHERE {{ ?s <{EX}depth> ?depth ; <{EX}label> ?label }} ORDER BY ?depth"
)
ASK = f"ASK {{ <{EX}teich> <{EX}depth> 3 }}"
CONSTRUCT = f"CONSTRUCT {{ ?s <{EX}depth> ?d }} WHERE {{ ?s <{EX}depth> ?d }}"
DESCRIBE = f"DESCRIBE <{EX}teich>"
MISMATCH = ("Format requested was", "unknown response content type")
"""SPARQLWrapper's warnings that the endpoint answered another format than it asked for."""
DEPTHS = {(rdflib.URIRef(EX + "teich"), 3), (rdflib.URIRef(EX + "brunnen"), 12)}


async def served(tmp_path: Path, aiohttp_server: Any) -> str:
    """A node on a real loopback port with the village graph in it; its /sparql address."""
    node = make_node(tmp_path / "node")
    server = await aiohttp_server(create_app(node, close_node=True), host="127.0.0.1")
    async with aiohttp.ClientSession() as session:
        response = await session.put(
            str(server.make_url("/rdf-graphs")),
            params={"graph": GRAPH},
            data=DATA.encode(),
            headers={**admin_headers(node), "Content-Type": "text/turtle"},
        )
        assert response.status in (201, 204), await response.text()
    return str(server.make_url("/sparql"))


def _rows_of_table(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _select_checks() -> dict[str, Callable[[Any], None]]:
    def json_(result: dict[str, Any]) -> None:
        assert result["head"]["vars"] == ["label", "depth"]
        assert [b["label"]["value"] for b in result["results"]["bindings"]] == [
            "Dorfteich",
            "Brunnen",
        ]

    def xml(result: Document) -> None:
        names = [v.getAttribute("name") for v in result.getElementsByTagName("variable")]
        assert names == ["label", "depth"]
        assert len(result.getElementsByTagName("result")) == 2

    def csv_(result: bytes) -> None:
        assert _rows_of_table(result.decode(), ",") == [
            ["label", "depth"],
            ["Dorfteich", "3"],
            ["Brunnen", "12"],
        ]

    def tsv(result: bytes) -> None:
        rows = [line.split("\t") for line in result.decode().splitlines()]
        assert rows[0] == ["?label", "?depth"] and rows[1][0] == '"Dorfteich"@de'

    return {JSON: json_, XML: xml, CSV: csv_, TSV: tsv}


def _ask_checks() -> dict[str, Callable[[Any], None]]:
    def xml(result: Document) -> None:
        assert result.getElementsByTagName("boolean")[0].firstChild.data == "true"  # type: ignore[union-attr]

    return {
        JSON: lambda result: _assert(result["boolean"] is True, result),
        XML: xml,
        CSV: lambda result: _assert(result.decode().strip().splitlines()[-1] == "true", result),
        TSV: lambda result: _assert(result.decode().strip().splitlines()[-1] == "true", result),
    }


def _assert(condition: bool, shown: object) -> None:
    assert condition, shown


def _graph_checks(expected: set[tuple[rdflib.URIRef, int]]) -> dict[str, Callable[[Any], None]]:
    def graph(result: rdflib.Graph) -> None:
        found = {(s, o.toPython()) for s, p, o in result if str(p) == EX + "depth"}
        assert found == expected, found

    def text(result: bytes) -> None:
        graph(rdflib.Graph().parse(data=result.decode(), format="turtle"))

    return {XML: graph, RDFXML: graph, JSONLD: graph, JSON: graph, TURTLE: text, N3: text}


def _ask_each(endpoint: str) -> list[str]:
    """Every form × format × method; what went wrong, as lines (empty when all is well)."""
    cases = [
        ("SELECT", SELECT, _select_checks()),
        ("ASK", ASK, _ask_checks()),
        ("CONSTRUCT", CONSTRUCT, _graph_checks(DEPTHS)),
        ("DESCRIBE", DESCRIBE, _graph_checks({d for d in DEPTHS if d[0].endswith("teich")})),
    ]
    failures: list[str] = []
    for form, query, checks in cases:
        for method in (GET, POST):
            for return_format, check in [(None, checks[XML]), *checks.items()]:
                client = SPARQLWrapper(endpoint)
                client.setMethod(method)
                if return_format is not None:
                    client.setReturnFormat(return_format)
                client.setQuery(query)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    try:
                        check(client.queryAndConvert())
                    except Exception as exc:
                        failures.append(f"{form} {method} {return_format}: {exc!r}"[:300])
                        continue
                failures += [
                    f"{form} {method} {return_format}: {warning.message}"
                    for warning in caught
                    if str(warning.message).startswith(MISMATCH)
                ]
    return failures


async def test_sparqlwrapper_every_form_and_format(tmp_path: Path, aiohttp_server: Any) -> None:
    endpoint = await served(tmp_path, aiohttp_server)
    failures = await asyncio.to_thread(_ask_each, endpoint)
    assert not failures, "\n".join(failures)


def _through_rdflib(endpoint: str) -> None:
    graph = rdflib.Graph(store=SPARQLStore(endpoint))
    result = graph.query(SELECT)
    assert [str(v) for v in result.vars or []] == ["label", "depth"]
    assert [(str(label), depth.toPython()) for label, depth in result] == [
        ("Dorfteich", 3),
        ("Brunnen", 12),
    ]
    star = graph.query(f"SELECT * WHERE {{ ?s <{EX}label> ?label ; <{EX}depth> ?depth }}")
    assert [str(v) for v in star.vars or []] == ["s", "label", "depth"]
    assert graph.query(ASK).askAnswer is True
    built = graph.query(CONSTRUCT).graph
    assert built is not None
    assert {(s, o.toPython()) for s, _p, o in built} == DEPTHS
    assert {
        (s, o.toPython()) for s, _p, o in graph.triples((None, rdflib.URIRef(EX + "depth"), None))
    } == DEPTHS
    assert (rdflib.URIRef(EX + "teich"), rdflib.URIRef(EX + "depth"), rdflib.Literal(3)) in graph
    for method in ("GET", "POST", "POST_FORM"):
        store = SPARQLStore(endpoint, method=method, returnFormat="json")
        rows = list(rdflib.Graph(store=store).query(SELECT))
        assert [str(label) for label, _depth in rows] == ["Dorfteich", "Brunnen"], method


async def test_rdflib_sparqlstore_reads_the_node_through_a_graph(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    endpoint = await served(tmp_path, aiohttp_server)
    await asyncio.to_thread(_through_rdflib, endpoint)
