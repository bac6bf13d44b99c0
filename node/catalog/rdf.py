"""A dataset description (canonical JSON) as DCAT-AP.de RDF: one pure function, reusable.

`dataset_graph(data)` needs nothing but the event's data, so the local projection, `reindex`
and a peer node that projects our catalog events all build the same triples. Every resource
gets an https IRI under the publishing node's base (hash IRIs for the small parts: contact,
period, location, checksum), so the graph has no blank nodes except inside the policy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox
from geomet import wkt as geomet_wkt
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.term import Node

from allmende.vocab import catalog as terms
from allmende.vocab.namespaces import (
    ADMS,
    DCAT,
    DCATDE,
    DCT,
    FOAF,
    GSP,
    LOCN,
    ODRL,
    RDF,
    SKOS,
    SPDX,
    VCARD,
    XSD,
)

# `title` and `format` are also methods of `str` (a Namespace is one), so spell them out.
TITLE = DCT["title"]
FORMAT = DCT["format"]
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
_SERVICE_TITLES = {
    "sparql": ("SPARQL-Endpunkt", "SPARQL endpoint"),
    "observations": ("Zeitreihen-Schnittstelle (JSON)", "Time series API (JSON)"),
}
_SERVICE_DEFAULT_FORMAT = {"sparql": "SPARQLQRES", "observations": "JSON"}


def catalog_iri(base: str) -> str:
    return f"{base}/catalog"


def operator_iri(base: str) -> str:
    """The municipality that runs the node: publisher of the catalog and its services."""
    return f"{base}/catalog#publisher"


def dataset_iri(base: str, dataset_id: str) -> str:
    return f"{base}/datasets/{dataset_id}"


def distribution_iri(base: str, dataset_id: str, distribution_id: str) -> str:
    return f"{base}/datasets/{dataset_id}/distributions/{distribution_id}"


def download_url(base: str, dataset_id: str, distribution_id: str) -> str:
    return distribution_iri(base, dataset_id, distribution_id) + "/download"


def catalog_graph_iri(base: str, dataset_id: str) -> str:
    return f"{base}/graphs/catalog/{dataset_id}"


def catalog_graph_prefix(base: str) -> str:
    return f"{base}/graphs/catalog/"


def service_iri(base: str, service: str, dataset_id: str) -> str:
    """The SPARQL endpoint is one service for all datasets; each dataset has its own time series."""
    return (
        f"{base}/services/sparql"
        if service == "sparql"
        else f"{base}/services/{service}/{dataset_id}"
    )


def service_endpoint(base: str, service: str, dataset_id: str) -> str:
    return f"{base}/sparql" if service == "sparql" else f"{base}/datasets/{dataset_id}/{service}"


CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_CRS = re.compile(r"^\s*<([^>]+)>\s*")


def geojson(wkt: str) -> str | None:
    """A WKT geometry as a GeoJSON geometry (RFC 7946), or None where there is none.

    GeoJSON has longitude/latitude on WGS 84 only, which is also GeoSPARQL's default for a WKT
    literal without a CRS; a literal naming another CRS would need a reprojection, so it keeps
    its WKT alone, as does one geomet cannot read.
    """
    crs = _CRS.match(wkt)
    if crs and crs.group(1) != CRS84:
        return None
    try:
        geometry = geomet_wkt.loads(wkt[crs.end() :] if crs else wkt)
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    return json.dumps(geometry, separators=(",", ":"))


Triple = tuple[Node, Node, Node]


class _Builder:
    """Collects triples in order (a dict as an ordered set): cheaper than rdflib's store."""

    def __init__(self) -> None:
        self.triples: dict[Triple, None] = {}

    def add(self, subject: Node, predicate: URIRef, obj: Node | str | None) -> None:
        if obj is None:
            return
        self.triples[(subject, predicate, obj if isinstance(obj, Node) else URIRef(obj))] = None

    def term(self, subject: Node, predicate: URIRef, iri: str | None) -> None:
        if iri:
            self.add(subject, predicate, URIRef(iri))

    def texts(self, subject: Node, predicate: URIRef, texts: dict[str, str] | None) -> None:
        for language, text in sorted((texts or {}).items()):
            self.triples[(subject, predicate, Literal(text, lang=language))] = None


