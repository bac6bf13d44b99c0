"""The SPARQL 1.1 Graph Store HTTP Protocol at /rdf-graphs (`?graph=IRI` or `?default`).

Reading follows the same scoping as /sparql. Writing is for admins and goes through the
event log like every other change (graph.replaced / graph.extended / graph.dropped), so
`allmende reindex` reproduces it; the body is parsed completely before anything is
written, so bad RDF is a 400 and nothing else. Graphs that a room manages (catalog,
datasets, peers) are changed through that room, never here.
"""

from __future__ import annotations

import re
from typing import Any

import pyoxigraph as ox
from aiohttp import web

from allmende.node.http.openapi import describe, query_param
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.messages import say
from allmende.node.runtime import Node
from allmende.node.sparql import formats
from allmende.node.sparql.endpoint import Request, run_query
from allmende.node.sparql.scope import Scope
from allmende.node.store.base import SYSTEM_PREFIX

INPUT_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/trig": ox.RdfFormat.TRIG,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
RDF_BODY = {
    "required": True,
    "content": {media_type: {"schema": {"type": "string"}} for media_type in INPUT_FORMATS},
}
ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^<>\"{}|^`\\\x00-\x20]+\Z")
MANAGED = ("/graphs/catalog", "/graphs/datasets", "/graphs/peers")
PARAMETERS = [
    query_param("graph", "IRI of the graph"),
    query_param("default", "address the default graph instead (no value)"),
]


def target(request: web.Request) -> str:
    """The addressed graph: its IRI, or "" for the default graph."""
    graph, default = request.query.get("graph"), "default" in request.query
    if (graph is None) == (not default):
        raise Problem(400, "Bad Request", say("give exactly one of ?graph=IRI and ?default"))
    if graph is None:
        return ""
    if not ABSOLUTE_IRI.match(graph):
        raise Problem(400, "Bad Request", f"{graph[:200]!r} is not an absolute IRI")
    return graph


@describe(
    "Read one graph (Graph Store Protocol), under the same scoping as /sparql",
    tags=["sparql"],
    parameters=PARAMETERS,
)
async def read_graph(request: web.Request) -> web.StreamResponse:
    node: Node = request.app["node"]
    graph = target(request)
    scope: Scope = await request.app["sparql_scope"](request)
    if graph and (
        graph.startswith(SYSTEM_PREFIX)
        or not scope.allows(graph)
        or not node.store.has_graph(graph)
    ):
        raise Problem(
            404, "Not Found", say("there is no graph '%(graph)s' for you here", graph=graph)
        )
    media = formats.choose(request.headers.get("Accept", ""), formats.GRAPHS)
    if media is None:
        raise Problem(
            406,
            "Not Acceptable",
            say("graphs are available as %(value)s", value=", ".join(formats.GRAPHS)),
        )
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    _kind, chunks = await run_query(request, Request(query, [graph], []), media)
    response = web.StreamResponse(headers={"Cache-Control": "no-store"})
    response.content_type = media
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


def managed(node: Node, graph: str) -> bool:
    """Graphs a room keeps (catalog, sensor data, peers) and the system graph."""
    prefixes = [node.base_url + prefix for prefix in MANAGED]
    return graph.startswith(SYSTEM_PREFIX) or any(
        graph == p or graph.startswith(p + "/") for p in prefixes
    )


def _writable(node: Node, graph: str) -> None:
    if managed(node, graph):
        raise Problem(
            409,
            "Conflict",
            f"{graph} is managed by the node (catalog, sensor data or peers); change it "
            "through the catalog, ingest or federation APIs",
        )


async def _ntriples(request: web.Request, graph: str) -> str:
    """The body as N-Triples (quads of any graph flattened into the target graph).

    Relative IRIs resolve against the graph's own name, as if the document had been
    retrieved from it (as SPARQL's `LOAD <doc> INTO GRAPH <doc>` does); the default
    graph has no name, so there the endpoint's address is the base. Blank nodes are
    renamed to fresh ones.
    """
    fmt = INPUT_FORMATS.get(request.content_type)
    if fmt is None:
        raise Problem(
            415,
            "Unsupported Media Type",
            say("send %(value)s", value=", ".join(INPUT_FORMATS)),
            available=list(INPUT_FORMATS),
        )
    body = await request.read()
    node: Node = request.app["node"]
    fresh: dict[str, ox.BlankNode] = {}
    try:
        triples = [
            ox.Triple(_fresh(q.subject, fresh), q.predicate, _fresh(q.object, fresh))
            for q in ox.parse(body, format=fmt, base_iri=graph or f"{node.base_url}/rdf-graphs")
        ]
    except SyntaxError as exc:
        raise Problem(400, "Bad Request", f"the RDF does not parse: {str(exc)[:500]}") from None
    return (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode()


def _fresh(term: Any, fresh: dict[str, ox.BlankNode]) -> Any:
    """A document's blank node labels are local to it: each upload gets blank nodes of its
    own (as SPARQL Update's LOAD does), so `_:b1` in two uploads never joins them."""
    if isinstance(term, ox.BlankNode):
        if term.value not in fresh:
            fresh[term.value] = ox.BlankNode()
        return fresh[term.value]
    if isinstance(term, ox.Triple):
        return ox.Triple(_fresh(term.subject, fresh), term.predicate, _fresh(term.object, fresh))
    return term


async def _write(request: web.Request, kind: str) -> web.Response:
    node: Node = request.app["node"]
    graph = target(request)
    _writable(node, graph)
    existed = node.store.has_graph(graph) if graph else True
    if kind == "graph.dropped":
        if not existed:
            raise Problem(404, "Not Found", say("there is no graph '%(graph)s'", graph=graph))
        data: dict[str, str] = {"graph": graph}
    else:
        content = await _ntriples(request, graph)
        data = {"graph": graph, "format": "application/n-triples", "content": content}
    await node.publish([node.event(kind, data, subject=graph or "default")])
    await node.projected()
    return web.Response(status=204 if existed else 201)


@describe(
    "Replace a graph (admin)",
    tags=["sparql"],
    admin=True,
    parameters=PARAMETERS,
    request_body=RDF_BODY,
)
@admin_only
async def put_graph(request: web.Request) -> web.Response:
    return await _write(request, "graph.replaced")


@describe(
    "Add triples to a graph (admin)",
    tags=["sparql"],
    admin=True,
    parameters=PARAMETERS,
    request_body=RDF_BODY,
)
@admin_only
async def post_graph(request: web.Request) -> web.Response:
    return await _write(request, "graph.extended")


@describe("Delete a graph (admin)", tags=["sparql"], admin=True, parameters=PARAMETERS)
@admin_only
async def delete_graph(request: web.Request) -> web.Response:
    return await _write(request, "graph.dropped")
