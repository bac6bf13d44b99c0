"""HTTP routes of the catalog: public DCAT documents and search, and the admin API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.catalog import html, service
from allmende.node.catalog.access import authorize_download
from allmende.node.catalog.files import (
    FileTooLarge,
    content_disposition,
    file_path,
    files_directory,
    guess_media_type,
    safe_file_name,
    store_stream,
)
from allmende.node.catalog.models import PUBLISHED, RETRACTED, CatalogDataset, full_description
from allmende.node.catalog.rdf import (
    catalog_graph_prefix,
    catalog_iri,
    completion,
    dataset_iri,
    distribution_iri,
)
from allmende.node.catalog.search import SearchIndexes
from allmende.node.catalog.serving import (
    HTML,
    JSON,
    RDF_FORMATS,
    TURTLE,
    Format,
    ResponseCache,
    State,
    catalog_header,
    catalog_state,
    completed,
    grouped,
    header_fingerprint,
    hydra_view,
    make_etag,
    negotiate,
    not_modified,
    page_url,
    paging_params,
    published_page,
    read_datasets,
    serialise,
    to_ox,
    validators,
)
from allmende.node.http.admin import int_param
from allmende.node.http.forms import parts, read_json, text_of
from allmende.node.http.openapi import FILE, TEXT, describe, query_param
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.messages import say
from allmende.node.runtime import Node
from allmende.node.web.i18n import negotiate as negotiate_language
from allmende.vocab import catalog as terms
from allmende.vocab.namespaces import SCHEMA

SERVICES = web.AppKey("catalog_services", list)
"""Other rooms' services the catalog lists beside its datasets (the app directory's approved
apps as dcat:DataService): each callable gives their triples, read on every page."""
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_FIELD = 10_000
DOCUMENT_FORMATS = (*RDF_FORMATS, HTML)
_FORMATS_DOC = {
    "200": {
        "description": "DCAT-AP.de as Turtle, JSON-LD, RDF/XML, N-Triples or HTML",
        "content": {f.media_type: {} for f in DOCUMENT_FORMATS},
    },
    "304": {"description": "not modified since the ETag / date the client sent"},
}
_PAGING = [
    query_param("page", "page number, from 1", {"type": "integer", "minimum": 1}),
    query_param(
        "page_size",
        f"datasets per page (default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE})",
        {"type": "integer"},
    ),
    query_param("format", "ttl, jsonld, rdf, nt or html (instead of the Accept header)"),
]


def _node(request: web.Request) -> Node:
    node: Node = request.app["node"]
    return node


def _cache(request: web.Request) -> ResponseCache:
    cache: ResponseCache = request.app["catalog_cache"]
    return cache


def _problem(exc: service.CatalogError) -> Problem:
    extensions: dict[str, Any] = {"errors": exc.errors} if exc.errors else {}
    return Problem(exc.status, exc.title, exc.detail, **extensions)


def _language(request: web.Request) -> str:
    """The same choice as the portal's: ?lang=, the remembered cookie, Accept-Language."""
    return negotiate_language(request)


def _alternates(path: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f.media_type, page_url(path, {**params, "format": f.key})) for f in (*RDF_FORMATS, HTML)
    ]


async def _respond(
    request: web.Request, fmt: Format, etag: str, state: State, build: Callable[[], bytes]
) -> web.Response:
    """Shared conditional-GET path: 304, cached bytes, or build (in a thread) and cache."""
    headers = validators(etag, state)
    if not_modified(request, etag, state):
        return web.Response(status=304, headers=headers)
    cache = _cache(request)
    body = cache.get(etag)
    if body is None:
        body = await asyncio.to_thread(build)
        cache.put(etag, body)
    headers["Content-Type"] = fmt.content_type
    return web.Response(body=body, headers=headers)


# --- public documents --------------------------------------------------------------------


@describe(
    "The DCAT-AP.de catalog, paged (Hydra), with content negotiation and conditional GET",
    tags=["catalog"],
    parameters=_PAGING,
    responses=_FORMATS_DOC,
)
async def catalog(request: web.Request) -> web.Response:
    node = _node(request)
    fmt = negotiate(request, DOCUMENT_FORMATS, TURTLE)
    page = int_param(request, "page", 1, 1, 10**7)
    size = int_param(request, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    language = _language(request)
    state = await asyncio.to_thread(catalog_state, node)
    params = paging_params(request)
    providers = request.app.get(SERVICES, [])
    services = await asyncio.to_thread(lambda: [t for give in providers for t in give(node)])
    variant = (
        fmt.key,
        page,
        size,
        language if fmt is HTML else "",
        header_fingerprint(node),
        sorted(params.items()),
        sorted(map(str, services)),
    )
    etag = make_etag("catalog", state, *variant)

    def build() -> bytes:
        ids, total = published_page(node, (page - 1) * size, size)
        last = max(1, -(-total // size))
        if page > last:
            raise Problem(
                404,
                "Not Found",
                say("the catalog has %(last)s page(s) of %(size)s", last=last, size=size),
            )
        triples = completed(node, read_datasets(node, ids))
        path = catalog_iri(node.base_url)
        header = grouped(
            catalog_header(node, state) + hydra_view(path, path, params, page, size, total)
        )
        everything = [to_ox(t) for t in header] + triples
        seen = set(everything)
        everything += [t for t in dict.fromkeys(map(to_ox, services)) if t not in seen]
        if fmt is HTML:
            links = {}
            if page > 1:
                links["previous"] = page_url(path, {**params, "page": page - 1, "format": "html"})
            if page < last:
                links["next"] = page_url(path, {**params, "page": page + 1, "format": "html"})
            return html.render_list(
                heading=f"Datenkatalog {node.settings.node.name}",
                triples=everything,
                order=[dataset_iri(node.base_url, i) for i in ids],
                language=language,
                page=page,
                last=last,
                total=total,
                links=links,
                alternates=_alternates(path, {**params, "page": page}),
                search_action=f"{path}/search",
            )
        return serialise(everything, fmt)

    return await _respond(request, fmt, etag, state, build)


def _dataset_row(node: Node, dataset_id: str) -> tuple[CatalogDataset | None, dict[str, Any]]:
    with Session(node.engine) as session:
        row = session.get(CatalogDataset, dataset_id)
        return row, (full_description(session, row) if row is not None else {})


async def _published(node: Node, dataset_id: str) -> dict[str, Any]:
    row, data = await asyncio.to_thread(_dataset_row, node, dataset_id)
    if row is None:
        raise Problem(
            404, "Not Found", say("there is no dataset '%(dataset_id)s'", dataset_id=dataset_id)
        )
    if row.status == RETRACTED:
        raise Problem(
            410,
            "Gone",
            say("the dataset '%(dataset_id)s' was retracted", dataset_id=dataset_id),
        )
    return data


async def _dataset_document(request: web.Request, dataset_id: str, kind: str) -> web.Response:
    node = _node(request)
    fmt = negotiate(request, DOCUMENT_FORMATS, TURTLE)
    language = _language(request)
    state = await asyncio.to_thread(catalog_state, node, dataset_id)
    variant = (fmt.key, language if fmt is HTML else "", header_fingerprint(node))
    etag = make_etag(f"{kind}-{dataset_id}", state, *variant)
    iri = dataset_iri(node.base_url, dataset_id)

    def build() -> bytes:
        triples = completed(node, read_datasets(node, [dataset_id]))
        if not triples:
            raise Problem(
                404,
                "Not Found",
                say(
                    "the dataset '%(dataset_id)s' is not in the catalog yet",
                    dataset_id=dataset_id,
                ),
            )
        if fmt is HTML:
            return html.render_dataset(triples, iri, language, _alternates(request.path, {}))
        return serialise(triples, fmt)

    return await _respond(request, fmt, etag, state, build)


@describe(
    "One dataset of the catalog (DCAT-AP.de), dereferenceable by its IRI",
    tags=["catalog"],
    parameters=_PAGING[2:],
    responses={**_FORMATS_DOC, "410": {"description": "the dataset was retracted"}},
)
async def dataset(request: web.Request) -> web.StreamResponse:
    dataset_id = request.match_info["dataset"]
    data = await _published(_node(request), dataset_id)
    page = request.app.get("dataset_page")  # the web room's portal page, when it is installed
    if page is not None and negotiate(request, DOCUMENT_FORMATS, TURTLE) is HTML:
        return await page(request, data)
    return await _dataset_document(request, dataset_id, "dataset")


@describe(
    "A distribution's IRI: the description of its dataset, which includes it",
    tags=["catalog"],
    parameters=_PAGING[2:],
    responses=_FORMATS_DOC,
)
async def distribution(request: web.Request) -> web.Response:
    dataset_id = request.match_info["dataset"]
    data = await _published(_node(request), dataset_id)
    if not any(d["id"] == request.match_info["distribution"] for d in data["distributions"]):
        raise Problem(404, "Not Found", say("the dataset has no such distribution"))
    return await _dataset_document(request, dataset_id, "distribution")


@describe(
    "Download a distribution's file (open data without a token)",
    tags=["catalog"],
    responses={
        "200": {"description": "the file"},
        "302": {"description": "a link distribution: where the data is"},
        "403": {"$ref": "#/components/responses/Problem"},
    },
)
async def download(request: web.Request) -> web.StreamResponse:
    node = _node(request)
    data = await _published(node, request.match_info["dataset"])
    item = next(
        (d for d in data["distributions"] if d["id"] == request.match_info["distribution"]), None
    )
    if item is None:
        raise Problem(404, "Not Found", say("the dataset has no such distribution"))
    await authorize_download(request, data, item)
    if item["kind"] == "link":
        raise web.HTTPFound(item["url"])
    if item["kind"] != "file":
        raise Problem(404, "Not Found", say("this distribution is an API, not a file"))
    path = file_path(files_directory(node.settings.directory), item["checksum"])
    if not await asyncio.to_thread(path.is_file):
        raise Problem(404, "Not Found", say("the file of this distribution is missing on the node"))
    name = safe_file_name(item.get("file_name")) or item["id"]
    headers = {
        "Content-Type": item.get("media_type") or "application/octet-stream",
        "Content-Disposition": content_disposition(name),
        "Cache-Control": "public, max-age=0, must-revalidate",
    }
    return web.FileResponse(path, headers=headers)


@describe(
    "A data service of the node (SPARQL endpoint, time series API) as DCAT",
    tags=["catalog"],
    parameters=_PAGING[2:],
    responses=_FORMATS_DOC,
)
async def data_service(request: web.Request) -> web.Response:
    node = _node(request)
    fmt = negotiate(request, RDF_FORMATS, TURTLE)
    iri = f"{node.base_url}/services/{request.match_info['name']}"
    if any(ch in iri for ch in '<>"{}|\\^` '):
        raise Problem(404, "Not Found", say("no such service"))
    state = await asyncio.to_thread(catalog_state, node)
    etag = make_etag("service", state, fmt.key, iri, header_fingerprint(node))
    prefix = catalog_graph_prefix(node.base_url)

    def build() -> bytes:
        triples = list(
            node.store.query(
                f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ GRAPH ?g {{ <{iri}> ?p ?o }} "
                f'FILTER(STRSTARTS(STR(?g), "{prefix}")) }}'
            )
        )
        if not triples:
            raise Problem(404, "Not Found", say("no such service in the catalog"))
        extra = completion(
            [("", "http://www.w3.org/ns/dcat#accessService", iri)],
            node.base_url,
            node.settings.node.name,
        )
        return serialise(triples + [to_ox(t) for t in extra], fmt)

    return await _respond(request, fmt, etag, state, build)


# --- search ------------------------------------------------------------------------------


def _text_param(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if value is not None and len(value) > 200:
        raise Problem(
            400,
            "Bad Request",
            say("query parameter '%(name)s' is longer than 200 characters", name=name),
        )
    return value or None


@describe(
    "Search the catalog (title, description, keywords), ranked; JSON or DCAT",
    tags=["catalog"],
    parameters=[
        query_param("q", "words to find (all must match)"),
        query_param("theme", "EU data theme code or IRI, e.g. ENVI"),
        query_param("keyword", "an exact keyword"),
        query_param("publisher", "part of the publisher's name, or its IRI"),
        *_PAGING,
    ],
    responses={
        "200": {
            "description": "ranked results",
            "content": {f.media_type: {} for f in (JSON, *DOCUMENT_FORMATS)},
        }
    },
)
async def search(request: web.Request) -> web.Response:
    node = _node(request)
    fmt = negotiate(request, (JSON, *DOCUMENT_FORMATS), JSON)
    criteria = {name: _text_param(request, name) for name in ("q", "theme", "keyword", "publisher")}
    page = int_param(request, "page", 1, 1, 10**7)
    size = int_param(request, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    if criteria["theme"]:
        try:
            terms.theme_iri(criteria["theme"])
        except terms.TermError as exc:
            raise Problem(400, "Bad Request", str(exc)) from None
    indexes: SearchIndexes = request.app["catalog_search"]
    index = await asyncio.to_thread(indexes.current, node)
    language = _language(request)
    state = State(index.version, None)
    etag = make_etag(
        "search",
        state,
        fmt.key,
        sorted(criteria.items()),
        page,
        size,
        language if fmt is HTML else "",
        header_fingerprint(node),
        sorted(paging_params(request).items()),
    )
    path = f"{catalog_iri(node.base_url)}/search"
    params = paging_params(request)

    def build() -> bytes:
        hits = index.search(
            criteria["q"] or "",
            theme=criteria["theme"],
            keyword=criteria["keyword"],
            publisher=criteria["publisher"],
        )
        total = len(hits)
        last = max(1, -(-total // size))
        chosen = hits[(page - 1) * size : page * size]
        links = {}
        if page > 1:
            links["previous"] = page_url(path, {**params, "page": min(page - 1, last)})
        if page < last:
            links["next"] = page_url(path, {**params, "page": page + 1})
        if fmt is JSON:
            return json.dumps(
                {
                    "query": {k: v for k, v in criteria.items() if v},
                    "total": total,
                    "page": page,
                    "page_size": size,
                    "items": [_hit_json(node, hit.entry.document, hit.score) for hit in chosen],
                    **links,
                },
                ensure_ascii=False,
            ).encode()
        ids = [hit.entry.id for hit in chosen]
        triples = completed(node, read_datasets(node, ids))
        this = page_url(path, {**params, "page": page})
        ranking = _ranking(this, [dataset_iri(node.base_url, i) for i in ids], (page - 1) * size)
        view = hydra_view(this, path, params, page, size, total)
        everything = [to_ox(t) for t in ranking + view] + triples
        if fmt is HTML:
            html_links = {
                k: page_url(
                    path, {**params, "page": page + (1 if k == "next" else -1), "format": "html"}
                )
                for k in links
            }
            return html.render_list(
                heading=f"Suche im Datenkatalog {node.settings.node.name}",
                triples=everything,
                order=[dataset_iri(node.base_url, i) for i in ids],
                language=language,
                page=page,
                last=last,
                total=total,
                links=html_links,
                alternates=_alternates(path, {**params, "page": page}),
                search_action=path,
                query=criteria["q"] or "",
            )
        return serialise(everything, fmt)

    return await _respond(request, fmt, etag, state, build)


def _hit_json(node: Node, document: dict[str, Any], score: float) -> dict[str, Any]:
    licence = terms.LICENCES_BY_IRI.get(document.get("license", ""))
    return {
        "id": document["id"],
        "iri": dataset_iri(node.base_url, document["id"]),
        "score": round(score, 4),
        "title": document.get("title", {}),
        "description": document.get("description", {}),
        "keywords": document.get("keywords", {}),
        "themes": [terms.code_of(t) for t in document.get("themes", [])],
        "publisher": (document.get("publisher") or {}).get("name"),
        "license": document.get("license"),
        "license_label": licence.label if licence else None,
        "open": bool(licence and licence.open),
        "modified": document.get("modified"),
    }


def _ranking(collection: str, iris: list[str], offset: int) -> list[Any]:
    """The order of the results, in schema.org terms (RDF itself has no order)."""
    from rdflib import Literal, URIRef
    from rdflib.namespace import RDF, XSD

    node = URIRef(collection)
    triples: list[Any] = [(node, RDF.type, SCHEMA.ItemList)]
    for position, iri in enumerate(iris, start=offset + 1):
        item = URIRef(f"{collection}#{position}")
        triples += [
            (node, SCHEMA.itemListElement, item),
            (item, RDF.type, SCHEMA.ListItem),
            (item, SCHEMA.position, Literal(position, datatype=XSD.integer)),
            (item, SCHEMA.item, URIRef(iri)),
        ]
    return triples


# --- admin API ---------------------------------------------------------------------------


async def _json_body(request: web.Request) -> Any:
    return await read_json(request)


def _describe_admin(summary: str, **extra: Any) -> Any:
    return describe(summary, tags=["catalog admin"], admin=True, **extra)


_DATASET_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "title/description ({de, en}), keywords, themes, publisher, "
                "contact, license, license_attribution, access_rights, temporal, spatial, "
                "frequency, languages, landing_page, policy (ODRL offer), distributions",
            }
        }
    },
}
_CHANGE_RESPONSES = {
    "200": {"description": "the dataset as published, with profile warnings"},
    "400": {"$ref": "#/components/responses/Problem"},
    "409": {"$ref": "#/components/responses/Problem"},
    "422": {"$ref": "#/components/responses/Problem"},
}


@_describe_admin(
    "List the datasets (published, retracted or all)",
    parameters=[query_param("status", "published (default), retracted or all")],
)
@admin_only
async def admin_list(request: web.Request) -> web.Response:
    node = _node(request)
    status = request.query.get("status", PUBLISHED)
    if status not in (PUBLISHED, RETRACTED, "all"):
        raise Problem(400, "Bad Request", say("status must be published, retracted or all"))

    def rows() -> list[dict[str, Any]]:
        with Session(node.engine) as session:
            query = select(CatalogDataset).order_by(col(CatalogDataset.id))
            if status != "all":
                query = query.where(CatalogDataset.status == status)
            return [
                {
                    "id": row.id,
                    "status": row.status,
                    "title": row.title,
                    "license": row.license,
                    "access_rights": row.access_rights,
                    "version": row.version,
                    "modified": row.modified.isoformat(),
                    "iri": dataset_iri(node.base_url, row.id),
                }
                for row in session.exec(query)
            ]

    return web.json_response({"items": await asyncio.to_thread(rows)})


@_describe_admin(
    "Publish a new dataset (checked against the DCAT-AP.de profile)",
    request_body=_DATASET_BODY,
    responses={**_CHANGE_RESPONSES, "201": {"description": "published"}},
)
@admin_only
async def admin_create(request: web.Request) -> web.Response:
    node = _node(request)
    try:
        outcome = await service.create(node, await _json_body(request))
    except service.CatalogError as exc:
        raise _problem(exc) from None
    location = dataset_iri(node.base_url, outcome.data["id"])
    return web.json_response(outcome.to_json(), status=201, headers={"Location": location})


@_describe_admin("A dataset's full description, status and version")
@admin_only
async def admin_get(request: web.Request) -> web.Response:
    node = _node(request)
    row, data = await asyncio.to_thread(_dataset_row, node, request.match_info["dataset"])
    if row is None:
        raise Problem(404, "Not Found", say("there is no such dataset"))
    return web.json_response({"status": row.status, "version": row.version, "dataset": data})


async def _change(request: web.Request, *, patch: bool) -> web.Response:
    node = _node(request)
    try:
        outcome = await service.update(
            node, request.match_info["dataset"], await _json_body(request), patch=patch
        )
    except service.CatalogError as exc:
        raise _problem(exc) from None
    return web.json_response(outcome.to_json())


@_describe_admin(
    "Replace a dataset's description (an updated event)",
    request_body=_DATASET_BODY,
    responses=_CHANGE_RESPONSES,
)
@admin_only
async def admin_put(request: web.Request) -> web.Response:
    return await _change(request, patch=False)


@_describe_admin(
    "Change part of a dataset's description (JSON Merge Patch, RFC 7396)",
    request_body={
        "required": True,
        "content": {
            "application/merge-patch+json": {
                "schema": {**_DATASET_BODY["content"]["application/json"]["schema"]}
            }
        },
    },
    responses=_CHANGE_RESPONSES,
)
@admin_only
async def admin_patch(request: web.Request) -> web.Response:
    return await _change(request, patch=True)


@_describe_admin(
    "Retract a dataset: it leaves the catalog; the retraction is a signed event",
    responses={"200": {"description": "retracted"}, "404": {"description": "no such dataset"}},
)
@admin_only
async def admin_retract(request: web.Request) -> web.Response:
    try:
        data = await service.retract(_node(request), request.match_info["dataset"])
    except service.CatalogError as exc:
        raise _problem(exc) from None
    return web.json_response({"retracted": data})


_META_FIELDS = ("id", "title", "description", "format", "license", "status")


@_describe_admin(
    "Upload a file as a distribution (multipart field `file`, or the raw body with its "
    "Content-Type); links and APIs are part of the dataset description",
    parameters=[
        query_param("id", "distribution id (raw uploads; replaces that file if it exists)"),
        query_param("title", "title (raw uploads)"),
        query_param("format", "EU file type code, e.g. CSV (raw uploads)"),
        query_param("file_name", "file name (raw uploads)"),
    ],
    request_body={
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": FILE, **dict.fromkeys(_META_FIELDS, TEXT)},
                }
            },
            "application/octet-stream": {"schema": FILE},
        },
    },
    responses={
        **_CHANGE_RESPONSES,
        "201": {"description": "added"},
        "413": {"$ref": "#/components/responses/Problem"},
    },
)
@admin_only
async def admin_add_distribution(request: web.Request) -> web.Response:
    node = _node(request)
    dataset_id = request.match_info["dataset"]
    limit = node.settings.http.max_body_bytes
    try:
        await service.current_dataset(node, dataset_id)
        if request.content_length is not None and request.content_length > limit:
            raise Problem(
                413, "Payload Too Large", say("the limit is %(limit)s bytes", limit=limit)
            )
        directory = files_directory(node.settings.directory)
        meta: dict[str, Any] = {}
        file_name: str | None
        if request.content_type == "multipart/form-data":
            stored, file_name, declared, meta = await _multipart(request, directory, limit)
        else:
            meta = {k: request.query[k] for k in _META_FIELDS if k in request.query}
            named = request.query.get("file_name") or _disposition_name(request)
            file_name = safe_file_name(text_of(named, say("the file name")))
            declared = request.content_type
            chunks = request.content.iter_chunked(256 * 1024)
            stored = await store_stream(chunks, directory, limit)
        outcome, distribution_id = await service.add_file(
            node,
            dataset_id,
            stored,
            file_name=file_name,
            media_type=guess_media_type(declared, file_name),
            meta=meta,
        )
    except FileTooLarge as exc:
        raise Problem(413, "Payload Too Large", str(exc)) from None
    except service.CatalogError as exc:
        raise _problem(exc) from None
    location = distribution_iri(node.base_url, dataset_id, distribution_id)
    body = {**outcome.to_json(), "distribution": distribution_id}
    return web.json_response(body, status=201, headers={"Location": location})