def _time(value: str) -> Literal:
    return Literal(value, datatype=XSD.dateTime if "T" in value else XSD.date)


def _agent(b: _Builder, node: URIRef, agent: dict[str, Any]) -> None:
    b.add(node, RDF.type, FOAF.Agent)
    if agent.get("name"):
        b.add(node, FOAF.name, Literal(agent["name"]))
    b.term(node, DCT.type, agent.get("type"))
    if agent.get("homepage"):
        b.add(node, FOAF.homepage, agent["homepage"])
    if agent.get("email"):
        b.add(node, FOAF.mbox, "mailto:" + agent["email"])


def _contact(b: _Builder, node: URIRef, contact: dict[str, Any]) -> None:
    b.add(node, RDF.type, VCARD.Kind)
    b.add(node, RDF.type, VCARD.Organization)
    if contact.get("name"):
        b.add(node, VCARD.fn, Literal(contact["name"]))
    if contact.get("email"):
        b.add(node, VCARD.hasEmail, "mailto:" + contact["email"])
    if contact.get("url"):
        b.add(node, VCARD.hasURL, contact["url"])
    if contact.get("phone"):
        digits = "".join(ch for ch in contact["phone"] if ch.isdigit() or ch == "+")
        b.add(node, VCARD.hasTelephone, "tel:" + digits)


def _policy(b: _Builder, offer: dict[str, Any]) -> URIRef | None:
    """The offer's triples via the policies package (offline JSON-LD, no remote context)."""
    from allmende.policies.jsonld import from_jsonld
    from allmende.policies.rdf import to_graph

    policy = from_jsonld(offer)
    # canonical blank node labels and a sorted order: the same offer gives the same triples
    for triple in sorted(to_canonical_graph(to_graph(policy, Graph(bind_namespaces="none")))):
        b.triples[triple] = None
    if policy.uid is None:
        return None
    node = URIRef(policy.uid)
    b.add(node, RDF.type, ODRL.Policy)
    return node


def _service(b: _Builder, base: str, data: dict[str, Any], service: str, dataset: URIRef) -> URIRef:
    """The link to a data service; its description is completed when served (`completion`)."""
    node = URIRef(service_iri(base, service, data["id"]))
    b.add(node, RDF.type, DCAT.DataService)
    b.add(node, DCAT.endpointURL, service_endpoint(base, service, data["id"]))
    b.add(node, DCAT.servesDataset, dataset)
    return node


def _distribution_title(item: dict[str, Any]) -> dict[str, str]:
    if item.get("title"):
        return dict(item["title"])
    if item.get("kind") == "api":
        de, en = _SERVICE_TITLES[item["service"]]
        return {"de": de, "en": en}
    if item.get("file_name"):
        return {"de": item["file_name"]}
    label = terms.code_of(item["format"]).replace("_", " ") if item.get("format") else "Datei"
    return {"de": f"Download ({label})", "en": f"Download ({label})"}


