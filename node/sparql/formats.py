"""Result formats per query form, and content negotiation over them (406 when none fits).

Clients name a format in two ways: the Accept header (with q-values), and a `format` or
`output` parameter, which SPARQLWrapper, YASGUI and curl users send. A parameter's short
names mean what Apache Jena Fuseki makes of them, per query form: `xml` is SPARQL
Results XML for SELECT and ASK but RDF/XML for CONSTRUCT and DESCRIBE, `json` SPARQL
JSON or JSON-LD. Clients that send both (SPARQLWrapper sends `format=xml` and an Accept
header) get what the parameter names.
"""

from __future__ import annotations

from allmende.node.http.problems import Problem
from allmende.node.messages import say

RESULTS = [
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
]
BOOLEAN = RESULTS
"""The protocol allows CSV and TSV for ASK too (SPARQLWrapper asks for them); they hold
one line, `true` or `false`."""
GRAPHS = [
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
]
ALIASES = {
    "application/json": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
    "text/xml": "application/sparql-results+xml",
    "text/plain": "application/n-triples",
}
"""Media types some clients send for the standard ones, in the Accept header."""
RESULT_NAMES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "text": "text/tab-separated-values",
    "application/json": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
    "text/xml": "application/sparql-results+xml",
    "text/plain": "text/tab-separated-values",
}
"""Parameter values for SELECT and ASK (`text` is a plain-text table: TSV)."""
GRAPH_NAMES = {
    "json": "application/ld+json",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "xml": "application/rdf+xml",
    "rdf": "application/rdf+xml",
    "rdfxml": "application/rdf+xml",
    "rdf+xml": "application/rdf+xml",
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "n3": "text/turtle",
    "nt": "application/n-triples",
    "ntriples": "application/n-triples",
    "n-triples": "application/n-triples",
    "text": "application/n-triples",
    "application/json": "application/ld+json",
    "application/xml": "application/rdf+xml",
    "text/xml": "application/rdf+xml",
    "text/plain": "application/n-triples",
    "application/turtle": "text/turtle",
    "text/n3": "text/turtle",
}
"""Parameter values for CONSTRUCT and DESCRIBE (`n3`: Turtle is N3 without its extensions)."""
NAMES = sorted(
    {name for name in (*RESULT_NAMES, *GRAPH_NAMES) if "/" not in name} | {*RESULTS, *GRAPHS}
)
"""Every value a `format` parameter may have, for the 400 that names them."""
HTML = "text/html"


def offered(form: str) -> list[str]:
    if form == "ASK":
        return BOOLEAN
    return GRAPHS if form in ("CONSTRUCT", "DESCRIBE") else RESULTS


def _ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        quality = 1.0
        for parameter in fields[1:]:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((fields[0].lower(), quality))
    return ranges


def choose(accept: str, candidates: list[str]) -> str | None:
    """The candidate with the highest quality; ties go to the server's order."""
    if not accept.strip():
        return candidates[0]
    best: tuple[float, int, str] | None = None
    for position, candidate in enumerate(candidates):
        kind = candidate.split("/")[0]
        quality = -1.0
        for media, q in _ranges(accept):
            media = ALIASES.get(media, media)
            specific = media == candidate
            if specific or media == f"{kind}/*" or media == "*/*":
                quality = max(quality, q + (0.001 if specific else 0.0))
        if quality > 0 and (best is None or (quality, -position) > (best[0], -best[1])):
            best = (quality, position, candidate)
    return best[2] if best else None


def named(form: str, value: str) -> str | None:
    """The media type a `format`/`output` value stands for with this query form."""
    wanted = value.strip().lower().split(";")[0].strip()
    names = GRAPH_NAMES if form in ("CONSTRUCT", "DESCRIBE") else RESULT_NAMES
    return names.get(wanted, wanted if wanted in (*RESULTS, *GRAPHS) else None)


def _any_form(value: str) -> bool:
    return any(named(form, value) for form in ("SELECT", "CONSTRUCT"))


def negotiate(form: str, accept: str, explicit: list[str] | tuple[str, ...] = ()) -> str:
    """A `format`/`output` parameter wins over the Accept header.

    Several values may come (SPARQLWrapper sends `format=tsv&format=text/tab-separated-
    values`): the first one known counts. A value that names no format is a 400 listing
    the known ones; a format this query form has not, a 406.
    """
    candidates = offered(form)
    if explicit:
        known = [media for media in (named(form, value) for value in explicit) if media]
        if not known and not any(_any_form(value) for value in explicit):
            raise Problem(
                400,
                "Bad Request",
                f"the format {explicit[0][:100]!r} is unknown; use one of {', '.join(NAMES)}",
                parameter="format",
                accepted=NAMES,
            )
        if known and known[0] in candidates:
            return known[0]
        raise Problem(
            406,
            "Not Acceptable",
            f"{form} results are not available as {explicit[0][:100]!r}",
            available=candidates,
        )
    chosen = choose(accept, candidates)
    if chosen is None:
        raise Problem(
            406,
            "Not Acceptable",
            say(
                "%(form)s results are available as %(value)s",
                form=form,
                value=", ".join(candidates),
            ),
            available=candidates,
        )
    return chosen


def wants_html(accept: str) -> bool:
    """Browsers list text/html first; SPARQL clients never ask for it."""
    ranges = _ranges(accept)
    return bool(ranges) and ranges[0][0] in (HTML, "application/xhtml+xml")
