"""The federated catalog: every member's published datasets in one DCAT catalog, each with
its origin, and one search over all of them.

It is read from the control plane: this village's published datasets and the pooled rows
the inbox keeps from peers' catalog events. A search index over both is rebuilt only when
a catalog event (own or pooled) arrived since.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
import pyoxigraph as ox
from aiohttp import web
from rdflib import URIRef
from sqlalchemy import func
from sqlmodel import Session, col, select

from allmende.node.catalog.models import PUBLISHED, CatalogDataset, full_description
from allmende.node.catalog.projection import EVENT_TYPES
from allmende.node.catalog.rdf import Triple, catalog_iri, dataset_iri, dataset_triples
from allmende.node.catalog.search import Index
from allmende.node.catalog.serving import (
    HTML,
    JSON,
    RDF_FORMATS,
    TURTLE,
    State,
    catalog_header,
    grouped,
    hydra_view,
    negotiate,
    page_url,
    paging_params,
    serialise,
    to_ox,
)
from allmende.node.federation.models import PooledDataset
from allmende.node.federation.trust import TrustList
from allmende.node.http.admin import int_param
from allmende.node.http.openapi import describe, query_param
from allmende.node.http.problems import Problem
from allmende.node.models import EventRecord
from allmende.node.runtime import Node
from allmende.vocab import catalog as terms
from allmende.vocab.namespaces import DCAT, DCT, PROV

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Member:
    """One dataset of the federation and the node it comes from."""

    origin: str
    origin_name: str
    document: dict[str, Any]

    @property
    def iri(self) -> str:
        return dataset_iri(str(self.document["base"]).rstrip("/"), self.document["id"])


def members(node: Node, names: dict[str, str] | None = None) -> list[Member]:
    """This village's published datasets, then the pooled ones (`names`: peer id -> name)."""
    names = names or {}
    found: list[Member] = []
    with Session(node.engine) as session:
        for row in session.exec(
            select(CatalogDataset)
            .where(CatalogDataset.status == PUBLISHED)
            .order_by(col(CatalogDataset.id))
        ):
            document = {**full_description(session, row), "base": node.base_url}
            found.append(Member(node.id, node.settings.node.name, document))
        for pooled in session.exec(
            select(PooledDataset)
            .where(PooledDataset.status == PUBLISHED)
            .order_by(col(PooledDataset.origin), col(PooledDataset.id))
        ):
            found.append(
                Member(pooled.origin, names.get(pooled.origin, ""), json.loads(pooled.document))
            )
    return found


def peer_names(trust: TrustList) -> dict[str, str]:
    return {peer.id: peer.name for peer in trust.peers()}


def catalog_version(node: Node) -> int:
    """The newest catalog event, own or pooled: the search index is current up to it."""
    with Session(node.engine) as session:
        newest = session.exec(
            select(func.max(EventRecord.seq)).where(col(EventRecord.type).in_(EVENT_TYPES))
        ).one()
    return int(newest or 0)


class FederatedSearch:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: tuple[int, Index, list[Member]] | None = None

    def current(self, node: Node, trust: TrustList) -> tuple[Index, list[Member]]:
        version = catalog_version(node)
        with self._lock:
            if self._built is None or self._built[0] != version:
                found = members(node, peer_names(trust))
                documents = [{**m.document, "id": str(i)} for i, m in enumerate(found)]
                self._built = (version, Index.build(version, documents), found)
            return self._built[1], self._built[2]


def member_json(member: Member, score: float | None = None) -> dict[str, Any]:
    document = member.document
    licence = terms.LICENCES_BY_IRI.get(document.get("license", ""))
    item = {
        "id": document["id"],
        "iri": member.iri,
        "origin": member.origin,
        "origin_name": member.origin_name or None,
        "title": document.get("title", {}),
        "description": document.get("description", {}),
        "keywords": document.get("keywords", {}),
        "themes": [terms.code_of(t) for t in document.get("themes", [])],
        "license": document.get("license"),
        "open": bool(licence and licence.open),
        "modified": document.get("modified"),
    }
    if score is not None:
        item["score"] = round(score, 4)
    return item