def _distribution(
    b: _Builder,
    base: str,
    data: dict[str, Any],
    item: dict[str, Any],
    dataset: URIRef,
    policy: URIRef | None,
) -> None:
    node = URIRef(distribution_iri(base, data["id"], item["id"]))
    b.add(dataset, DCAT.distribution, node)
    b.add(node, RDF.type, DCAT.Distribution)
    b.add(node, DCT.identifier, Literal(str(node)))
    b.texts(node, TITLE, _distribution_title(item))
    b.texts(node, DCT.description, item.get("description"))
    kind = item.get("kind")
    if kind == "file":
        url = download_url(base, data["id"], item["id"])
        b.add(node, DCAT.accessURL, url)
        b.add(node, DCAT.downloadURL, url)
    elif kind == "link":
        b.add(node, DCAT.accessURL, item["url"])
        b.add(node, DCAT.downloadURL, item["url"])
    elif kind == "api":
        service = _service(b, base, data, item["service"], dataset)
        b.add(node, DCAT.accessURL, service_endpoint(base, item["service"], data["id"]))
        b.add(node, DCAT.accessService, service)
    file_type = item.get("format")
    media_type = item.get("media_type")
    if kind == "api" and not file_type and not media_type:
        file_type = terms.file_type_iri(_SERVICE_DEFAULT_FORMAT[item["service"]])
        media_type = terms.MEDIA_TYPES.get(terms.code_of(file_type))
    b.term(node, FORMAT, file_type)
    if media_type:
        b.term(node, DCAT.mediaType, terms.media_type_iri(media_type))
    b.term(node, DCT.license, item.get("license") or data.get("license"))
    if data.get("license_attribution"):
        b.add(node, DCATDE.licenseAttributionByText, Literal(data["license_attribution"]))
    b.term(node, ADMS.status, item.get("status"))
    if item.get("byte_size") is not None:
        b.add(node, DCAT.byteSize, Literal(str(item["byte_size"]), datatype=XSD.nonNegativeInteger))
    if item.get("checksum"):
        checksum = URIRef(f"{node}#checksum")
        b.add(node, SPDX.checksum, checksum)
        b.add(checksum, RDF.type, SPDX.Checksum)
        b.term(checksum, SPDX.algorithm, terms.SHA256)
        b.add(checksum, SPDX.checksumValue, Literal(item["checksum"], datatype=XSD.hexBinary))
    for key in ("issued",):
        if item.get(key):
            b.add(node, DCT[key], _time(item[key]))
    b.add(node, DCT.modified, _time(data["modified"]))
    if policy is not None:
        b.add(node, ODRL.hasPolicy, policy)


def dataset_graph(data: dict[str, Any], base: str | None = None) -> Graph:
    """The complete description as an rdflib Graph (for validation and rdflib serialisation)."""
    graph = Graph()
    for triple in dataset_triples(data, base, complete=True):
        graph.add(triple)
    return graph