def _disposition_name(request: web.Request) -> str | None:
    header = request.headers.get("Content-Disposition", "")
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "filename" and value:
            return value.strip('"')[:200]
    return None


async def _multipart(
    request: web.Request, directory: Any, limit: int
) -> tuple[Any, str | None, str | None, dict[str, Any]]:
    meta: dict[str, Any] = {}
    stored = None
    file_name: str | None = None
    declared: str | None = None
    async for part in parts(request, "a part 'file'"):
        if part.name == "file":
            if stored is not None:
                raise Problem(400, "Bad Request", say("one file per request"))
            file_name = safe_file_name(part.filename)
            declared = part.content_type
            stored = await store_stream(part.chunks(256 * 1024), directory, limit)
        elif part.name in _META_FIELDS:
            text = (await part.text(MAX_FIELD)).strip()
            if part.name in ("title", "description") and text.startswith("{"):
                try:
                    meta[part.name] = json.loads(text)
                    continue
                except json.JSONDecodeError:
                    pass
            meta[part.name] = text
        else:
            raise Problem(400, "Bad Request", say("unknown form field '%(name)s'", name=part.name))
    if stored is None:
        raise Problem(400, "Bad Request", say("the form has no field 'file'"))
    return stored, file_name, declared, meta


@_describe_admin("Remove a distribution from a dataset (an updated event)")
@admin_only
async def admin_remove_distribution(request: web.Request) -> web.Response:
    try:
        outcome = await service.remove_distribution(
            _node(request), request.match_info["dataset"], request.match_info["distribution"]
        )
    except service.CatalogError as exc:
        raise _problem(exc) from None
    return web.json_response(outcome.to_json())


DATASET = "/datasets/{dataset:[a-z0-9][a-z0-9-]{0,63}}"
DISTRIBUTION = DATASET + "/distributions/{distribution:[a-z0-9][a-z0-9-]{0,63}}"
ADMIN_DATASET = "/admin" + DATASET


def setup(app: web.Application) -> None:
    app["catalog_cache"] = ResponseCache()
    app["catalog_search"] = SearchIndexes()
    router = app.router
    router.add_get("/catalog", catalog)
    router.add_get("/catalog/search", search)
    router.add_get(DATASET, dataset)
    router.add_get(DISTRIBUTION, distribution)
    router.add_get(DISTRIBUTION + "/download", download)
    router.add_get("/services/{name:sparql|observations/[a-z0-9][a-z0-9-]{0,63}}", data_service)
    router.add_get("/admin/datasets", admin_list)
    router.add_post("/admin/datasets", admin_create)
    router.add_get(ADMIN_DATASET, admin_get)
    router.add_put(ADMIN_DATASET, admin_put)
    router.add_patch(ADMIN_DATASET, admin_patch)
    router.add_delete(ADMIN_DATASET, admin_retract)
    router.add_post(ADMIN_DATASET + "/distributions", admin_add_distribution)
    router.add_delete(ADMIN_DATASET + "/distributions/{distribution}", admin_remove_distribution)