FEDERATED_PATH = "/federation/catalog"


def federated_header(node: Node) -> list[Triple]:
    """The federated catalog's own description, as complete as the village's catalog."""
    name = node.settings.node.name
    texts = (
        f"Föderierter Katalog ({name})",
        f"Federated catalogue ({name})",
        f"Die veröffentlichten Datensätze aller Dörfer, denen {name} vertraut, "
        "jeder mit seiner Herkunft (DCAT-AP.de).",
        f"The published datasets of every village {name} trusts, each with its origin "
        "(DCAT-AP.de).",
    )
    return catalog_header(node, State(0, None), iri=f"{node.base_url}{FEDERATED_PATH}", texts=texts)


def member_triples(node: Node, chosen: list[Member]) -> list[ox.Triple]:
    """DCAT of the chosen datasets, each attributed to its origin node.

    Each member's description is completed from its own node's base (its data services,
    its publisher), as that node's catalog serves it.
    """
    catalog = ox.NamedNode(f"{node.base_url}{FEDERATED_PATH}")
    triples: list[ox.Triple] = []
    described: dict[ox.Triple, None] = {}
    for member in chosen:
        iri = ox.NamedNode(member.iri)
        triples.append(ox.Triple(catalog, ox.NamedNode(DCAT.dataset), iri))
        triples.append(
            ox.Triple(iri, ox.NamedNode(PROV.wasAttributedTo), ox.NamedNode(member.origin))
        )
        origin_catalog = catalog_iri(str(member.document["base"]).rstrip("/"))
        triples.append(ox.Triple(iri, ox.NamedNode(DCT.isPartOf), ox.NamedNode(origin_catalog)))
        for triple in dataset_triples(member.document, complete=True):
            # the origin's catalog lists its own services; here the datasets stand alone
            if triple[0] != URIRef(origin_catalog):
                described[to_ox(triple)] = None
    return triples + list(described)


def _unique(triples: list[ox.Triple]) -> list[ox.Triple]:
    """Each triple once (the members share their nodes' publishers and services)."""
    return list(dict.fromkeys(triples))


def _page(request: web.Request) -> tuple[int, int]:
    return (
        int_param(request, "page", 1, 1, 10**7),
        int_param(request, "page_size", 100, 1, MAX_PAGE_SIZE),
    )


_OFFERED = (*RDF_FORMATS, JSON, HTML)
_PARAMETERS = [
    query_param("page", "page number, from 1", {"type": "integer"}),
    query_param("page_size", "items per page", {"type": "integer"}),
    query_param("format", "ttl, jsonld, rdf, nt, json or html (instead of the Accept header)"),
]


def _rdf_page(
    node: Node, path: str, params: dict[str, str], page: int, size: int, total: int
) -> list[ox.Triple]:
    """The federated catalog's description and Hydra paging, for a page of `path`."""
    collection = f"{node.base_url}{path}"
    this = collection if path == FEDERATED_PATH else page_url(collection, {**params, "page": page})
    view = hydra_view(this, collection, params, page, size, total)
    return [to_ox(t) for t in grouped(federated_header(node) + view)]


