"""The JSON Schema gate in front of every connector.

Schemas are Draft 2020-12 files next to the connectors (so they can be published as
they are, e.g. in the OpenAPI document). Every string, array and object in them has an
upper bound, and members we do not read are accepted only a few levels deep, so that a
hostile payload is refused before any code walks it.

Validation runs on `jsonschema-rs` when it is installed (about 150x faster: 15 us
instead of 2 ms for a TTS uplink, which decides ingest throughput) and on `jsonschema`
otherwise. Both implement Draft 2020-12, so they accept the same documents; problems are
described from the failing keyword, never by echoing the (possibly huge) value.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from importlib import resources
from itertools import islice
from typing import Any

from jsonschema import Draft202012Validator

from allmende.connectors.model import PayloadRejected, Rejection
from allmende.vocab.messages import say


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


jsonschema_rs: Any = _optional("jsonschema_rs")

BACKENDS: tuple[str, ...] = ("jsonschema-rs", "jsonschema") if jsonschema_rs else ("jsonschema",)
MAX_REPORTED = 10
MAX_DEPTH = 64
LEAF_TYPES = ["string", "number", "boolean", "null"]

_REASONS: dict[str, str] = {
    "maxLength": "string is longer than {v} characters",
    "minLength": "string is shorter than {v} characters",
    "maxItems": "array has more than {v} items",
    "minItems": "array has fewer than {v} items",
    "maxProperties": "object has more than {v} members",
    "minProperties": "object has fewer than {v} members",
    "type": "must be of type {v}",
    "pattern": "does not have the expected form",
    "propertyNames": "a member name is too long or malformed",
    "minimum": "must be at least {v}",
    "maximum": "must be at most {v}",
    "enum": "must be one of {v}",
    "oneOf": "must match exactly one of the allowed forms",
    "maxDepth": "nested too deeply",
}

# One failure: where in the payload, the keyword, the keyword's value, the validator's text.
Failure = tuple[Sequence[str | int], str, Any, str]
TOO_DEEP: Failure = ((), "maxDepth", MAX_DEPTH, "")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A connector's JSON Schema by file name (e.g. `ttn.schema.json`), for publishing."""
    text = resources.files("allmende.connectors").joinpath(name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


def pointer(parts: Iterable[str | int]) -> str:
    """A JSON pointer (RFC 6901) from a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@cache
def _failures(name: str, backend: str) -> Callable[[Any], list[Failure]]:
    schema = load_schema(name)
    if backend == "jsonschema-rs":
        fast = jsonschema_rs.validator_for(schema)

        def rs(payload: Any) -> list[Failure]:
            try:
                if fast.is_valid(payload):
                    return []
                return [
                    (e.instance_path, str(e.schema_path[-1]), _at(schema, e.schema_path), e.message)
                    for e in islice(fast.iter_errors(payload), MAX_REPORTED)
                ]
            except ValueError:  # nested deeper than jsonschema-rs converts
                return [TOO_DEEP]

        return rs
    slow = Draft202012Validator(schema)

    def py(payload: Any) -> list[Failure]:
        # jsonschema puts the instance's repr into every error; a pathologically deep
        # payload would exhaust the stack there, so it is refused before.
        if _deeper_than(payload, MAX_DEPTH):
            return [TOO_DEEP]
        return [
            (list(e.absolute_path), str(e.validator), e.validator_value, e.message)
            for e in islice(slow.iter_errors(payload), MAX_REPORTED)
        ]

    return py


def _deeper_than(document: Any, limit: int) -> bool:
    stack = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False


def _at(document: Any, path: Sequence[str | int]) -> Any:
    """The part of a JSON document at a path, or None."""
    node = document
    for part in path:
        if isinstance(node, dict):
            node = node.get(str(part))
        elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def check(payload: Any, schema_name: str, *, backend: str | None = None) -> None:
    """Raise `PayloadRejected` naming the first few violations, or return quietly."""
    failures = _failures(schema_name, backend or BACKENDS[0])(payload)
    if failures:
        raise PayloadRejected([_rejection(payload, *failure) for failure in failures])


def _rejection(
    payload: Any, path: Sequence[str | int], keyword: str, value: Any, message: str
) -> Rejection:
    if keyword == "required":
        target = _at(payload, path)
        missing = [name for name in value if not isinstance(target, dict) or name not in target]
        return Rejection(pointer([*path, *missing[:1]]), say("is required"), "schema")
    if keyword == "additionalProperties":
        # The validators name the unexpected members; the texts hold nothing else.
        return Rejection(pointer(path), message[:200], "schema")
    if keyword == "type" and value == LEAF_TYPES:
        return Rejection(
            pointer(path), "nested too deeply: only a scalar is allowed here", "schema"
        )
    template = _REASONS.get(keyword)
    reason = (
        template.format(v=json.dumps(value)[:80])
        if template is not None
        else f"violates the schema's {keyword[:40]!r} constraint"
    )
    return Rejection(pointer(path), reason, "schema")
