"""Serving the catalog fast: pages read from the store, validators from the event log.

A page lists datasets in id order from the control plane (an index scan), reads exactly
those datasets' graphs from the store with one SPARQL CONSTRUCT, adds what `completion`
derives plus the catalog's own description and Hydra paging, and lets pyoxigraph serialise.
`ETag` and `Last-Modified` come from the newest catalog event the store has projected, so a
harvester that remembers them costs the node one indexed SQL query and nothing else.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from aiohttp import web
from rdflib import Literal, URIRef
from sqlalchemy import func
from sqlmodel import Session, col, select

from allmende.node.catalog.models import PUBLISHED, CatalogDataset
from allmende.node.catalog.projection import EVENT_TYPES
from allmende.node.catalog.rdf import (
    LINK_PREDICATES,
    TITLE,
    Triple,
    catalog_graph_iri,
    catalog_iri,
    completion,
    operator_iri,
    ox_term,
)
from allmende.node.http.problems import Problem
from allmende.node.messages import say
from allmende.node.models import EventRecord
from allmende.node.runtime import Node
from allmende.node.store.base import CHECKPOINT
from allmende.vocab import catalog as terms
from allmende.vocab.namespaces import DCAT, DCT, FOAF, HYDRA, PREFIXES, RDF, SKOS, XSD


@dataclass(frozen=True)
class Format:
    key: str
    media_type: str
    rdf: ox.RdfFormat | None

    @property
    def content_type(self) -> str:
        text = self.media_type.startswith("text/")
        return f"{self.media_type}; charset=utf-8" if text else self.media_type


TURTLE = Format("ttl", "text/turtle", ox.RdfFormat.TURTLE)
JSON_LD = Format("jsonld", "application/ld+json", ox.RdfFormat.JSON_LD)
RDF_XML = Format("rdf", "application/rdf+xml", ox.RdfFormat.RDF_XML)
N_TRIPLES = Format("nt", "application/n-triples", ox.RdfFormat.N_TRIPLES)
HTML = Format("html", "text/html", None)
JSON = Format("json", "application/json", None)
RDF_FORMATS = (TURTLE, JSON_LD, RDF_XML, N_TRIPLES)
_BY_KEY = {f.key: f for f in (*RDF_FORMATS, HTML, JSON)}
_ALIASES = {"turtle": "ttl", "json-ld": "jsonld", "xml": "rdf", "rdfxml": "rdf", "ntriples": "nt"}
_ACCEPT_ITEM = re.compile(r"^\s*([^;\s]+)\s*(?:;(.*))?$")

_USED_PREFIXES = [
    "rdf",
    "rdfs",
    "xsd",
    "dcat",
    "dct",
    "dcatde",
    "adms",
    "foaf",
    "vcard",
    "locn",
    "gsp",
    "spdx",
    "odrl",
    "skos",
    "hydra",
    "schema",
]
SERIALISATION_PREFIXES = {name: str(PREFIXES[name]) for name in _USED_PREFIXES}


def negotiate(request: web.Request, offered: Sequence[Format], default: Format) -> Format:
    """Pick a representation: `?format=` first, then the Accept header (q-values), else default."""
    wanted = request.query.get("format")
    if wanted is not None:
        found = _BY_KEY.get(_ALIASES.get(wanted.lower(), wanted.lower()))
        if found is None or found not in offered:
            names = ", ".join(f.key for f in offered)
            raise Problem(
                400,
                "Bad Request",
                say("query parameter 'format' must be one of %(names)s", names=names),
            )
        return found
    header = request.headers.get("Accept", "")
    if not header.strip():
        return default
    best: tuple[float, int, Format] | None = None
    for position, item in enumerate(header.split(",")):
        match = _ACCEPT_ITEM.match(item)
        if not match:
            continue
        media, params = match.group(1).lower(), match.group(2) or ""
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        candidates = (
            [default]
            if media in ("*/*",)
            else [
                f
                for f in offered
                if f.media_type == media
                or (media.endswith("/*") and f.media_type.startswith(media[:-1]))
            ]
        )
        for candidate in candidates:
            # higher q wins; at equal q the more specific and the earlier entry wins
            rank = (quality, -position - (1000 if media.endswith("*") else 0), candidate)
            if best is None or rank[:2] > best[:2]:
                best = rank
    if best is None:
        types = ", ".join(f.media_type for f in offered)
        raise Problem(
            406, "Not Acceptable", say("available representations: %(types)s", types=types)
        )
    return best[2]


@dataclass(frozen=True)
class State:
    """The newest projected catalog event: what the validators are made of."""

    seq: int
    time: datetime | None


def _projected_seq(node: Node) -> int:
    return int(node.store.get_meta(CHECKPOINT) or 0)


def catalog_state(node: Node, subject: str | None = None) -> State:
    """Newest local catalog event already in the store (for one dataset if `subject`)."""
    checkpoint = _projected_seq(node)
    query = (
        select(EventRecord.seq, EventRecord.time)
        .where(col(EventRecord.type).in_(EVENT_TYPES))
        .where(col(EventRecord.local).is_(True))
        .where(col(EventRecord.seq) <= checkpoint)
    )
    if subject is not None:
        query = query.where(EventRecord.subject == subject)
    with Session(node.engine) as session:
        row = session.exec(query.order_by(col(EventRecord.seq).desc()).limit(1)).first()
    if row is None:
        return State(0, None)
    seq, moment = row
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return State(int(seq or 0), moment)


def header_fingerprint(node: Node) -> str:
    """What else the documents depend on: the node's name, AGS and public URL."""
    settings = node.settings.node
    return "|".join((settings.name, settings.ags, settings.base_url))


