"""The protocol as clients nobody here wrote use it: format parameters per query form,
HEAD and OPTIONS, CORS on public paths only, `SELECT *` column order, fresh blank nodes
per Graph Store upload and relative graph IRIs in FROM."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest

from tests.sparql.conftest import Client, put_graph, select
from tests.support import admin_headers

pytestmark = [pytest.mark.stores("embedded", "oxigraph"), pytest.mark.usefixtures("store_backend")]

G1 = "http://example.org/graphs/one"
DATA = """@prefix ex: <http://example.org/> .
ex:a ex:value 1 ; ex:label "Dorfteich"@de ."""
CONSTRUCT = "CONSTRUCT WHERE { ?s <http://example.org/value> ?v }"
SELECT = "SELECT ?v WHERE { ?s <http://example.org/value> ?v }"


async def test_format_parameters_mean_per_query_form_what_fuseki_makes_of_them(
    sparql_node: Client,
) -> None:
    node, client = await sparql_node()
    await put_graph(client, node, G1, DATA)
    # SPARQLWrapper's defaults: format, output and results, and an Accept header
    expected = {
        (SELECT, "xml"): "application/sparql-results+xml",
        (SELECT, "json"): "application/sparql-results+json",
        (SELECT, "csv"): "text/csv",
        (SELECT, "tsv"): "text/tab-separated-values",
        (SELECT, "text"): "text/tab-separated-values",
        (SELECT, "application/sparql-results+json"): "application/sparql-results+json",
        ("ASK { ?s ?p ?o }", "xml"): "application/sparql-results+xml",
        ("ASK { ?s ?p ?o }", "csv"): "text/csv",
        (CONSTRUCT, "xml"): "application/rdf+xml",
        (CONSTRUCT, "rdf+xml"): "application/rdf+xml",
        (CONSTRUCT, "rdfxml"): "application/rdf+xml",
        (CONSTRUCT, "json"): "application/ld+json",
        (CONSTRUCT, "jsonld"): "application/ld+json",
        (CONSTRUCT, "turtle"): "text/turtle",
        (CONSTRUCT, "ttl"): "text/turtle",
        (CONSTRUCT, "n3"): "text/turtle",
        (CONSTRUCT, "nt"): "application/n-triples",
        (CONSTRUCT, "ntriples"): "application/n-triples",
        ("DESCRIBE <http://example.org/a>", "xml"): "application/rdf+xml",
        ("DESCRIBE <http://example.org/a>", "text/turtle"): "text/turtle",
    }
    for (query, value), media in expected.items():
        for send in (client.get, client.post):
            fields = {"query": query, "format": value, "output": value, "results": value}
            response = await (
                send("/sparql", params=fields, headers={"Accept": "application/rdf+xml, */*"})
                if send == client.get
                else send("/sparql", data=fields, headers={"Accept": "text/csv"})
            )
            assert response.status == 200, (query, value, await response.text())
            assert response.content_type == media, (query, value)
    graph = await client.get("/sparql", params={"query": CONSTRUCT, "format": "xml"})
    assert len(list(ox.parse(await graph.read(), format=ox.RdfFormat.RDF_XML))) == 1
    # SPARQLWrapper sends two values for TSV, JSON-LD and RDF/XML: the first known counts
    response = await client.get(
        "/sparql", params=[("query", CONSTRUCT), ("format", "json-ld"), ("format", "x")]
    )
    assert response.content_type == "application/ld+json"


async def test_unknown_formats_are_a_400_naming_the_known_ones(sparql_node: Client) -> None:
    _node, client = await sparql_node()
    response = await client.get("/sparql", params={"query": SELECT, "format": "yaml"})
    assert response.status == 400
    problem = await response.json()
    assert "yaml" in problem["detail"] and "rdfxml" in problem["accepted"]
    response = await client.get("/sparql", params={"query": CONSTRUCT, "output": "csv"})
    assert response.status == 406
    assert "text/turtle" in (await response.json())["available"]
    response = await client.get(
        "/sparql",
        params={"query": SELECT},
        headers={"Accept": "text/csv;q=0.5, application/sparql-results+xml;q=0.9"},
    )
    assert response.content_type == "application/sparql-results+xml"


async def test_head_and_options_are_answered(sparql_node: Client) -> None:
    _node, client = await sparql_node()
    for params, accept in (({}, "text/turtle"), ({"query": SELECT}, "text/csv")):
        head = await client.head("/sparql", params=params, headers={"Accept": accept})
        get = await client.get("/sparql", params=params, headers={"Accept": accept})
        assert head.status == 200 == get.status, params
        assert head.content_type == get.content_type
    options = await client.options("/sparql")
    assert options.status == 204
    assert set(options.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}


async def test_cors_on_public_reads_and_never_on_the_console(sparql_node: Client) -> None:
    node, client = await sparql_node()
    origin = {"Origin": "http://127.0.0.1:9999"}
    preflight = await client.options(
        "/sparql",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, accept, authorization",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = {
        h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"content-type", "accept", "authorization"} <= allowed
    catalog = await client.options(
        "/catalog", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert catalog.status == 204 and "POST" not in catalog.headers["Access-Control-Allow-Methods"]
    for path, params in (
        ("/sparql", {"query": SELECT}),
        ("/sparql", {"query": "SELECT * WHERE {"}),  # a problem answer too
        ("/catalog", {}),
        ("/federation/catalog", {}),
        ("/federation/events", {}),
        ("/.well-known/jwks.json", {}),
        ("/map/sensors.geojson", {}),
        ("/sensors/latest", {}),
    ):
        response = await client.get(path, params=params, headers=origin)
        assert response.headers.get("Access-Control-Allow-Origin") == "*", (path, response.status)
    for method, path in (
        ("GET", "/admin/"),
        ("GET", "/admin/events"),
        ("OPTIONS", "/admin/events"),
        ("GET", "/rdf-graphs"),
        ("GET", "/health"),
    ):
        response = await client.request(
            method,
            path,
            headers={**origin, **admin_headers(node), "Access-Control-Request-Method": "GET"},
        )
        assert "Access-Control-Allow-Origin" not in response.headers, (method, path)
        if method == "OPTIONS":
            assert response.status == 405
    missing = await client.options("/sparql/nothing", headers=origin)
    assert missing.status == 404


async def test_select_star_keeps_the_query_s_variable_order(sparql_node: Client) -> None:
    node, client = await sparql_node()
    await put_graph(client, node, G1, DATA)
    query = (
        "SELECT * WHERE { ?zebra <http://example.org/value> ?middle . "
        "?zebra <http://example.org/label> ?apple BIND(1 AS ?b) }"
    )
    for accept in ("application/sparql-results+json", "text/csv", "application/sparql-results+xml"):
        response = await client.get("/sparql", params={"query": query}, headers={"Accept": accept})
        text = await response.text()
        if accept == "text/csv":
            assert text.splitlines()[0] == "zebra,middle,apple,b"
        elif accept.endswith("json"):
            assert json.loads(text)["head"]["vars"] == ["zebra", "middle", "apple", "b"]
        else:
            assert text.index('"zebra"') < text.index('"middle"') < text.index('"apple"')
    distinct = await client.get(
        "/sparql",
        params={"query": "SELECT DISTINCT * { GRAPH ?g { ?s ?p ?o } } LIMIT 1", "format": "json"},
    )
    assert (await distinct.json())["head"]["vars"] == ["g", "s", "p", "o"]


async def test_graph_store_uploads_get_fresh_blank_nodes(sparql_node: Client) -> None:
    node, client = await sparql_node()
    document = "_:b1 <http://example.org/name> {} ."
    await put_graph(client, node, G1, document.format('"first"'))
    second = await client.post(
        "/rdf-graphs",
        params={"graph": G1},
        data=document.format('"second"').encode(),
        headers={**admin_headers(node), "Content-Type": "text/turtle"},
    )
    assert second.status == 204
    rows = await select(client, "SELECT DISTINCT ?s WHERE { ?s <http://example.org/name> ?n }")
    assert len(rows) == 2, rows
    assert all(row["s"] != "b1" for row in rows)


async def test_relative_graph_iris_resolve_against_the_endpoint(sparql_node: Client) -> None:
    node, client = await sparql_node()
    graph = f"{node.base_url}/graphs/mine"
    await put_graph(client, node, graph, DATA)
    value = "?s <http://example.org/value> ?v"
    assert await select(client, f"SELECT ?v FROM <graphs/mine> WHERE {{ {value} }}") == [{"v": "1"}]
    assert await select(
        client, f"SELECT ?v FROM NAMED <graphs/mine> WHERE {{ GRAPH ?g {{ {value} }} }}"
    ) == [{"v": "1"}]
    assert await select(
        client, f"SELECT ?v WHERE {{ {value} }}", **{"default-graph-uri": "graphs/mine"}
    ) == [{"v": "1"}]
    assert await select(client, f"SELECT ?v FROM <graphs/other> WHERE {{ {value} }}") == []
