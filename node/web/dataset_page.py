"""A dataset's page for people: description, licence, the policy in plain words, downloads
and a SPARQL example to start from. Machines get DCAT at the same IRI."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from allmende.node.access import is_open
from allmende.node.runtime import Node
from allmende.node.web import i18n, labels
from allmende.policies.explain import explain, plain_terms
from allmende.policies.jsonld import from_jsonld
from allmende.policies.model import Policy, PolicyError
from allmende.vocab.catalog import THEMES


def _text(value: Any, language: str) -> str:
    if isinstance(value, dict):
        return str(value.get(language) or value.get("de") or next(iter(value.values()), ""))
    return str(value or "")


def example_query(node: Node, dataset_id: str) -> str:
    graph = f"{node.base_url}/graphs/datasets/{dataset_id}"
    return (
        "PREFIX sosa: <http://www.w3.org/ns/sosa/>\n"
        "SELECT ?sensor ?property ?time ?value WHERE {\n"
        f"  GRAPH <{graph}> {{\n"
        "    ?o sosa:madeBySensor ?sensor ; sosa:observedProperty ?property ;\n"
        "       sosa:resultTime ?time ; sosa:hasSimpleResult ?value .\n"
        "  }\n"
        "} ORDER BY DESC(?time) LIMIT 20"
    )


def _policy(data: dict[str, Any]) -> Policy | None:
    document = data.get("policy")
    if not isinstance(document, dict):
        return None
    try:
        return from_jsonld(document)
    except PolicyError:
        return None


def policy_sentences(data: dict[str, Any], language: str) -> list[str]:
    policy = _policy(data)
    return explain(policy, language) if policy is not None else []


def policy_terms(
    node: Node, data: dict[str, Any], language: str, licence: str
) -> list[tuple[str, str]]:
    """Who, for what, until when, which duties: the same rule `node.access` enforces decides
    whether the page speaks of open data or of an agreement, so the words cannot promise
    more than the node does."""
    publisher = (data.get("publisher") or {}).get("name") or node.settings.node.name
    return plain_terms(
        _policy(data), language, open_data=is_open(data), publisher=publisher, licence=licence
    )


async def render(request: web.Request, data: dict[str, Any]) -> web.StreamResponse:
    node: Node = request.app["node"]
    language = request.get("lang") or "de"
    theme_names = [
        _text(dict(zip(("de", "en"), THEMES[iri.rsplit("/", 1)[-1]], strict=True)), language)
        for iri in data.get("themes", [])
        if iri.rsplit("/", 1)[-1] in THEMES
    ]
    query = example_query(node, data["id"])
    licence_label = labels.licence(i18n.texts(language), data.get("license", "")).name
    context = {
        "dataset": data,
        "title": _text(data.get("title"), language),
        "description": _text(data.get("description"), language),
        "keywords": data.get("keywords", {}).get(language)
        or data.get("keywords", {}).get("de", []),
        "themes": theme_names,
        "licence": licence_label,
        "licence_iri": data.get("license", ""),
        "terms": policy_terms(node, data, language, licence_label),
        "policy": policy_sentences(data, language),
        "distributions": data.get("distributions", []),
        "text": lambda value: _text(value, language),
        "query": query,
        "query_link": "/sparql?query=" + quote(query),
        "has_sparql": "/sparql" in request.app["web_paths"],
        "path": request.path,
    }
    return aiohttp_jinja2.render_template("dataset.html", request, context)


def setup(app: web.Application) -> None:
    app["dataset_page"] = render
