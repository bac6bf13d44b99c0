"""The SPARQL 1.1 Protocol and Graph Store Protocol as clients see them."""

from __future__ import annotations

import csv
import io
import json
from xml.etree import ElementTree

import pyoxigraph as ox
import pytest
from aiohttp import web
from sqlmodel import Session

from allmende.node.events import EventLog
from allmende.node.sparql.scope import Scope
from tests.sparql.conftest import Client, put_graph, select
from tests.support import admin_headers

pytestmark = pytest.mark.stores("embedded", "oxigraph", "fuseki")

G1 = "http://example.org/graphs/one"
G2 = "http://example.org/graphs/two"
DATA1 = """@prefix ex: <http://example.org/> .
ex:a ex:value 1, 2 ; ex:label "Dorfteich"@de ."""
INT = '"%d"^^<http://www.w3.org/2001/XMLSchema#integer>'
DATA2 = """@prefix ex: <http://example.org/> .
ex:b ex:value 3 ."""


async def loaded(sparql_node: Client, **settings: object) -> tuple[object, object]:
    node, client = await sparql_node(**settings)
    await put_graph(client, node, G1, DATA1)
    await put_graph(client, node, G2, DATA2)
    return node, client


async def test_get_post_form_and_direct_post_give_the_same_answer(sparql_node: Client) -> None:
    _node, client = await loaded(sparql_node)
    query = "SELECT ?v WHERE { ?s <http://example.org/value> ?v } ORDER BY ?v"
    accept = {"Accept": "application/sparql-results+json"}
    answers = []
    for response in (
        await client.get("/sparql", params={"query": query}, headers=accept),
        await client.post("/sparql", data={"query": query}, headers=accept),
        await client.post(
            "/sparql",
            data=query.encode(),
            headers={**accept, "Content-Type": "application/sparql-query"},
        ),
    ):
        assert response.status == 200
        assert response.content_type == "application/sparql-results+json"
        body = await response.json()
        answers.append([b["v"]["value"] for b in body["results"]["bindings"]])
    assert answers == [["1", "2", "3"]] * 3


async def test_every_result_format(sparql_node: Client) -> None:
    _node, client = await loaded(sparql_node)
    query = "SELECT ?s ?v WHERE { ?s <http://example.org/value> ?v } ORDER BY ?v"

    async def fetch(q: str, accept: str) -> tuple[str, str]:
        response = await client.get("/sparql", params={"query": q}, headers={"Accept": accept})
        assert response.status == 200, await response.text()
        return response.content_type, await response.text()

    kind, text = await fetch(query, "application/sparql-results+xml")
    assert kind == "application/sparql-results+xml"
    results = ElementTree.fromstring(text).findall(".//{*}result")
    assert len(results) == 3

    kind, text = await fetch(query, "text/csv")
    assert kind == "text/csv"
    assert list(csv.reader(io.StringIO(text)))[1] == ["http://example.org/a", "1"]

    kind, text = await fetch(query, "text/tab-separated-values")
    assert text.splitlines()[1].split("\t")[0] == "<http://example.org/a>"

    construct = "CONSTRUCT WHERE { ?s <http://example.org/value> ?v }"
    for media, fmt in (
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ):
        kind, text = await fetch(construct, media)
        assert kind == media
        assert len(list(ox.parse(text.encode(), format=fmt))) == 3

    kind, text = await fetch("ASK { ?s ?p 3 }", "application/sparql-results+json")
    assert json.loads(text) == {"head": {}, "boolean": True}
    kind, text = await fetch("DESCRIBE <http://example.org/b>", "application/n-triples")
    assert "<http://example.org/b> <http://example.org/value>" in text


