"""Which named graphs a SPARQL caller may see: the one access decision (`node.access`).

The hook is `app["sparql_scope"]`, an async function `(request) -> Scope`. The default is
`node.access.sparql_scope`: every graph is public except the data graphs of datasets that
are not open data (or not published), this village's or a peer's; a valid agreement
token opens its dataset's graphs, a refused one is answered with the refusal. Pages and
JSON routes ask the same decision, so SPARQL never shows more or less than they do. Both
the SPARQL endpoint and the Graph Store Protocol ask the hook.
"""

from __future__ import annotations

from allmende.node.access import Scope, ScopeRule, public_scope, sparql_scope

__all__ = ["Scope", "ScopeRule", "hidden_by", "public_scope", "sparql_scope"]


def hidden_by(prefixes: list[str], graph: str) -> bool:
    return any(graph == prefix or graph.startswith(prefix + "/") for prefix in prefixes)
