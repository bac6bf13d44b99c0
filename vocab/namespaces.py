"""The namespaces Allmende speaks, defined once so that no module spells an IRI by hand.

Prefixes follow the vocabularies' own documents (DCAT-AP.de, SOSA, QUDT); `GEO` is the
W3C WGS84 vocabulary (`geo:lat`, `geo:long`) and `GSP` is GeoSPARQL (`gsp:asWKT`),
because both are used side by side and both call themselves `geo:` elsewhere.

These are rdflib `Namespace`s, i.e. strings: a term named like a `str` method must be
indexed, `DCT["format"]`, because `DCT.format` is `str.format`.
"""

from __future__ import annotations

from rdflib import Graph, Namespace

ALLMENDE = Namespace("https://w3id.org/allmende/ns#")

ADMS = Namespace("http://www.w3.org/ns/adms#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
DCT = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
GEO = Namespace("http://www.w3.org/2003/01/geo/wgs84_pos#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
PROV = Namespace("http://www.w3.org/ns/prov#")
QUANTITYKIND = Namespace("http://qudt.org/vocab/quantitykind/")
QUDT = Namespace("http://qudt.org/schema/qudt/")
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
SCHEMA = Namespace("http://schema.org/")
SH = Namespace("http://www.w3.org/ns/shacl#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
SOSA = Namespace("http://www.w3.org/ns/sosa/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
SSN = Namespace("http://www.w3.org/ns/ssn/")
TIME = Namespace("http://www.w3.org/2006/time#")
UNIT = Namespace("http://qudt.org/vocab/unit/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")

PREFIXES: dict[str, Namespace] = {
    "allmende": ALLMENDE,
    "adms": ADMS,
    "dcat": DCAT,
    "dcatap": DCATAP,
    "dcatde": DCATDE,
    "dct": DCT,
    "foaf": FOAF,
    "geo": GEO,
    "gsp": GSP,
    "hydra": HYDRA,
    "locn": LOCN,
    "odrl": ODRL,
    "owl": OWL,
    "prov": PROV,
    "quantitykind": QUANTITYKIND,
    "qudt": QUDT,
    "rdf": RDF,
    "rdfs": RDFS,
    "schema": SCHEMA,
    "sh": SH,
    "skos": SKOS,
    "sosa": SOSA,
    "spdx": SPDX,
    "ssn": SSN,
    "time": TIME,
    "unit": UNIT,
    "vcard": VCARD,
    "xsd": XSD,
}


def bind_prefixes(graph: Graph) -> Graph:
    """Bind our prefixes, replacing rdflib's defaults, so serialisations read the same."""
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph
