"""The W3C SPARQL 1.1 query evaluation suite, through HTTP: at least 95 % must pass."""

from __future__ import annotations

import pytest

from allmende.node.sparql.analysis import analyse
from tests.sparql.conftest import Client
from tests.sparql.w3c import (
    KNOWN_DEVIATIONS,
    RDF_TYPES,
    SUITE,
    Case,
    cases,
    parse_answer,
    parse_results,
    run_suite,
    same_graph,
    same_results,
)
from tests.support import admin_headers

pytestmark = pytest.mark.skipif(not SUITE.exists(), reason=f"{SUITE} is not there")


async def load(client: object, node: object, graph: str, path: object) -> None:
    response = await client.put(  # type: ignore[attr-defined]
        "/rdf-graphs",
        params={"graph": graph},
        data=path.read_bytes(),  # type: ignore[attr-defined]
        headers={**admin_headers(node), "Content-Type": RDF_TYPES[path.suffix]},  # type: ignore[attr-defined,arg-type]
    )
    assert response.status in (201, 204), await response.text()


async def run_case(client: object, node: object, number: int, case: Case) -> str:
    """passed, failed or skipped, for one test."""
    if case.result is None or not case.query.exists():
        return "skipped"
    # Each document goes into a graph named by its own URL (its base, for relative IRIs);
    # the test's default graph is the merge of its data documents, named as such.
    for path in case.data + case.graph_data:
        await load(client, node, path.as_uri(), path)
    defaults = [p.as_uri() for p in case.data] or [f"urn:allmende:w3c:{number}:empty"]
    query = f"BASE <{case.query.as_uri()}>\n" + case.query.read_text(encoding="utf-8")
    has_dataset = " FROM " in query.upper().replace("\n", " ")
    params: list[tuple[str, str]] = [("query", query)]
    if not has_dataset:
        params += [("default-graph-uri", g) for g in defaults]
        params += [("named-graph-uri", p.as_uri()) for p in case.graph_data]
        if not case.graph_data:
            params.append(("named-graph-uri", "urn:allmende:w3c:none"))
    form = analyse(query).form
    expect_graph = form in ("CONSTRUCT", "DESCRIBE")
    if expect_graph:
        media = "application/n-triples"
    else:
        media = {".tsv": "text/tab-separated-values", ".csv": "text/csv"}.get(
            case.result.suffix, "application/sparql-results+json"
        )
    response = await client.post("/sparql", data=params, headers={"Accept": media})  # type: ignore[attr-defined]
    body = await response.read()
    if response.status != 200:
        case.notes.append(f"HTTP {response.status}: {body[:200]!r}")
        return "failed"
    try:
        if expect_graph:
            ok = same_graph(case.result, body)
        else:
            ordered = "ORDER BY" in query.upper()
            ok = same_results(parse_results(case.result), parse_answer(body, media), ordered)
    except Exception as exc:  # a malformed answer is a failure of the endpoint
        case.notes.append(f"unreadable answer: {exc}")
        return "failed"
    return "passed" if ok else "failed"


async def test_w3c_query_evaluation_suite(sparql_node: Client) -> None:
    node, client = await sparql_node(rate_per_second=100000, rate_burst=100000)
    tally = await run_suite(
        "W3C SPARQL 1.1 query evaluation tests through HTTP /sparql",
        cases(SUITE),
        lambda number, case: run_case(client, node, number, case),
        KNOWN_DEVIATIONS,
    )
    assert not tally.unexplained, (
        f"failures beyond Oxigraph's known deviations: {tally.unexplained}"
    )
    assert tally.ran >= 200
    assert tally.passed / tally.ran >= 0.95