@describe(
    "The federated catalog: every member's published datasets, each with its origin "
    "(DCAT-AP.de as Turtle, JSON-LD, RDF/XML, N-Triples with Hydra paging, or JSON; "
    "a browser is sent to the region page)",
    tags=["federation"],
    parameters=_PARAMETERS,
)
async def catalog(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    # harvesters send */* or an RDF type: they get Turtle; JSON only when asked for
    fmt = negotiate(request, _OFFERED, TURTLE)
    if fmt is HTML:
        raise web.HTTPSeeOther("/region")
    page, size = _page(request)
    trust: TrustList = request.app["federation_trust"]
    everyone = await asyncio.to_thread(lambda: members(node, peer_names(trust)))
    chosen = everyone[(page - 1) * size : page * size]
    if fmt is JSON:
        body = {
            "node": node.id,
            "total": len(everyone),
            "page": page,
            "page_size": size,
            "members": sorted({m.origin for m in everyone}),
            "items": [member_json(m) for m in chosen],
        }
        return web.json_response(body, dumps=lambda b: json.dumps(b, ensure_ascii=False))
    params = paging_params(request)

    def build() -> bytes:
        header = _rdf_page(node, FEDERATED_PATH, params, page, size, len(everyone))
        return serialise(_unique(header + member_triples(node, chosen)), fmt)

    data = await asyncio.to_thread(build)
    return web.Response(body=data, headers={"Content-Type": fmt.content_type, "Vary": "Accept"})


@describe(
    "Search the federated catalog (q, theme, keyword; ranked)",
    tags=["federation"],
    parameters=[
        *_PARAMETERS,
        query_param("q", "search words"),
        query_param("theme", "a DCAT-AP theme code, e.g. ENVI"),
        query_param("keyword", "a keyword"),
    ],
)
async def search(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    fmt = negotiate(request, _OFFERED, JSON)
    if fmt is HTML:
        raise web.HTTPSeeOther(page_url("/region", {"q": request.query.get("q", "")}))
    page, size = _page(request)
    query = request.query.get("q", "")[:500]
    theme = request.query.get("theme") or None
    if theme:
        try:
            terms.theme_iri(theme)
        except terms.TermError as exc:
            raise Problem(400, "Bad Request", str(exc), parameter="theme") from None
    searcher: FederatedSearch = request.app["federation_search"]
    index, everyone = await asyncio.to_thread(
        searcher.current, node, request.app["federation_trust"]
    )
    hits = index.search(query, theme=theme, keyword=request.query.get("keyword") or None)
    chosen = [(everyone[int(h.entry.id)], h.score) for h in hits[(page - 1) * size : page * size]]
    if fmt is JSON:
        body = {
            "query": {k: v for k, v in request.query.items() if k in {"q", "theme", "keyword"}},
            "total": len(hits),
            "page": page,
            "page_size": size,
            "items": [member_json(m, score) for m, score in chosen],
        }
        return web.json_response(body, dumps=lambda b: json.dumps(b, ensure_ascii=False))
    params = paging_params(request)

    def build() -> bytes:
        header = _rdf_page(node, f"{FEDERATED_PATH}/search", params, page, size, len(hits))
        return serialise(_unique(header + member_triples(node, [m for m, _ in chosen])), fmt)

    data = await asyncio.to_thread(build)
    return web.Response(body=data, headers={"Content-Type": fmt.content_type, "Vary": "Accept"})


REGION_PAGE = 200


@describe(
    "The region's datasets for people: every member village's, searchable",
    tags=["portal"],
    parameters=[query_param("q", "search words")],
)
async def region_page(request: web.Request) -> web.StreamResponse:
    node: Node = request.app["node"]
    query = request.query.get("q", "")[:500].strip()
    searcher: FederatedSearch = request.app["federation_search"]
    index, everyone = await asyncio.to_thread(
        searcher.current, node, request.app["federation_trust"]
    )
    hits = index.search(query) if query else []
    chosen = [everyone[int(hit.entry.id)] for hit in hits] if query else everyone
    language = request.get("lang", "de")
    rows = [
        {
            "iri": member.iri,
            "title": _text(member.document.get("title"), language) or member.document["id"],
            "origin": member.origin_name or member.origin,
            "own": member.origin == node.id,
            "license": member.document.get("license") or "",
        }
        for member in chosen[:REGION_PAGE]
    ]
    context = {
        "rows": rows,
        "total": len(chosen),
        "query": query,
        "villages": len({member.origin for member in everyone}),
        "licence_label": lambda iri: (
            terms.LICENCES_BY_IRI[iri].label if iri in terms.LICENCES_BY_IRI else iri
        ),
    }
    return aiohttp_jinja2.render_template("region.html", request, context)


def _text(value: Any, language: str) -> str:
    """A language map's text in the reader's language, else German, else any."""
    if not isinstance(value, dict):
        return str(value or "")
    return str(value.get(language) or value.get("de") or next(iter(value.values()), ""))
