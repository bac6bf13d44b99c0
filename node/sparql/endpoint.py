"""The SPARQL 1.1 Protocol at /sparql: queries in, streamed results out, within limits.

Every query is read (form, dataset, SERVICE targets, likely cost) before it runs, scoped
to the graphs the caller may see, and answered by a killable worker process in its lane
(or, once proven cheap on the store as it is, in the node's own process: `inline`):
heavy queries never take the workers held for lookups, each client may have only a few
of them at once, and a full waiting line is answered 503 with Retry-After. A browser gets
the query page instead of raw results.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urljoin

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict, MultiMapping

from allmende.node.config import SparqlSection
from allmende.node.http.bodies import request_body_or_413
from allmende.node.http.openapi import describe, query_param
from allmende.node.http.problems import Problem
from allmende.node.messages import reason, say
from allmende.node.runtime import Node
from allmende.node.sparql import description, formats
from allmende.node.sparql.analysis import Analysis, QueryRefused, allowed_service, analyse
from allmende.node.sparql.examples import examples
from allmende.node.sparql.inline import Inline
from allmende.node.sparql.pool import Busy, ClientGone, QueryFailed, QueryPool, QueryTimeout, Ticket
from allmende.node.sparql.ratelimit import RateLimiter, identify
from allmende.node.sparql.scope import Scope
from allmende.node.sparql.worker import Job
from allmende.node.store.base import CHECKPOINT

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"
HTML_ROWS = 500
HTML_BYTES = 4 * 1024 * 1024
BUSY_PROJECTOR = 0.2
"""Above this share of time spent projecting, the workers' in-memory copies do not catch
up. Measured on bench/federation (a peer's 120,000 observations arriving at once, their
arrival polled with SPARQL), observations/s pooled: copies that always catch up 3,909 and
4,302; at 0.5, 4,654-6,036 over seven runs; at 0.2, 5,754 and 6,329; without copies
(sparql.memory_quads = 0) 5,611 and 6,041."""


@dataclass(frozen=True)
class Request:
    query: str | None
    default_graphs: list[str]
    named_graphs: list[str]
    formats: tuple[str, ...] = ()
    """Values of the `format` and `output` parameters, in the order sent."""


FORMAT_PARAMETERS = ("format", "output")


def _formats(*sources: MultiMapping[str]) -> tuple[str, ...]:
    return tuple(
        value
        for source in sources
        for name in FORMAT_PARAMETERS
        for value in source.getall(name, [])
    )


async def read_request(request: web.Request, limits: SparqlSection) -> Request:
    """The protocol's three ways to send a query; updates are refused, never run."""
    params = request.query
    if request.method in ("GET", "HEAD"):
        query = params.get("query")
        if query is not None and len(query.encode()) > limits.max_query_bytes:
            raise Problem(414, "URI Too Long", _too_long(limits), limit=limits.max_query_bytes)
        if "update" in params:
            raise _read_only()
        return Request(
            query,
            params.getall("default-graph-uri", []),
            params.getall("named-graph-uri", []),
            _formats(params),
        )
    body = await request_body_or_413(request, limits.max_query_bytes, _too_long(limits))
    if request.content_type == FORM:
        fields = MultiDict(parse_qsl(body.decode(request.charset or "utf-8", "replace"), True))
        if "update" in fields:
            raise _read_only()
        return Request(
            fields.get("query"),
            fields.getall("default-graph-uri", []) + params.getall("default-graph-uri", []),
            fields.getall("named-graph-uri", []) + params.getall("named-graph-uri", []),
            _formats(fields, params),
        )
    if request.content_type == QUERY:
        return Request(
            body.decode(request.charset or "utf-8", errors="replace"),
            params.getall("default-graph-uri", []),
            params.getall("named-graph-uri", []),
            _formats(params),
        )
    if request.content_type == UPDATE:
        raise _read_only()
    raise Problem(
        415,
        "Unsupported Media Type",
        say("send the query as %(FORM)s or %(QUERY)s", FORM=FORM, QUERY=QUERY),
        available=[FORM, QUERY],
    )


def _too_long(limits: SparqlSection) -> str:
    return f"a query may have at most {limits.max_query_bytes} bytes"


def _read_only() -> Problem:
    return Problem(
        403, "Forbidden", say("this endpoint is read-only: SPARQL Update is not accepted")
    )


def check_services(analysis: Analysis, trusted: list[str]) -> None:
    """Refuse before any connection: SERVICE only towards trusted peer nodes."""
    for target in analysis.services:
        if not allowed_service(target, trusted):
            shown = target if target is not None else "a variable"
            raise Problem(
                403,
                "Forbidden",
                f"SERVICE {shown} is not a trusted peer node; federated queries may only "
                "call nodes from this node's trust list",
                service=target,
            )


