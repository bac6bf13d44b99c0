"""Ready-made municipal usage policies, filled in with a few parameters.

Each template is a JSON-LD policy file next to this module, documented in German and
English inside the file (`dct:title`, `dct:description`) and in README.md. Placeholders in
string values:

- `{{name}}`: required parameter;
- `{{name|default}}`: parameter with a default (which may itself use `{{other}}`);
- `{{name?}}`: optional; when not given, the nearest enclosing list element (e.g. the
  constraint it sits in) is dropped, or, outside any list, the property.

`uid` defaults to a UUID derived from the template name and parameters, so that the same
parameters give the same policy id. A placeholder that is a whole string value keeps the
parameter's JSON type (`{{count}}` with 5 gives the number 5).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from allmende.policies.evaluator import policy_problems
from allmende.policies.jsonld import from_jsonld
from allmende.policies.model import Policy

_PLACEHOLDER = re.compile(r"\{\{(\w+)(\?|\|((?:[^{}]|\{\{\w+\}\})*))?\}\}")
_SUFFIX = ".jsonld"


class TemplateError(ValueError):
    """An unknown template or a missing, unknown or unusable parameter."""


@dataclass(frozen=True, slots=True)
class TemplateParameter:
    name: str
    required: bool
    default: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    name: str
    title: dict[str, str]
    description: dict[str, str]
    parameters: tuple[TemplateParameter, ...]


class _Absent(Exception):
    """An optional parameter was not given: drop the enclosing element."""


@cache
def _source(name: str) -> str:
    path = resources.files(__name__).joinpath(name + _SUFFIX)
    if "/" in name or not path.is_file():
        raise TemplateError(f"unknown template {name!r}")
    return path.read_text(encoding="utf-8")


def _names() -> list[str]:
    files = resources.files(__name__).iterdir()
    return sorted(f.name.removesuffix(_SUFFIX) for f in files if f.name.endswith(_SUFFIX))


def _by_language(values: Any) -> dict[str, str]:
    items = values if isinstance(values, list) else [values]
    return {item["@language"]: item["@value"] for item in items if isinstance(item, dict)}


def list_templates() -> list[TemplateInfo]:
    """Every template with its German/English title and description and its parameters."""
    infos = []
    for name in _names():
        text = _source(name)
        document = json.loads(text)
        parameters: dict[str, TemplateParameter] = {}
        for match in _PLACEHOLDER.finditer(text):
            key, marker, default = match.group(1), match.group(2), match.group(3)
            if key == "uid" or key in parameters:
                continue
            required = marker is None
            parameters[key] = TemplateParameter(key, required, default)
        infos.append(
            TemplateInfo(
                name=name,
                title=_by_language(document.get("dct:title")),
                description=_by_language(document.get("dct:description")),
                parameters=(
                    *(p for p in parameters.values() if p.required),
                    *(p for p in parameters.values() if not p.required),
                ),
            )
        )
    return infos


def template_document(name: str, **params: Any) -> dict[str, Any]:
    """The template's JSON-LD with parameters filled in."""
    text = _source(name)
    known = {match.group(1) for match in _PLACEHOLDER.finditer(text)}
    unknown = set(params) - known
    if unknown:
        raise TemplateError(f"template {name!r} has no parameter {', '.join(sorted(unknown))}")
    values = {key: value for key, value in params.items() if value is not None}
    if "uid" not in values:
        seed = json.dumps([name, values], sort_keys=True, default=str)
        values["uid"] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"
    document = json.loads(text)
    filled = _fill(document, values, top=True)
    if not isinstance(filled, dict):
        raise TemplateError(f"template {name!r} is not a JSON object")
    return filled


def load_template(name: str, **params: Any) -> Policy:
    """The filled-in template as a policy, checked to mean what it says."""
    policy = from_jsonld(template_document(name, **params))
    problems = policy_problems(policy)
    if problems:
        raise TemplateError(f"template {name!r}: {'; '.join(problems)}")
    return policy


def _fill(node: Any, values: dict[str, Any], *, top: bool = False) -> Any:
    if isinstance(node, str):
        return _fill_text(node, values)
    if isinstance(node, list):
        kept = []
        for item in node:
            try:
                kept.append(_fill(item, values))
            except _Absent:
                continue  # the list element holding an absent optional parameter goes away
        return kept
    if isinstance(node, dict):
        filled = {}
        for key, item in node.items():
            try:
                filled[key] = _fill(item, values)
            except _Absent:
                if not top:
                    raise
        return filled
    return node


def _fill_text(text: str, values: dict[str, Any]) -> Any:
    whole = _PLACEHOLDER.fullmatch(text)
    if whole and whole.group(1) in values:
        return values[whole.group(1)]

    def replace(match: re.Match[str]) -> str:
        key, marker, default = match.group(1), match.group(2), match.group(3)
        if key in values:
            return str(values[key])
        if marker == "?":
            raise _Absent(key)
        if default is not None:
            return str(_fill_text(default, values))
        raise TemplateError(f"parameter {key!r} is required")

    return _PLACEHOLDER.sub(replace, text)
