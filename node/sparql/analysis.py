"""What a query asks for, read from its tokens before anything runs.

The endpoint must know the query form (to negotiate a result format), the dataset the
query names (FROM, FROM NAMED: to scope it) and every SERVICE it would call (to refuse
untrusted ones before a socket opens). A small lexer is enough for that and, unlike a
full parser, never disagrees with the engine about what is code and what is a string,
a comment or an IRI — which is where a SERVICE could otherwise hide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urljoin

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
              |\"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
              |'(?:[^'\\\n\r]|\\.)*'
              |"(?:[^"\\\n\r]|\\.)*")
  | (?P<var>[?$][A-Za-z0-9_\u00b7\u00c0-\U000effff]+)
  | (?P<pname>(?:[A-Za-z\u00c0-\U000effff][\w.\-\u00b7\u00c0-\U000effff]*)?:
               (?:[\w\-:%\u00b7\u00c0-\U000effff](?:[\w.\-:%\u00b7\u00c0-\U000effff]*[\w\-:%\u00b7\u00c0-\U000effff])?)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY"}


class QueryRefused(ValueError):
    """A query the endpoint will not run; the message says why in the caller's terms."""


@dataclass(frozen=True)
class Analysis:
    form: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    services: tuple[str | None, ...] = field(default=())
    """IRIs of SERVICE calls; None for `SERVICE ?variable` (never allowed)."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(query: str) -> list[_Token]:
    found = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup or "other"
        if kind not in ("space", "comment"):
            found.append(_Token(kind, match.group()))
    return found


@lru_cache(maxsize=512)
def analyse(query: str) -> Analysis:
    """Form, dataset and SERVICE targets of a query; raises QueryRefused for updates."""
    tokens = _tokens(query)
    prefixes: dict[str, str] = {}
    base = ""
    form = ""
    defaults: list[str] = []
    named: list[str] = []
    services: list[str | None] = []

    def iri_at(index: int) -> str | None:
        if index >= len(tokens):
            return None
        token = tokens[index]
        if token.kind == "iri":
            return urljoin(base, token.text[1:-1]) if base else token.text[1:-1]
        if token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            if prefix in prefixes:
                return prefixes[prefix] + local
            raise QueryRefused(f"the prefix {prefix!r} is not declared")
        return None

    for index, token in enumerate(tokens):
        upper = token.text.upper() if token.kind == "word" else ""
        if upper == "BASE":
            base = iri_at(index + 1) or base
        elif upper == "PREFIX" and index + 2 < len(tokens) and tokens[index + 1].kind == "pname":
            name = tokens[index + 1].text.split(":", 1)[0]
            prefixes[name] = iri_at(index + 2) or ""
        elif upper in FORMS and not form:
            form = upper
        elif upper in UPDATE_WORDS and not form:
            raise QueryRefused("this endpoint is read-only: SPARQL Update is not accepted")
        elif upper == "FROM":
            is_named = index + 1 < len(tokens) and tokens[index + 1].text.upper() == "NAMED"
            target = iri_at(index + (2 if is_named else 1))
            if target is not None:
                (named if is_named else defaults).append(target)
        elif upper == "SERVICE":
            after = index + 1
            if after < len(tokens) and tokens[after].text.upper() == "SILENT":
                after += 1
            services.append(iri_at(after))
    if not form:
        raise QueryRefused("no SELECT, ASK, CONSTRUCT or DESCRIBE found in the query")
    return Analysis(form, tuple(defaults), tuple(named), tuple(services))


def allowed_service(target: str | None, trusted: list[str]) -> bool:
    """Only IRIs under a trusted peer's own address; a variable target could be anything."""
    if target is None:
        return False
    return any(target.startswith(_as_prefix(peer)) for peer in trusted)


def _as_prefix(peer: str) -> str:
    return peer if peer.endswith("/") else peer + "/"