def dataset(
    req: Request, analysis: Analysis, scope: Scope, base: str
) -> tuple[list[str] | None, list[str]]:
    """The protocol's graphs win over the query's own FROM; invisible graphs are empty.

    A relative graph IRI (in FROM, FROM NAMED or a protocol parameter) resolves against
    the endpoint's address, the base the engine resolves the rest of the query against.

    Without either, the default graph is the node's default graph plus every visible
    named graph (what researchers expect), and GRAPH reaches every visible graph; None
    stands for "all graphs", when the scope hides nothing.
    """
    defaults = [_resolved(base, g) for g in req.default_graphs or analysis.default_graphs]
    named = [_resolved(base, g) for g in req.named_graphs or analysis.named_graphs]
    if defaults or named:
        return [g for g in defaults if scope.allows(g)], [g for g in named if scope.allows(g)]
    visible = sorted(scope.visible)
    return (None if scope.everything else ["", *visible]), visible


def _resolved(base: str, graph: str) -> str:
    """ "" stays the store's own default graph (the Graph Store Protocol's `?default`)."""
    return urljoin(base, graph) if graph else graph


async def trusted_peers(app: web.Application) -> list[str]:
    """Where trusted peers answer: from the federation's trust list (allmende.toml and
    `allmende peer add`), else from allmende.toml alone."""
    trust = app.get("federation_trust")
    if trust is not None:
        return [peer.address for peer in await asyncio.to_thread(trust.peers)]
    node: Node = app["node"]
    return [str(peer.base_url or peer.id) for peer in node.settings.trust.peers]


async def run_query(request: web.Request, req: Request, result_format: str) -> Any:
    node: Node = request.app["node"]
    limits: SparqlSection = node.settings.sparql
    assert req.query is not None
    try:
        analysis = analyse(req.query)
    except QueryRefused as exc:
        raise Problem(400, "Bad Request", reason(exc)) from None
    if analysis.services:
        check_services(analysis, await trusted_peers(request.app))
    scope: Scope = await request.app["sparql_scope"](request)
    base_iri = f"{node.base_url}/sparql"
    default_graph, named_graphs = dataset(req, analysis, scope, base_iri)
    job = Job(
        query=req.query,
        default_graph=default_graph,
        named_graphs=named_graphs,
        result_format=result_format,
        generation=int(node.store.get_meta(CHECKPOINT) or 0),
        max_bytes=limits.max_result_bytes,
        base_iri=base_iri,
        store_busy=node.projector_load() > BUSY_PROJECTOR,
    )
    pool: QueryPool = request.app["sparql_pool"]
    client = await identify(request)
    limiter: RateLimiter = request.app["sparql_rate"]
    inline: Inline | None = request.app.get("sparql_inline")
    provable = inline is not None and not analysis.volatile and not analysis.services
    if provable and inline is not None and inline.ready(job):
        answer = await inline.run(job)
        if answer is not None:
            limiter.spend(client, answer.seconds)
            pool.answered["inline" if answer.source == "disk" else "inline-memory"] += 1
            return answer.kind, _once(answer.body)
    ticket = Ticket(
        bool(analysis.heavy),
        client,
        lambda: _gone(request),
        lambda seconds: limiter.spend(client, seconds),
        (lambda source, seconds: inline.prove(job, source, seconds))
        if provable and inline is not None
        else None,
    )
    try:
        return await pool.run(job, limits.query_timeout, ticket)
    except QueryTimeout as exc:
        raise _timeout(limits, exc.started) from None
    except QueryFailed as exc:
        raise _failed(exc) from None
    except Busy as exc:
        raise _busy(exc, analysis) from None
    except ClientGone:
        raise Problem(499, "Client Closed Request", say("the caller went away")) from None


async def _once(body: bytes) -> AsyncIterator[bytes]:
    if body:
        yield body


def _gone(request: web.Request) -> bool:
    """aiohttp lets a handler run on after its client disconnected; this tells."""
    transport = request.transport
    return transport is None or transport.is_closing()


def _timeout(limits: SparqlSection, started: bool = True) -> Problem:
    if started:
        detail = say(
            "the query did not finish within %(seconds)s s and was stopped; "
            "narrow it (LIMIT, fewer graphs, more selective patterns)",
            seconds=format(limits.query_timeout, "g"),
        )
    else:
        detail = say(
            "the query waited %(seconds)s s for a free worker and did not "
            "start; the node is busy with other queries",
            seconds=format(limits.query_timeout, "g"),
        )
    return Problem(
        503,
        "Service Unavailable",
        detail,
        headers={"Retry-After": "5"},
        limit_seconds=limits.query_timeout,
    )


def _busy(exc: Busy, analysis: Analysis) -> Problem:
    """Not admitted: how long to wait, and why the query counts as heavy if it does."""
    title = "Too Many Requests" if exc.status == 429 else "Service Unavailable"
    detail = exc.detail
    if analysis.heavy:
        detail += f"; the query counts as heavy: {', '.join(analysis.heavy)}"
    return Problem(
        exc.status,
        title,
        detail,
        headers={"Retry-After": str(exc.retry_after)},
        lane="heavy" if analysis.heavy else "light",
        retry_after=exc.retry_after,
    )


def _failed(exc: QueryFailed) -> Problem:
    titles = {400: "Bad Request", 413: "Content Too Large", 500: "Internal Server Error"}
    return Problem(exc.status, titles.get(exc.status, "Error"), exc.detail)