def make_etag(kind: str, state: State, *variant: Any) -> str:
    digest = hashlib.sha256(repr(variant).encode()).hexdigest()[:16]
    return f'"{kind}-{state.seq}-{digest}"'


def validators(etag: str, state: State) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": "public, max-age=0, must-revalidate"}
    if state.time is not None:
        headers["Last-Modified"] = format_datetime(state.time.astimezone(UTC), usegmt=True)
    headers["Vary"] = "Accept"
    return headers


def not_modified(request: web.Request, etag: str, state: State) -> bool:
    """RFC 9110 conditional GET: If-None-Match wins over If-Modified-Since."""
    match = request.headers.get("If-None-Match")
    if match is not None:
        tags = [t.strip().removeprefix("W/") for t in match.split(",")]
        return "*" in tags or etag in tags
    since = request.headers.get("If-Modified-Since")
    if since and state.time is not None:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return state.time.replace(microsecond=0) <= moment
    return False


def published_page(node: Node, offset: int, limit: int) -> tuple[list[str], int]:
    """Ids of one page of published datasets in id order, and how many there are."""
    with Session(node.engine) as session:
        total = session.exec(
            select(func.count())
            .select_from(CatalogDataset)
            .where(CatalogDataset.status == PUBLISHED)
        ).one()
        ids = session.exec(
            select(CatalogDataset.id)
            .where(CatalogDataset.status == PUBLISHED)
            .order_by(col(CatalogDataset.id))
            .offset(offset)
            .limit(limit)
        ).all()
    return list(ids), int(total)


def read_graphs(node: Node, graphs: Iterable[str]) -> list[ox.Triple]:
    """All triples of the named graphs, each once, in one query."""
    names = list(graphs)
    if not names:
        return []
    union = " UNION ".join(f"{{ GRAPH <{name}> {{ ?s ?p ?o }} }}" for name in names)
    result = node.store.query(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SELECT DISTINCT ?s ?p ?o WHERE {{ {union} }} }}"
    )
    return list(result)


def read_datasets(node: Node, dataset_ids: Iterable[str]) -> list[ox.Triple]:
    return read_graphs(node, (catalog_graph_iri(node.base_url, i) for i in dataset_ids))


_BYTE_SIZE = str(DCAT.byteSize)
_INTEGER = ox.NamedNode(str(XSD.integer))
_NON_NEGATIVE = ox.NamedNode(str(XSD.nonNegativeInteger))


def completed(node: Node, triples: list[ox.Triple]) -> list[ox.Triple]:
    """The triples plus their `completion` (vocabulary facts, service descriptions, types).

    Also gives `dcat:byteSize` back its datatype: Oxigraph stores integer-derived types as
    xsd:integer, but DCAT-AP requires xsd:nonNegativeInteger.
    """
    found = []
    result = list(triples)
    for position, triple in enumerate(result):
        predicate = triple.predicate.value
        obj = triple.object
        if predicate in LINK_PREDICATES and isinstance(obj, ox.NamedNode):
            found.append((getattr(triple.subject, "value", ""), predicate, obj.value))
        elif predicate == _BYTE_SIZE and isinstance(obj, ox.Literal) and obj.datatype == _INTEGER:
            retyped = ox.Literal(obj.value, datatype=_NON_NEGATIVE)
            result[position] = ox.Triple(triple.subject, triple.predicate, retyped)
    extra = completion(found, node.base_url, node.settings.node.name)
    return result + [to_ox(t) for t in extra]


def to_ox(triple: Triple) -> ox.Triple:
    s, p, o = triple
    return ox.Triple(ox_term(s, {}), ox_term(p, {}), ox_term(o, {}))