def dataset_triples(
    data: dict[str, Any], base: str | None = None, *, complete: bool = True
) -> list[Triple]:
    """The DCAT-AP.de triples of one dataset, its distributions, services, record and policy.

    `base` defaults to the publishing node's base URL carried in the data, which is what a
    peer projecting our events must use. With `complete=False` the facts that `completion`
    derives (controlled terms' schemes, service descriptions, types of linked resources) are
    left out: that is what the store keeps, so that reading a page of a large catalog reads
    as few quads as possible; whoever serves the triples adds `completion` of them.
    """
    base = (base or data["base"]).rstrip("/")
    b = _Builder()
    dataset = URIRef(dataset_iri(base, data["id"]))
    catalog = URIRef(catalog_iri(base))
    b.add(catalog, DCAT.dataset, dataset)
    record = URIRef(f"{dataset}#record")
    b.add(catalog, DCAT.record, record)
    b.add(record, RDF.type, DCAT.CatalogRecord)
    b.add(record, FOAF.primaryTopic, dataset)
    b.add(record, DCT.issued, _time(data["issued"]))
    b.add(record, DCT.modified, _time(data["modified"]))

    b.add(dataset, RDF.type, DCAT.Dataset)
    b.add(dataset, DCT.identifier, Literal(str(dataset)))
    b.texts(dataset, TITLE, data.get("title"))
    b.texts(dataset, DCT.description, data.get("description"))
    for language, words in sorted((data.get("keywords") or {}).items()):
        for word in words:
            b.add(dataset, DCAT.keyword, Literal(word, lang=language))
    for theme in data.get("themes", []):
        b.term(dataset, DCAT.theme, theme)
    publisher = data.get("publisher")
    if publisher:
        if publisher.get("uri"):
            agent = URIRef(publisher["uri"])
        elif publisher.get("name") == data.get("operator"):
            agent = URIRef(operator_iri(base))
        else:
            agent = URIRef(f"{dataset}#publisher")
        b.add(dataset, DCT.publisher, agent)
        _agent(b, agent, publisher)
    if data.get("contact"):
        contact = URIRef(f"{dataset}#contact")
        b.add(dataset, DCAT.contactPoint, contact)
        _contact(b, contact, data["contact"])
    b.term(dataset, DCT.license, data.get("license"))
    b.term(dataset, DCT.accessRights, data.get("access_rights"))
    temporal = data.get("temporal")
    if temporal:
        period = URIRef(f"{dataset}#temporal")
        b.add(dataset, DCT.temporal, period)
        b.add(period, RDF.type, DCT.PeriodOfTime)
        if temporal.get("start"):
            b.add(period, DCAT.startDate, _time(temporal["start"]))
        if temporal.get("end"):
            b.add(period, DCAT.endDate, _time(temporal["end"]))
    spatial = data.get("spatial") or {}
    if spatial.get("geometry"):
        location = URIRef(f"{dataset}#spatial")
        b.add(dataset, DCT.spatial, location)
        b.add(location, RDF.type, DCT.Location)
        # A literal, as DCAT-AP's usage note and the DCAT-AP.de examples give it: harvesters
        # (ckanext-dcat) read locn:geometry as a WKT or GeoJSON literal and fail on a node.
        b.add(location, LOCN.geometry, Literal(spatial["geometry"], datatype=GSP.wktLiteral))
        # DCAT-AP allows one locn:geometry per place, so the GeoJSON encoding (GeoSPARQL 1.1)
        # goes beside it as the place's GeoSPARQL geometry, which carries both literals.
        as_geojson = geojson(spatial["geometry"])
        if as_geojson is not None:
            shape = URIRef(f"{dataset}#geometry")
            b.add(location, GSP.hasGeometry, shape)
            b.add(shape, RDF.type, GSP.Geometry)
            b.add(shape, GSP.asWKT, Literal(spatial["geometry"], datatype=GSP.wktLiteral))
            b.add(shape, GSP.asGeoJSON, Literal(as_geojson, datatype=GSP.geoJSONLiteral))
        if spatial.get("bbox"):
            west, south, east, north = spatial["bbox"]
            box = (
                f"POLYGON(({west} {south}, {east} {south}, {east} {north}, "
                f"{west} {north}, {west} {south}))"
            )
            b.add(location, DCAT.bbox, Literal(box, datatype=GSP.wktLiteral))
    for place in (spatial.get("uri"), data.get("political_geocoding")):
        if place:
            b.add(dataset, DCT.spatial, place)
    if data.get("political_geocoding"):
        b.add(dataset, DCATDE.politicalGeocodingURI, data["political_geocoding"])
    b.term(dataset, DCATDE.politicalGeocodingLevelURI, data.get("political_geocoding_level"))
    b.term(dataset, DCT.accrualPeriodicity, data.get("frequency"))
    for language in data.get("languages", []):
        b.term(dataset, DCT.language, language)
    if data.get("landing_page"):
        b.add(dataset, DCAT.landingPage, data["landing_page"])
    b.add(dataset, DCT.issued, _time(data["issued"]))
    b.add(dataset, DCT.modified, _time(data["modified"]))
    policy = _policy(b, data["policy"]) if data.get("policy") else None
    if policy is not None:
        b.add(dataset, ODRL.hasPolicy, policy)
    for item in data.get("distributions", []):
        _distribution(b, base, data, item, dataset, policy)
    triples = list(b.triples)
    if complete:
        triples += completion(links(triples), base, data.get("operator"))
    return triples


# Predicates whose IRI objects `completion` says something about.
LINK_PREDICATES = frozenset(
    str(p)
    for p in (
        DCAT.theme,
        DCT.license,
        DCT.accessRights,
        DCT.accrualPeriodicity,
        DCT.language,
        DCATDE.politicalGeocodingLevelURI,
        FORMAT,
        DCAT.mediaType,
        ADMS.status,
        SPDX.algorithm,
        DCT.type,
        DCT.spatial,
        DCAT.landingPage,
        FOAF.homepage,
        DCAT.accessService,
        RDF.type,
    )
)
_DATASET = str(DCAT.Dataset)


def links(triples: Iterable[Triple]) -> list[tuple[str, str, str]]:
    """The `(subject, predicate, object)` IRIs of rdflib triples that `completion` reads."""
    return [
        (str(s), str(p), str(o))
        for s, p, o in triples
        if isinstance(o, URIRef) and str(p) in LINK_PREDICATES
    ]


_TYPE, _SPATIAL = str(RDF.type), str(DCT.spatial)
_PAGES = frozenset((str(DCAT.landingPage), str(FOAF.homepage)))
_ACCESS_SERVICE = str(DCAT.accessService)


