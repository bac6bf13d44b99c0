"""`SELECT *` answered with its columns in the order the query names its variables.

Oxigraph lists the variables of `SELECT *` sorted by name; people and tools (Jena,
Virtuoso, YASGUI's table) expect them in the order they appear in the query. Which
variables are in scope is the engine's business (subqueries, BIND, VALUES, MINUS), so
the engine decides the set: the query is prepared once on an empty store, where it costs
nothing, with every SERVICE read as a GRAPH of the same pattern (the same variables, and
no call to another node). The star is then spelled out in order of first appearance.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

from allmende.node.sparql.analysis import _TOKEN

_EMPTY = ox.Store()
_SKIPPED = {"space", "comment"}


def spelled_out(query: str, base_iri: str | None = None) -> str:
    """The query with its outermost `SELECT *` spelled out in the query's own order;
    any other query unchanged."""
    tokens = [m for m in _TOKEN.finditer(query) if m.lastgroup not in _SKIPPED]
    star = _star(tokens)
    if star is None:
        return query
    probe = _without_services(query, tokens)
    try:
        result = _EMPTY.query(probe, base_iri=base_iri)
    except (SyntaxError, ValueError, OSError, RuntimeError):
        return query  # the real run reports the error in the caller's terms
    if not isinstance(result, ox.QuerySolutions):
        return query
    names = [variable.value for variable in result.variables]
    wanted = set(names)
    order: list[str] = []
    for token in tokens[star + 1 :]:
        name = token.group()[1:] if token.lastgroup == "var" else None
        if name in wanted and name not in order:
            order.append(name)
    order += [name for name in names if name not in order]
    if order == names:
        return query
    start, end = tokens[star].span()
    return query[:start] + " ".join(f"?{name}" for name in order) + query[end:]


def _star(tokens: list[re.Match[str]]) -> int | None:
    """Where the star of the outermost SELECT is, if it has one."""
    for index, token in enumerate(tokens):
        if token.lastgroup == "word" and token.group().upper() == "SELECT":
            after = index + 1
            while after < len(tokens) and tokens[after].group().upper() in ("DISTINCT", "REDUCED"):
                after += 1
            if after < len(tokens) and tokens[after].group() == "*":
                return after
            return None
    return None


def _without_services(query: str, tokens: list[re.Match[str]]) -> str:
    """`SERVICE [SILENT] x {P}` as `GRAPH x {P}`: the same variables in scope."""
    pieces: list[str] = []
    position = 0
    for index, token in enumerate(tokens):
        word = token.group().upper() if token.lastgroup == "word" else ""
        if word == "SERVICE":
            pieces += [query[position : token.start()], "GRAPH"]
            position = token.end()
        elif word == "SILENT" and index and tokens[index - 1].group().upper() == "SERVICE":
            pieces.append(query[position : token.start()])
            position = token.end()
    pieces.append(query[position:])
    return "".join(pieces)
