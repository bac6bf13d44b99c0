"""What a query asks for, read from its tokens before anything runs.

The endpoint must know the query form (to negotiate a result format), the dataset the
query names (FROM, FROM NAMED: to scope it), every SERVICE it would call (to refuse
untrusted ones before a socket opens) and whether it is likely to be expensive (to run
it in the heavy lane, so that cheap lookups never wait behind it). A small lexer is
enough for that and, unlike a full parser, never disagrees with the engine about what is
code and what is a string, a comment or an IRI — which is where a SERVICE could
otherwise hide. It also costs microseconds, where rdflib's parser takes milliseconds of
the event loop for every query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urljoin

from allmende.node.messages import say

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
  | (?P<number>\d*\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY"}
AGGREGATES = {"COUNT", "SUM", "AVG", "MIN", "MAX", "GROUP_CONCAT", "SAMPLE"}
HEAVY_PATTERNS = 8
"""More triple patterns than this make a query heavy: every one is another join."""
LIGHT_ROWS = 10_000
"""LIMIT (plus OFFSET) up to this bounds a query enough to count as a lookup."""
_RESTART = {"FILTER", "BIND", "OPTIONAL", "MINUS", "UNION", "GRAPH", "SERVICE", "VALUES"}
_CONSTANT = {"iri", "pname", "string", "number"}
_TYPE = {"a", "rdf:type", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"}
VOLATILE = {"RAND", "NOW", "UUID", "STRUUID", "BNODE"}
"""Functions whose value differs from one run to the next: what a run of such a query
cost says nothing about the next run on the same data."""


class QueryRefused(ValueError):
    """A query the endpoint will not run; the message says why in the caller's terms."""


@dataclass(frozen=True)
class Analysis:
    form: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    services: tuple[str | None, ...] = field(default=())
    """IRIs of SERVICE calls; None for `SERVICE ?variable` (never allowed)."""
    heavy: tuple[str, ...] = ()
    """Why the query is likely expensive, in the caller's terms; empty for a lookup."""
    volatile: bool = False
    """It calls RAND, NOW, UUID, STRUUID or BNODE: two runs on the same data may differ."""


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
            raise QueryRefused(say("the prefix '%(prefix)s' is not declared", prefix=prefix))
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
            raise QueryRefused(say("this endpoint is read-only: SPARQL Update is not accepted"))
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
        raise QueryRefused(say("no SELECT, ASK, CONSTRUCT or DESCRIBE found in the query"))
    heavy = cost(tokens, form) + (("calls another node (SERVICE)",) if services else ())
    volatile = any(
        token.kind == "word" and token.text.upper() in VOLATILE and _next_is(tokens, index, "(")
        for index, token in enumerate(tokens)
    )
    return Analysis(form, tuple(defaults), tuple(named), tuple(services), heavy, volatile)