def catalog_header(
    node: Node,
    state: State,
    *,
    iri: str | None = None,
    texts: tuple[str, str, str, str] | None = None,
) -> list[Triple]:
    """The catalog's own description: the municipality's name, place and languages.

    `iri` and `texts` (title de, title en, description de, description en) describe another
    catalog the node publishes, the federated one.
    """
    base = node.base_url
    settings = node.settings.node
    catalog = URIRef(iri or catalog_iri(base))
    publisher = URIRef(operator_iri(base))
    geocoding, _level = terms.geocoding_for_ags(settings.ags)
    title_de, title_en, description_de, description_en = texts or (
        f"Datenkatalog {settings.name}",
        f"Data catalogue of {settings.name}",
        f"Offene Daten und Sensordaten von {settings.name}, "
        "veröffentlicht von der Gemeinde als Linked Data (DCAT-AP.de).",
        f"Open data and sensor data of {settings.name}, "
        "published by the municipality as linked data (DCAT-AP.de).",
    )
    triples: list[Triple] = [
        (catalog, RDF.type, DCAT.Catalog),
        (catalog, TITLE, Literal(title_de, lang="de")),
        (catalog, TITLE, Literal(title_en, lang="en")),
        (catalog, DCT.description, Literal(description_de, lang="de")),
        (catalog, DCT.description, Literal(description_en, lang="en")),
        (catalog, DCT.publisher, publisher),
        (catalog, FOAF.homepage, URIRef(f"{base}/")),
        (URIRef(f"{base}/"), RDF.type, FOAF.Document),
        (catalog, DCAT.themeTaxonomy, URIRef(terms.THEME_SCHEME)),
        (URIRef(terms.THEME_SCHEME), RDF.type, SKOS.ConceptScheme),
        (URIRef(terms.THEME_SCHEME), TITLE, Literal("Data theme", lang="en")),
        (catalog, DCT.spatial, URIRef(geocoding)),
        (URIRef(geocoding), RDF.type, DCT.Location),
        (publisher, RDF.type, FOAF.Agent),
        (publisher, FOAF.name, Literal(settings.name)),
        (publisher, DCT.type, URIRef(terms.publisher_type_iri("LocalAuthority"))),
    ]
    for code in ("DEU", "ENG"):
        language = URIRef(terms.language_iri(code))
        triples.append((catalog, DCT.language, language))
    triples += [
        (URIRef(s), URIRef(p), URIRef(o))
        for language in ("DEU", "ENG")
        for s, p, o in terms.concept_facts(terms.language_iri(language))
    ]
    triples += [
        (URIRef(s), URIRef(p), URIRef(o))
        for s, p, o in terms.concept_facts(terms.publisher_type_iri("LocalAuthority"))
    ]
    if state.time is not None:
        stamp = state.time.astimezone(UTC).isoformat().replace("+00:00", "Z")
        triples.append((catalog, DCT.modified, Literal(stamp, datatype=XSD.dateTime)))
    return grouped(triples)


def grouped(triples: list[Triple]) -> list[Triple]:
    """Triples of one subject together (stable), so that Turtle writes each subject once."""
    order: dict[Any, int] = {}
    for s, _p, _o in triples:
        order.setdefault(s, len(order))
    return sorted(triples, key=lambda t: order[t[0]])


def paging_params(request: web.Request) -> dict[str, str]:
    """Every query parameter of the request but `page`, in order: what each Hydra link keeps
    (a harvester that asked for `format=rdf` must get RDF/XML from the next page too)."""
    return {name: value for name, value in request.query.items() if name != "page"}


def page_url(base_path: str, params: dict[str, Any]) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{base_path}?{query}" if query else base_path


def hydra_view(
    collection: str, page_base: str, params: dict[str, Any], page: int, size: int, total: int
) -> list[Triple]:
    """Hydra paging, in the current (PartialCollectionView) and the legacy terms CKAN reads."""
    last = max(1, -(-total // size))
    view = URIRef(page_url(page_base, {**params, "page": page}))
    node = URIRef(collection)
    triples: list[Triple] = [
        (node, HYDRA.view, view),
        (node, HYDRA.totalItems, Literal(total, datatype=XSD.integer)),
        (view, RDF.type, HYDRA.PartialCollectionView),
        (view, RDF.type, HYDRA.PagedCollection),
        (view, HYDRA.totalItems, Literal(total, datatype=XSD.integer)),
        (view, HYDRA.itemsPerPage, Literal(size, datatype=XSD.integer)),
    ]

    def link(name: str, legacy: str, number: int) -> None:
        target = URIRef(page_url(page_base, {**params, "page": number}))
        triples.append((view, HYDRA[name], target))
        triples.append((view, HYDRA[legacy], target))

    link("first", "firstPage", 1)
    link("last", "lastPage", last)
    if page > 1:
        link("previous", "previousPage", min(page - 1, last))
    if page < last:
        link("next", "nextPage", page + 1)
    return grouped(triples)


def serialise(triples: Iterable[ox.Triple], fmt: Format) -> bytes:
    assert fmt.rdf is not None
    prefixes = (
        SERIALISATION_PREFIXES if fmt.rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) else None
    )
    data = ox.serialize(triples, format=fmt.rdf, prefixes=prefixes)
    assert isinstance(data, bytes)
    return data


class ResponseCache:
    """Serialised documents by ETag, bounded in bytes: a harvest of unchanged pages is cheap."""

    def __init__(self, budget: int = 32 * 1024 * 1024) -> None:
        self.budget = budget
        self.used = 0
        self.entries: OrderedDict[str, bytes] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        body = self.entries.get(key)
        if body is not None:
            self.entries.move_to_end(key)
        return body

    def put(self, key: str, body: bytes) -> None:
        if len(body) > self.budget // 4 or key in self.entries:
            return
        self.entries[key] = body
        self.used += len(body)
        while self.used > self.budget:
            _key, dropped = self.entries.popitem(last=False)
            self.used -= len(dropped)

    def clear(self) -> None:
        self.entries.clear()
        self.used = 0
