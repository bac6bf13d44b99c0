"""Result formats per query form, and content negotiation over them (406 when none fits)."""

from __future__ import annotations

from node.http.problems import Problem

RESULTS = [
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
]
BOOLEAN = ["application/sparql-results+json", "application/sparql-results+xml"]
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
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
}
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


def negotiate(form: str, accept: str, explicit: str | None) -> str:
    """A `format` parameter (as YASGUI and curl users send) wins over the Accept header."""
    candidates = offered(form)
    if explicit:
        wanted = ALIASES.get(explicit.lower(), explicit.lower())
        if wanted in candidates:
            return wanted
        raise Problem(
            406,
            "Not Acceptable",
            f"{form} results are not available as {explicit!r}",
            available=candidates,
        )
    chosen = choose(accept, candidates)
    if chosen is None:
        raise Problem(
            406,
            "Not Acceptable",
            f"{form} results are available as {', '.join(candidates)}",
            available=candidates,
        )
    return chosen


def wants_html(accept: str) -> bool:
    """Browsers list text/html first; SPARQL clients never ask for it."""
    ranges = _ranges(accept)
    return bool(ranges) and ranges[0][0] in (HTML, "application/xhtml+xml")