async def check_rate(request: web.Request) -> None:
    """The client's quota (node.sparql.ratelimit): query time left, and a flood guard."""
    limiter: RateLimiter = request.app["sparql_rate"]
    refusal = limiter.take(await identify(request))
    if refusal is not None:
        raise Problem(
            429,
            "Too Many Requests",
            refusal.detail,
            headers={"Retry-After": str(refusal.retry_after)},
            retry_after=refusal.retry_after,
        )


PARAMETERS = [
    query_param("query", "SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE)"),
    query_param("default-graph-uri", "a graph of the default graph (repeatable)"),
    query_param("named-graph-uri", "a named graph the query may use (repeatable)"),
    query_param(
        "format",
        "result format instead of the Accept header, per query form as Apache Jena Fuseki "
        "reads it: json, xml, csv, tsv, text, turtle, ttl, nt, jsonld, rdfxml or a media "
        "type (xml is RDF/XML and json JSON-LD for CONSTRUCT and DESCRIBE)",
    ),
    query_param("output", "the same as format (the name some clients send)"),
]
RESPONSES = {
    "200": {"description": "Results, or the service description when no query is given"},
    "400": {"$ref": "#/components/responses/Problem"},
    "403": {"$ref": "#/components/responses/Problem"},
    "406": {"$ref": "#/components/responses/Problem"},
    "429": {"$ref": "#/components/responses/Problem"},
    "503": {"$ref": "#/components/responses/Problem"},
}


@describe(
    "SPARQL 1.1 query (GET): results, the service description, or the query page",
    tags=["sparql"],
    parameters=PARAMETERS,
    responses=RESPONSES,
)
async def sparql_get(request: web.Request) -> web.StreamResponse:
    return await _answer(request)


@describe(
    "SPARQL 1.1 query (POST, urlencoded or application/sparql-query)",
    tags=["sparql"],
    parameters=PARAMETERS[1:],
    request_body={
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "properties": {
                        name: {"type": "string"} for name in ("query", *FORMAT_PARAMETERS)
                    },
                }
            },
            QUERY: {"schema": {"type": "string"}},
        }
    },
    responses=RESPONSES,
)
async def sparql_post(request: web.Request) -> web.StreamResponse:
    return await _answer(request)


async def _answer(request: web.Request) -> web.StreamResponse:
    node: Node = request.app["node"]
    req = await read_request(request, node.settings.sparql)
    accept = request.headers.get("Accept", "")
    browser = formats.wants_html(accept) and not req.formats
    if req.query is None or not req.query.strip():
        if browser:
            return await query_page(request, None)
        return await description.respond(request, accept)
    await check_rate(request)
    if browser:
        return await query_page(request, req)
    try:
        form = analyse(req.query).form
    except QueryRefused as exc:
        raise Problem(400, "Bad Request", reason(exc)) from None
    result_format = formats.negotiate(form, accept, req.formats)
    _kind, chunks = await run_query(request, req, result_format)
    charset = "utf-8" if result_format.startswith("text/") else None
    headers = {"Cache-Control": "no-store"}
    first = await anext(chunks, b"")
    second = await anext(chunks, None) if first else None
    if second is None:  # the whole answer is here: one write, with its length
        return web.Response(
            body=first, content_type=result_format, charset=charset, headers=headers
        )
    response = web.StreamResponse(headers=headers)
    response.content_type = result_format
    response.charset = charset
    await response.prepare(request)
    await response.write(first)
    await response.write(second)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def query_page(request: web.Request, req: Request | None) -> web.StreamResponse:
    """The page for people: an editor with examples, and results as a table."""
    node: Node = request.app["node"]
    context: dict[str, Any] = {
        "query": req.query if req else None,
        "examples": await examples(node),
        "endpoint": f"{node.base_url}/sparql",
        "limits": node.settings.sparql,
    }
    if req is not None and req.query:
        try:
            context["result"] = await _html_result(request, req)
        except Problem as problem:
            context["problem"] = problem.body_json
    response = aiohttp_jinja2.render_template("sparql.html", request, context)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _html_result(request: web.Request, req: Request) -> dict[str, Any]:
    try:
        form = analyse(req.query or "").form
    except QueryRefused as exc:
        raise Problem(400, "Bad Request", reason(exc)) from None
    media = "text/turtle" if form in ("CONSTRUCT", "DESCRIBE") else formats.RESULTS[0]
    limited = Request(req.query, req.default_graphs, req.named_graphs)
    _kind, chunks = await run_query(request, limited, media)
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > HTML_BYTES:
            raise Problem(
                413, "Content Too Large", say("the result is too large to show as a page")
            )
    if form in ("CONSTRUCT", "DESCRIBE"):
        return {"graph": body.decode()}
    parsed = json.loads(body)
    if "boolean" in parsed:
        return {"boolean": parsed["boolean"]}
    variables = parsed["head"]["vars"]
    rows = parsed["results"]["bindings"]
    return {
        "variables": variables,
        "rows": [[row.get(v) for v in variables] for row in rows[:HTML_ROWS]],
        "total": len(rows),
        "shown": min(len(rows), HTML_ROWS),
    }