def completion(
    found: Iterable[tuple[str, str, str]], base: str, operator: str | None
) -> list[Triple]:
    """What a harvester needs besides the description itself, derived from its links.

    Controlled terms get `a skos:Concept ; skos:inScheme` (and their DCAT-AP class), linked
    places, pages and standards their class, the node's data services their description
    (title, endpoint description, publisher) and a place in the catalog. Without these the
    catalog would only validate where the vocabularies are loaded.
    """
    out: dict[Triple, None] = {}
    services_prefix = f"{base}/services/"
    seen: set[tuple[str, str]] = set()
    for s, p, o in found:
        if p == _TYPE:
            if o == _DATASET:
                out[(URIRef(s), RDF.type, DCAT.Resource)] = None
            continue
        if (p, o) in seen:
            continue
        seen.add((p, o))
        for triple in _facts(o):
            out[triple] = None
        if p == _SPATIAL and not o.startswith(base):
            out[(URIRef(o), RDF.type, DCT.Location)] = None
        elif p in _PAGES:
            out[(URIRef(o), RDF.type, FOAF.Document)] = None
        elif p == _ACCESS_SERVICE and o.startswith(services_prefix):
            for triple in _service_description(o, base, operator):
                out[triple] = None
    return list(out)


@functools.lru_cache(maxsize=4096)
def _facts(iri: str) -> tuple[Triple, ...]:
    facts: list[Triple] = [
        (URIRef(s), URIRef(p), URIRef(o)) for s, p, o in terms.concept_facts(iri)
    ]
    facts += [
        (URIRef(iri), SKOS.prefLabel, Literal(text, lang=language))
        for text, language in terms.concept_labels(iri)
    ]
    return tuple(facts)


@functools.lru_cache(maxsize=4096)
def _service_description(service: str, base: str, operator: str | None) -> tuple[Triple, ...]:
    name = service.removeprefix(f"{base}/services/").split("/", 1)[0]
    if name not in _SERVICE_TITLES:
        return ()
    node = URIRef(service)
    de, en = _SERVICE_TITLES[name]
    publisher = URIRef(operator_iri(base))
    triples: list[Triple] = [
        (URIRef(catalog_iri(base)), DCAT.service, node),
        (node, TITLE, Literal(de, lang="de")),
        (node, TITLE, Literal(en, lang="en")),
        (node, DCT.publisher, publisher),
        (publisher, RDF.type, FOAF.Agent),
    ]
    if operator:
        triples.append((publisher, FOAF.name, Literal(operator)))
    if name == "sparql":
        triples += [
            (node, DCAT.endpointDescription, URIRef(f"{base}/sparql")),
            (node, DCT.conformsTo, URIRef(SPARQL_PROTOCOL)),
            (URIRef(SPARQL_PROTOCOL), RDF.type, DCT.Standard),
        ]
    else:
        triples.append((node, DCAT.endpointDescription, URIRef(f"{base}/openapi.json")))
    return tuple(triples)


def ox_term(term: Node, blanks: dict[str, str]) -> Any:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(blanks.get(str(term), str(term)))
    assert isinstance(term, Literal)
    if term.language:
        return ox.Literal(str(term), language=term.language)
    if term.datatype is not None:
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
    return ox.Literal(str(term))


def to_quads(triples: Iterable[Triple], graph_iri: str) -> list[ox.Quad]:
    """Triples as quads of `graph_iri`, ready for the store.

    Blank nodes (inside a policy) are labelled by the graph's name and their order of first
    appearance, which the builder keeps: projecting the same event twice, or in `reindex`,
    gives the same quads, and two graphs never share a blank node by accident.
    """
    salt = hashlib.sha256(graph_iri.encode()).hexdigest()[:12]
    blanks: dict[str, str] = {}
    name = ox.NamedNode(graph_iri)
    quads = []
    for s, p, o in triples:
        for term in (s, o):
            if isinstance(term, BNode) and str(term) not in blanks:
                blanks[str(term)] = f"b{salt}n{len(blanks)}"
        quads.append(ox.Quad(ox_term(s, blanks), ox_term(p, blanks), ox_term(o, blanks), name))
    return quads
