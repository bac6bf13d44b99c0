"""The configuration reference (docs/reference/configuration.md), written from the models in
`node.config`, so that it names every setting the node reads and no other.

    python -m allmende.node.config_reference > docs/reference/configuration.md

The file is committed, so it reads the same in the repository as on the documentation site;
a test fails when it differs from what this module writes. What the models cannot say (how
settings work together) is kept here, next to the section it explains.
"""

from __future__ import annotations

import sys
import types
import typing
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from allmende.node.config import _SECTIONS, Settings, env_name

INTRO = """\
# Configuration

<!-- Written by `python -m allmende.node.config_reference > docs/reference/configuration.md` from the
settings in node/config.py; edit those (or the text in node/config_reference.py), not this file. -->

`allmende init DIR` writes `DIR/allmende.toml` and the node's signing key `DIR/node-key.pem`
(mode 0600; back it up, never share it). Every setting can be overridden by an environment
variable `ALLMENDE_<SECTION>_<KEY>`, which is how containers and service managers configure a
node. A wrong or missing setting stops start-up with one line that names it, for example:

```text
allmende: setting http.port (from ALLMENDE_HTTP_PORT): Input should be a valid integer, \
unable to parse string as an integer
```

Paths (`database.url` for SQLite, `store.path`) are relative to the node folder.
"""

NOTES: dict[str, str] = {
    "trust": """\
Peers are listed as tables of `[[trust.peers]]` with `id` (the peer's https node id) and
either `jwk` (its public key, as served at its `/.well-known/jwks.json`) or `jwks_url`, and
`base_url` when the peer answers (its SPARQL endpoint, its feed) elsewhere than at its id.
`trust.admin_jwks` lists additional public keys whose EdDSA tokens may use the admin API
(for example a key held by the county's IT service); the node's own key always may.
""",
    "sparql": """\
### Sharing the SPARQL endpoint fairly

Every query is sorted before it runs, from its shape alone, into one of two lanes. **Heavy**:
aggregates and GROUP BY, ORDER BY without LIMIT, `*` or `+` property paths, more than eight
triple patterns, a pattern without any constant (`?s ?p ?o`), no constant subject or object to
start from and no LIMIT, and SERVICE calls. Everything else — a lookup that starts from a
constant or has a LIMIT of at most 10,000 — is **light**.

With the default `workers` 2 and `light_workers` 1, one heavy query runs at a time, and a
lookup always finds a worker (it also borrows an idle heavy-lane worker). A client is the
subject of a token this node signed (an agreement's holder), else its address. A query whose
caller closes the connection is stopped as well. Refusals carry the reason the query counts
as heavy, so a caller can add a LIMIT or a constant; `/metrics` shows
`allmende_sparql_lane_queries` (running and waiting, per lane) and `allmende_sparql_refused`.
On a node with more cores, raise `sparql.workers` to let more heavy queries run side by side;
each worker costs memory (about 450 bytes a quad for its copy). `python bench/sparql/fairness.py`
measures a small query's latency next to heavy ones: on two cores with the defaults, its p99
next to four clients looping aggregates over a year of readings was 1.3x its p99 on an idle
node (10.6 ms against 8.1 ms), where one lane for all made it 39x; the price is that heavy
queries run one at a time (119 instead of 241 answers in 20 s).

The estimate can be fooled: a query that looks like a lookup but is not holds the lookups'
worker until `sparql.light_seconds` makes it count as heavy (it is not moved, and it still
runs to `sparql.query_timeout`); lookups then borrow idle heavy-lane workers.

### Quotas by query time

What a client may use is counted in query time — the seconds its queries held a worker —
not in requests: `sparql.query_seconds` at once, regained at `sparql.query_seconds_per_second`.
A lookup costs well under a millisecond, so Apache Jena's SERVICE join (one request per
binding; 5,000 in about 18 s on two cores) passes, while a client looping aggregates waits
(429, `Retry-After` saying when its budget is positive again). `sparql.rate_per_second` and
`sparql.rate_burst` only guard against floods. A token this node issued multiplies every
quota by `sparql.agreement_quota`, a participant token a trusted peer node signed with its own
key (as on the Dataspace Protocol) by `sparql.peer_quota`.
""",
}

_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "table"}


def _type(annotation: Any) -> str:
    """The setting's type in words, as an operator writes it in TOML."""
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        kinds = [_type(a) for a in get_args(annotation) if a is not type(None)]
        return " or ".join(kinds) + " (optional)"
    if origin is list:
        (item,) = get_args(annotation)
        return f"list of {_type(item)}s"
    if origin is dict:
        return "table"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(field: FieldInfo) -> str:
    parts = []
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Ge):
            parts.append(f"≥ {rule.ge}")
        elif isinstance(rule, annotated_types.Gt):
            parts.append(f"> {rule.gt}")
        elif isinstance(rule, annotated_types.Le):
            parts.append(f"≤ {rule.le}")
        elif isinstance(rule, annotated_types.Lt):
            parts.append(f"< {rule.lt}")
        elif isinstance(rule, annotated_types.MinLen) and rule.min_length:
            parts.append("not empty" if rule.min_length == 1 else f"≥ {rule.min_length} characters")
        elif isinstance(rule, annotated_types.MaxLen):
            parts.append(f"at most {rule.max_length} characters")
    return ", ".join(parts)


def _default(key: str, field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, BaseModel):
        return "—"
    return f"`{value!r}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def section(name: str, model: type[BaseModel]) -> str:
    """One section: its purpose, a table of its keys, and any notes kept for it."""
    lines = [f"## `[{name}]`", ""]
    if model.__doc__ and model.__doc__ != BaseModel.__doc__:
        lines += [" ".join(model.__doc__.split()), ""]
    overridable = name in _SECTIONS
    lines += [
        "| key | type | default | environment variable | what it does |",
        "|---|---|---|---|---|",
    ]
    for key, field in model.model_fields.items():
        kind = _type(field.annotation)
        if bounds := _bounds(field):
            kind += f", {bounds}"
        env = f"`{env_name(name, key)}`" if overridable else "— (file only)"
        lines.append(
            f"| `{key}` | {_cell(kind)} | {_default(key, field)} | {env} "
            f"| {_cell(field.description or '')} |"
        )
    lines.append("")
    if name in NOTES:
        lines += [NOTES[name]]
    return "\n".join(lines)


def sections() -> dict[str, type[BaseModel]]:
    """Every section of allmende.toml, in the order of the settings model."""
    found = {}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found[name] = annotation
    return found


def render() -> str:
    """The whole reference page."""
    parts = [INTRO] + [section(name, model) for name, model in sections().items()]
    return "\n".join(parts).rstrip("\n") + "\n"


def missing_descriptions() -> list[str]:
    """Settings that do not yet say what they do (the reference would show an empty cell)."""
    return [
        f"{name}.{key}"
        for name, model in sections().items()
        for key, field in model.model_fields.items()
        if not field.description
    ]


if __name__ == "__main__":
    sys.stdout.write(render())