async def test_content_negotiation_refuses_what_it_cannot_give(sparql_node: Client) -> None:
    _node, client = await loaded(sparql_node)
    response = await client.get(
        "/sparql", params={"query": "ASK {}"}, headers={"Accept": "text/turtle"}
    )
    assert response.status == 406
    problem = await response.json()
    assert "application/sparql-results+json" in problem["available"]
    response = await client.get(
        "/sparql",
        params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status == 406
    response = await client.get(
        "/sparql", params={"query": "SELECT * {}", "format": "csv"}, headers={"Accept": "x/y"}
    )
    assert response.status == 200 and response.content_type == "text/csv"


async def test_service_description_without_a_query(sparql_node: Client) -> None:
    node, client = await loaded(sparql_node)
    response = await client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status == 200
    store = ox.Store()
    store.load((await response.read()), format=ox.RdfFormat.TURTLE)
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert store.query(
        f"ASK {{ ?s a <{sd}Service> ; <{sd}supportedLanguage> <{sd}SPARQL11Query> ;"
        f" <{sd}endpoint> <{node.base_url}/sparql> }}"
    )
    names = {
        s["g"].value for s in store.query(f"SELECT ?g {{ ?d <{sd}namedGraph>/<{sd}name> ?g }}")
    }
    assert {G1, G2} <= names
    response = await client.get("/sparql", headers={"Accept": "application/ld+json"})
    assert response.status == 200 and response.content_type == "application/ld+json"


async def test_updates_wrong_types_and_long_queries_are_refused(sparql_node: Client) -> None:
    node, client = await loaded(sparql_node, max_query_bytes=1000)
    before = _log_length(node)
    for response in (
        await client.post("/sparql", data={"update": "DROP ALL"}),
        await client.post(
            "/sparql",
            data=b"DROP ALL",
            headers={"Content-Type": "application/sparql-update"},
        ),
        await client.get("/sparql", params={"query": "DROP ALL"}),
        await client.get("/sparql", params={"update": "CLEAR DEFAULT"}),
    ):
        assert response.status in (400, 403), await response.text()
        assert response.content_type == "application/problem+json"
    long_query = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 2000
    response = await client.get("/sparql", params={"query": long_query})
    assert response.status == 414
    response = await client.post("/sparql", data={"query": long_query})
    assert response.status == 413
    response = await client.post("/sparql", data=b"SELECT", headers={"Content-Type": "text/plain"})
    assert response.status == 415
    response = await client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p "})
    assert response.status == 400
    assert "parse" in (await response.json())["detail"]
    assert _log_length(node) == before
    assert await select(client, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }") == [{"n": "4"}]


def _log_length(node: object) -> int:
    with Session(node.engine) as session:  # type: ignore[attr-defined]
        return EventLog.last_seq(session)


async def test_graph_store_reads_writes_and_refuses_bad_rdf(sparql_node: Client) -> None:
    node, client = await loaded(sparql_node)
    response = await client.get(
        "/rdf-graphs", params={"graph": G1}, headers={"Accept": "application/n-triples"}
    )
    assert response.status == 200
    assert len((await response.text()).strip().splitlines()) == 3

    for media, body in (
        (
            "application/n-triples",
            f"<http://example.org/c> <http://example.org/value> {INT % 4} .\n",
        ),
        ("application/ld+json", '{"@id": "http://example.org/d", "http://example.org/value": 5}'),
        (
            "application/rdf+xml",
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:ex="http://example.org/"><rdf:Description rdf:about="http://example.org/e">'
            "<ex:value>6</ex:value></rdf:Description></rdf:RDF>",
        ),
        ("application/trig", "<http://example.org/f> <http://example.org/value> 7 ."),
        (
            "application/n-quads",
            f"<http://example.org/g> <http://example.org/value> {INT % 8} <http://x/> .",
        ),
    ):
        response = await client.post(
            "/rdf-graphs",
            params={"graph": G2},
            data=body.encode(),
            headers={**admin_headers(node), "Content-Type": media},
        )
        assert response.status == 204, (media, await response.text())
    values = await select(client, f"SELECT ?v WHERE {{ GRAPH <{G2}> {{ ?s ?p ?v }} }}")
    # RDF/XML's 6 is a string: engines order strings and numbers differently (Fuseki)
    assert sorted(int(row["v"]) for row in values) == [3, 4, 5, 6, 7, 8]

    before = _log_length(node)
    bad = await client.put(
        "/rdf-graphs",
        params={"graph": G2},
        data=b"<http://example.org/a> <http://example.org/p> .",
        headers={**admin_headers(node), "Content-Type": "text/turtle"},
    )
    assert bad.status == 400 and "parse" in (await bad.json())["detail"]
    anonymous = await client.put(
        "/rdf-graphs", params={"graph": G2}, data=b"", headers={"Content-Type": "text/turtle"}
    )
    assert anonymous.status == 401
    managed = await client.put(
        "/rdf-graphs",
        params={"graph": f"{node.base_url}/graphs/catalog/x"},
        data=b"",
        headers={**admin_headers(node), "Content-Type": "text/turtle"},
    )
    assert managed.status == 409
    assert _log_length(node) == before

    dropped = await client.delete("/rdf-graphs", params={"graph": G2}, headers=admin_headers(node))
    assert dropped.status == 204
    gone = await client.get("/rdf-graphs", params={"graph": G2})
    assert gone.status == 404
    await put_graph(client, node, "", "<http://example.org/z> <http://example.org/value> 9 .")
    default = await client.get(
        "/rdf-graphs", params={"default": ""}, headers={"Accept": "application/n-triples"}
    )
    assert "<http://example.org/z>" in await default.text()


async def test_relative_iris_in_a_loaded_graph_resolve_against_its_name(
    sparql_node: Client,
) -> None:
    node, client = await sparql_node()
    await put_graph(client, node, G2, "<#a> <http://example.org/p> <> .")
    rows = await select(client, f"SELECT ?s ?o WHERE {{ GRAPH <{G2}> {{ ?s ?p ?o }} }}")
    assert rows == [{"s": f"{G2}#a", "o": G2}]
    await put_graph(client, node, "", "<a> <http://example.org/p> 1 .")
    rows = await select(client, "SELECT ?s WHERE { ?s <http://example.org/p> 1 }")
    assert rows == [{"s": f"{node.base_url}/a"}]


async def test_hidden_graphs_cannot_be_reached_by_any_query_form(sparql_node: Client) -> None:
    """A stand-in rule hides G2; every way of naming it finds nothing."""
    node, client = await loaded(sparql_node)

    async def hide_two(request: web.Request) -> Scope:
        return Scope(frozenset(g for g in node.store.graphs() if g != G2))

    client.server.app["sparql_scope"] = hide_two
    three = "?s <http://example.org/value> 3"
    assert await select(client, f"SELECT * WHERE {{ {three} }}") == []
    assert await select(client, f"SELECT * WHERE {{ GRAPH ?g {{ {three} }} }}") == []
    assert await select(client, f"SELECT * WHERE {{ GRAPH <{G2}> {{ {three} }} }}") == []
    assert await select(client, f"SELECT * FROM <{G2}> WHERE {{ {three} }}") == []
    assert (
        await select(client, f"SELECT * FROM NAMED <{G2}> WHERE {{ GRAPH ?g {{ {three} }} }}") == []
    )
    assert await select(client, f"SELECT * WHERE {{ {three} }}", **{"default-graph-uri": G2}) == []
    assert (
        await select(
            client, f"SELECT * WHERE {{ GRAPH ?g {{ {three} }} }}", **{"named-graph-uri": G2}
        )
        == []
    )
    assert (
        await select(client, "SELECT * WHERE { GRAPH <urn:x-allmende:system> { ?s ?p ?o } }") == []
    )
    response = await client.get("/rdf-graphs", params={"graph": G2})
    assert response.status == 404
    assert await select(client, f"SELECT * FROM <{G1}> WHERE {{ ?s ?p 2 }}") != []


async def test_the_default_rule_hides_data_of_datasets_that_are_not_open(
    sparql_node: Client,
) -> None:
    from allmende.node.catalog import service
    from allmende.node.ingest.registry import Registry, register
    from tests.ingest.conftest import dataset_body, prepare_village

    node, client = await sparql_node()
    await prepare_village(node)
    restricted = dataset_body("gemeindehaus") | {"access_rights": "RESTRICTED"}
    await service.create(node, restricted)
    device = {"device": "70B3D57ED00AB0FF", "dataset": "gemeindehaus", "profile": "room-climate"}
    await register(node, Registry(node), device | {"lat": 54.6, "lon": 8.9})
    await node.projected()
    hidden = [g for g in node.store.graphs() if "/graphs/datasets/gemeindehaus" in g]
    assert hidden
    visible = {row["g"] for row in await select(client, "SELECT DISTINCT ?g { GRAPH ?g {} }")}
    assert not set(hidden) & visible
    assert any("/graphs/datasets/raumklima-dgh" in g for g in visible)
    assert any("/graphs/catalog/gemeindehaus" in g for g in visible), "metadata stays public"
    assert not any(g.startswith("urn:x-allmende:") for g in visible)
    sensors = "SELECT ?s { ?s a <http://www.w3.org/ns/sosa/Sensor> }"
    found = {row["s"] for row in await select(client, sensors)}
    assert found and not any(s.endswith("70b3d57ed00ab0ff") for s in found)