def cost(tokens: list[_Token], form: str) -> tuple[str, ...]:
    """Reasons a query is likely expensive, estimated from its shape alone.

    Aggregates and GROUP BY read every matching row; ORDER BY without LIMIT sorts them
    all; `*` and `+` paths follow links to any depth; many patterns mean many joins;
    and a query with no constant subject or object to start from, nor a LIMIT, scans.
    A bounded lookup (a constant to start from or a small LIMIT, few patterns) is light.
    The estimate errs towards heavy: a light query that is not waits in the heavy lane,
    while a heavy one taken for light would hold a worker the lookups need.
    """
    reasons: list[str] = []
    depth = paren = 0
    last_close = -1
    terms = joins = shared = 0
    """Terms read, path steps joined (`/`, `|`) and terms shared through `;` and `,`."""
    position = 0
    """0 subject, 1 predicate, 2 object of the pattern being read."""
    anchored = False
    open_pattern: list[str] = []
    bare_patterns = 0
    opened: list[int] = []
    skip_group = 0
    """Brace depth of a VALUES block being skipped (its rows are not patterns)."""
    projection = path_closed = False
    previous = _Token("other", "")
    for index, token in enumerate(tokens):
        text, upper = token.text, token.text.upper()
        after_path, path_closed = path_closed, False
        if token.kind == "word" and (
            upper in ("GROUP", "HAVING") or (upper in AGGREGATES and _next_is(tokens, index, "("))
        ):
            _add(reasons, "aggregate")
        if text == "{":
            depth += 1
            position = 0
        elif text == "}":
            depth -= 1
            position = 0
            if skip_group and depth < skip_group:
                skip_group = 0
            if depth == 0:
                last_close = index
        elif text == "(":
            paren += 1
            opened.append(index)
        elif text == ")":
            paren = max(0, paren - 1)
            start = opened.pop() if opened else index
            if paren == 0 and depth and _path_group(tokens[start + 1 : index]):
                position, path_closed = 2, True  # a grouped path is a predicate
            elif paren == 0:
                position = 0  # FILTER(...) or BIND(...) ended; a pattern may follow
        if depth == 0 or skip_group:
            anchored = anchored or bool(skip_group and token.kind in _CONSTANT)
            previous = token
            continue
        if token.kind == "word" and upper in _RESTART:
            position = 0
            if upper == "VALUES":
                skip_group = depth + 1
        elif token.kind == "word" and upper == "SELECT":
            projection = True  # a subquery's projection names no patterns
        elif paren or projection:
            projection = projection and text != "{"
        elif text in ("*", "+") and (
            previous.kind in ("iri", "pname") or previous.text == "a" or after_path
        ):
            _add(reasons, "unbounded property path (* or +)")
        elif text in ("/", "|"):
            joins += 1
            position = 1
        elif text == ";":
            position, shared = 1, shared + 1
        elif text == ",":
            position, shared = 2, shared + 2
        elif text == ".":
            position = 0
        elif token.kind in _CONSTANT | {"var"} or text == "a":
            if _datatype(tokens, index):
                previous = token
                continue
            terms += 1
            if position == 0:
                open_pattern = []
            open_pattern.append(token.kind)
            if token.kind in _CONSTANT and position != 1:
                anchored = True
            if position == 2 and open_pattern == ["var", "var", "var"]:
                bare_patterns += 1
            position = min(position + 1, 2)
        previous = token
    tail = [t.text.upper() for t in tokens[last_close + 1 :]] if last_close >= 0 else []
    bound = _bound(tail)
    patterns = max(0, terms + shared - joins) // 3
    if "ORDER" in tail and bound is None:
        _add(reasons, "ORDER BY without LIMIT")
    if patterns > HEAVY_PATTERNS:
        _add(reasons, f"{patterns} triple patterns")
    limited = form == "ASK" or (bound is not None and bound <= LIGHT_ROWS)
    if bare_patterns and (not limited or patterns > 1):
        _add(reasons, "a pattern without any constant (?s ?p ?o)")
    elif patterns and not anchored and not limited:
        _add(reasons, "no constant to start from and no LIMIT")
    return tuple(reasons)


def _add(reasons: list[str], reason: str) -> None:
    if reason not in reasons:
        reasons.append(reason)


def _next_is(tokens: list[_Token], index: int, text: str) -> bool:
    return index + 1 < len(tokens) and tokens[index + 1].text == text


def _datatype(tokens: list[_Token], index: int) -> bool:
    """The IRI after `^^` types a literal; it is no term of its own."""
    return index >= 2 and tokens[index - 1].text == "^" and tokens[index - 2].text == "^"


def _path_group(inside: list[_Token]) -> bool:
    """`(<p>/<q>)`: only IRIs and path operators, never a variable or literal."""
    return bool(inside) and all(
        t.kind in ("iri", "pname") or t.text in ("/", "|", "^", "a", "(", ")", "?", "*", "+")
        for t in inside
    )


def _bound(tail: list[str]) -> int | None:
    """LIMIT plus OFFSET of the outer query, or None without a LIMIT."""
    numbers: dict[str, int] = {}
    for index, word in enumerate(tail[:-1]):
        if word in ("LIMIT", "OFFSET") and tail[index + 1].isdigit():
            numbers[word] = int(tail[index + 1])
    if "LIMIT" not in numbers:
        return None
    return numbers["LIMIT"] + numbers.get("OFFSET", 0)


def allowed_service(target: str | None, trusted: list[str]) -> bool:
    """Only IRIs under a trusted peer's own address; a variable target could be anything."""
    if target is None:
        return False
    return any(target.startswith(_as_prefix(peer)) for peer in trusted)


def _as_prefix(peer: str) -> str:
    return peer if peer.endswith("/") else peer + "/"
