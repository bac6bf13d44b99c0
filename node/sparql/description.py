"""The SPARQL 1.1 Service Description served at /sparql when no query is given."""

from __future__ import annotations

import pyoxigraph as ox
from aiohttp import web

from allmende.node.http.problems import Problem
from allmende.node.messages import say
from allmende.node.runtime import Node
from allmende.node.sparql import formats
from allmende.node.sparql.scope import Scope

MAX_LISTED = 1000
RESULT_FORMATS = {
    "application/sparql-results+json": "SPARQL_Results_JSON",
    "application/sparql-results+xml": "SPARQL_Results_XML",
    "text/csv": "SPARQL_Results_CSV",
    "text/tab-separated-values": "SPARQL_Results_TSV",
    "text/turtle": "Turtle",
    "application/n-triples": "N-Triples",
    "application/ld+json": "JSON-LD",
    "application/rdf+xml": "RDF_XML",
}


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def service_turtle(node: Node, scope: Scope) -> str:
    endpoint = f"{node.base_url}/sparql"
    limits = node.settings.sparql
    result_formats = ", ".join(
        f"<http://www.w3.org/ns/formats/{n}>" for n in RESULT_FORMATS.values()
    )
    graphs = sorted(scope.visible)[:MAX_LISTED]
    named = "".join(f"  sd:namedGraph [ a sd:NamedGraph ; sd:name <{g}> ] ;\n" for g in graphs)
    comment = (
        f"Read-only. The default graph is the node's default graph together with every named "
        f"graph the caller may see. Queries stop after {limits.query_timeout:g} s; results "
        f"are limited to {limits.max_result_bytes} bytes; SERVICE may only call trusted peer "
        "nodes."
    )
    return f"""@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
<{endpoint}#service> a sd:Service ;
  sd:endpoint <{endpoint}> ;
  dcterms:title {_literal(node.settings.node.name + " SPARQL")} ;
  dcterms:description {_literal(comment)}@en ;
  sd:supportedLanguage sd:SPARQL11Query ;
  sd:feature sd:UnionDefaultGraph, sd:BasicFederatedQuery ;
  sd:resultFormat {result_formats} ;
  sd:defaultDataset <{endpoint}#dataset> .
<{endpoint}#dataset> a sd:Dataset ;
{named}  sd:defaultGraph [ a sd:Graph ] .
"""


async def respond(request: web.Request, accept: str) -> web.Response:
    node: Node = request.app["node"]
    media = formats.choose(accept, formats.GRAPHS)
    if media is None:
        raise Problem(
            406,
            "Not Acceptable",
            say(
                "the service description is available as %(value)s", value=", ".join(formats.GRAPHS)
            ),
        )
    scope: Scope = await request.app["sparql_scope"](request)
    turtle = service_turtle(node, scope)
    if media == "text/turtle":
        body = turtle.encode()
    else:
        quads = ox.parse(turtle.encode(), format=ox.RdfFormat.TURTLE)
        body = ox.serialize(quads, format=ox.RdfFormat.from_media_type(media)) or b""
    response = web.Response(body=body, content_type=media)
    if media.startswith("text/"):
        response.charset = "utf-8"
    return response
