"""The part of DIF Presentation Exchange 2.0 that a DCP presentation query uses: a
presentation definition whose input descriptors select credentials by constraints on their
fields (JSONPath `path`, JSON Schema `filter`, `optional`), e.g. "a credential whose type
contains MembershipCredential".

JSONPath is evaluated by jsonpath-ng, filters by jsonschema-rs (draft 7, as Presentation
Exchange names it; its regular expressions run in linear time). Paths are evaluated on the
credential as a JWT carries it: `$.vc.type` and `$.type` both reach the type. What the node
cannot honour is refused rather than ignored: submission requirements, selective
disclosure (`limit_disclosure: required`), and filters with references (`$ref`), which a
validator could otherwise try to fetch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse

_TEXT = {"type": "string", "minLength": 1, "maxLength": 300}
_SHAPE = jsonschema_rs.Draft7Validator(
    {
        "type": "object",
        "required": ["id", "input_descriptors"],
        "properties": {
            "id": _TEXT,
            "input_descriptors": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "items": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": _TEXT,
                        "constraints": {
                            "type": "object",
                            "properties": {
                                "fields": {
                                    "type": "array",
                                    "maxItems": 20,
                                    "items": {
                                        "type": "object",
                                        "required": ["path"],
                                        "properties": {
                                            "path": {
                                                "type": "array",
                                                "minItems": 1,
                                                "maxItems": 10,
                                                "items": _TEXT,
                                            },
                                            "filter": {"type": "object"},
                                            "optional": {"type": "boolean"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    }
)
UNSUPPORTED = ("submission_requirements", "frame")
REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
MAX_FILTER_NODES = 500


class Unsupported(NotImplementedError):
    """A presentation definition that asks for what the node does not do."""


@dataclass(frozen=True)
class Field:
    paths: tuple[Any, ...]
    filter: jsonschema_rs.Draft7Validator | None
    optional: bool

    def holds(self, document: dict[str, Any]) -> bool:
        for path in self.paths:
            for match in path.find(document):
                value = match.value
                if self.filter is None or self.filter.is_valid(value):
                    return True
        return False


@dataclass(frozen=True)
class Descriptor:
    id: str
    fields: tuple[Field, ...]

    def accepts(self, credential: dict[str, Any]) -> bool:
        document = {**credential, "vc": credential}
        return all(field.optional or field.holds(document) for field in self.fields)


@dataclass(frozen=True)
class Definition:
    id: str
    descriptors: tuple[Descriptor, ...]

    def select(self, credentials: list[dict[str, Any]]) -> list[tuple[str, int]]:
        """(descriptor id, index of the credential) for each descriptor a credential
        satisfies, the first such credential; a descriptor none satisfies is left out."""
        chosen = []
        for descriptor in self.descriptors:
            for index, credential in enumerate(credentials):
                if descriptor.accepts(credential):
                    chosen.append((descriptor.id, index))
                    break
        return chosen


def _keys(value: Any) -> Iterator[str]:
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_FILTER_NODES:
            raise ValueError(f"a filter may have at most {MAX_FILTER_NODES} parts")
        if isinstance(item, dict):
            yield from item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _filter(schema: dict[str, Any], where: str) -> jsonschema_rs.Draft7Validator:
    if any(key in REFERENCES for key in _keys(schema)):
        raise Unsupported(f"{where}: filters with references ($ref) are not supported")
    try:
        return jsonschema_rs.Draft7Validator(schema)
    except (jsonschema_rs.ValidationError, ValueError) as exc:
        raise ValueError(f"{where}: not a JSON Schema: {str(exc).splitlines()[0]}") from None


def _path(text: str, where: str) -> Any:
    try:
        return parse(text)
    except (JSONPathError, Exception) as exc:  # jsonpath-ng's lexer raises plain Exception
        raise ValueError(f"{where}: not a JSONPath: {text!r} ({exc})") from None


def read_definition(value: Any) -> Definition:
    """The definition, checked; ValueError (Unsupported for what the node does not do)
    names the place that is wrong."""
    problems = list(_SHAPE.iter_errors(value))
    if problems:
        first = problems[0]
        where = "/".join(str(p) for p in first.instance_path) or "(the definition)"
        raise ValueError(f"presentationDefinition {where}: {first.message}")
    for key in UNSUPPORTED:
        if key in value:
            raise Unsupported(f"presentationDefinition: {key} is not supported")
    descriptors = []
    for n, descriptor in enumerate(value["input_descriptors"]):
        constraints = descriptor.get("constraints", {})
        if constraints.get("limit_disclosure") == "required":
            raise Unsupported(
                f"input_descriptors/{n}: limit_disclosure required is not supported "
                "(credentials are presented whole)"
            )
        fields = []
        for m, field in enumerate(constraints.get("fields", [])):
            where = f"presentationDefinition input_descriptors/{n}/constraints/fields/{m}"
            paths = tuple(_path(text, where + "/path") for text in field["path"])
            check = _filter(field["filter"], where + "/filter") if "filter" in field else None
            fields.append(Field(paths, check, bool(field.get("optional", False))))
        descriptors.append(Descriptor(descriptor["id"], tuple(fields)))
    return Definition(value["id"], tuple(descriptors))
