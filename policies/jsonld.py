"""Read and write ODRL policies as JSON-LD, offline.

Written form: compact Dataspace Protocol 2025-1 JSON-LD (`@context` = the DSP context, plus
an inline `{"allmende": ...}` prefix when our terms occur), ODRL terms as bare names
(`permission`, `action: "use"`, `leftOperand: "purpose"`), logical constraints as plain
arrays (`"and": [...]`), which is what EDC connectors send.

Read form: that, the plain ODRL context (`http://www.w3.org/ns/odrl.jsonld`, `uid`/`type`),
`odrl:`-prefixed keys, and expanded IRIs. Remote contexts are never fetched: the known ones
are mapped here and any other is refused, because a context we cannot read could change
what a key means. For the same reason unknown keys are refused rather than ignored: a
policy is only as strict as the parts we understood.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from allmende.policies.model import (
    AnyConstraint,
    Collection,
    CollectionKind,
    ConflictTerm,
    Constraint,
    Literal,
    LogicalConstraint,
    Policy,
    PolicyError,
    PolicyType,
    Ref,
    Rule,
    RuleKind,
    Value,
)
from allmende.policies.terms import (
    ALLMENDE,
    DCAT,
    DCT,
    DSP_CONTEXT,
    DSPACE,
    LOGICAL_OPERATORS,
    ODRL,
    ODRL_CONTEXT,
    PARTY_FUNCTIONS,
    POLICY_METADATA,
    RDF,
    RDFS,
    XSD,
)
from allmende.policies.values import parse_datetime

_BASE_PREFIXES = {
    "odrl": ODRL,
    "xsd": XSD,
    "rdf": RDF,
    "rdfs": RDFS,
    "dct": DCT,
    "dcterms": DCT,
    "dcat": DCAT,
    "dspace": DSPACE,
}
_ODRL_CONTEXT_PREFIXES = {
    "owl": "http://www.w3.org/2002/07/owl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "schema": "http://schema.org/",
    "cc": "http://creativecommons.org/ns#",
}
KNOWN_CONTEXTS: Mapping[str, Mapping[str, str]] = {
    DSP_CONTEXT: {},
    "https://w3id.org/dspace/2025/1/odrl-profile.jsonld": {},
    "https://w3id.org/dspace/2024/1/context.json": {"dspace": "https://w3id.org/dspace/2024/1/"},
    ODRL_CONTEXT: _ODRL_CONTEXT_PREFIXES,
    "https://www.w3.org/ns/odrl.jsonld": _ODRL_CONTEXT_PREFIXES,
}
"""Contexts we can read without fetching them: URL -> prefixes beyond the base ones."""

_ODRL_TERMS = [
    "permission",
    "prohibition",
    "obligation",
    "duty",
    "remedy",
    "consequence",
    "action",
    "target",
    "assigner",
    "assignee",
    "constraint",
    "refinement",
    "leftOperand",
    "operator",
    "rightOperand",
    "rightOperandReference",
    "unit",
    "dataType",
    "and",
    "or",
    "xone",
    "andSequence",
    "conflict",
    "profile",
    "inheritFrom",
    "uid",
    "source",
    "partOf",
    "AssetCollection",
    "PartyCollection",
    *PARTY_FUNCTIONS,
]
_BASE_TERMS = {
    **{name: ODRL + name for name in _ODRL_TERMS},
    "uid": "@id",
    "type": "@type",
    "timestamp": DSPACE + "timestamp",
}

_TIMESTAMP_KEYS = frozenset(
    {DSPACE + "timestamp", "https://w3id.org/dspace/2024/1/timestamp", ODRL + "timestamp"}
)
_TITLE, _DESCRIPTION, _LICENSE = DCT + "title", DCT + "description", DCT + "license"
_RULE_LISTS = {
    ODRL + "permission": RuleKind.PERMISSION,
    ODRL + "prohibition": RuleKind.PROHIBITION,
    ODRL + "obligation": RuleKind.DUTY,
}
_NESTED_RULES = {
    RuleKind.PERMISSION: {ODRL + "duty": "duties"},
    RuleKind.PROHIBITION: {ODRL + "remedy": "remedies"},
    RuleKind.DUTY: {ODRL + "duty": "duties", ODRL + "consequence": "consequences"},
}
_NATIVE_TYPES = {XSD + "integer": int, XSD + "boolean": bool, XSD + "double": float}


@dataclass
class _Context:
    prefixes: dict[str, str] = field(default_factory=lambda: dict(_BASE_PREFIXES))
    terms: dict[str, str] = field(default_factory=lambda: dict(_BASE_TERMS))
    vocab: str = ODRL
    nodes: dict[str, tuple[_Context, dict[str, Any]]] = field(default_factory=dict)
    resolving: frozenset[str] = frozenset()

    def load(self, context: Any, path: str) -> None:
        if context is None:
            return
        if isinstance(context, list):
            for index, item in enumerate(context):
                self.load(item, f"{path}[{index}]")
        elif isinstance(context, str):
            if context not in KNOWN_CONTEXTS:
                raise PolicyError(path, f"unknown remote context {context!r} (never fetched)")
            self.prefixes.update(KNOWN_CONTEXTS[context])
        elif isinstance(context, dict):
            for key, value in context.items():
                self._define(key, value, f"{path}.{key}")
        else:
            raise PolicyError(path, "a context is a URL, an object or a list of them")

    def _define(self, key: str, value: Any, path: str) -> None:
        if key in ("@version", "@protected", "@language", "@base"):
            return
        if key == "@import":
            self.load(value, path)
        elif key == "@vocab" and isinstance(value, str):
            self.vocab = self.expand(value)
        elif key.startswith("@"):
            raise PolicyError(path, f"unsupported context keyword {key}")
        elif isinstance(value, str):
            iri = self.expand(value)
            self.terms[key] = iri
            if iri.endswith(("/", "#", ":")):
                self.prefixes[key] = iri
        elif isinstance(value, dict) and isinstance(value.get("@id"), str):
            self.terms[key] = self.expand(value["@id"])
        else:
            raise PolicyError(path, "unsupported term definition")

    def expand(self, text: str) -> str:
        """A compact IRI or absolute IRI as an absolute IRI (unknown prefixes stay IRIs)."""
        prefix, colon, rest = text.partition(":")
        if colon and prefix in self.prefixes and not rest.startswith("//"):
            return self.prefixes[prefix] + rest
        return text

    def key(self, key: str, path: str) -> str:
        if key.startswith("@"):
            return key
        if key in self.terms:
            return self.terms[key]
        if ":" in key:
            return self.expand(key)
        raise PolicyError(path, f"unknown term {key!r}")

    def vocab_value(self, value: Any, path: str) -> str:
        """An `@vocab`-typed value (action, operator, left operand, type): bare names are ODRL."""
        value = _one(value, path)
        if isinstance(value, dict):
            value = self.node_id(value, path)
        if not isinstance(value, str) or not value:
            raise PolicyError(path, "expected a term or IRI")
        if value in self.terms and not self.terms[value].startswith("@"):
            return self.terms[value]
        if ":" in value:
            return _iri_reference(self.expand(value), path)
        return _iri_reference(self.vocab + value, path)

    def iri_value(self, value: Any, path: str) -> str:
        value = _one(value, path)
        if isinstance(value, dict):
            value = self.node_id(value, path)
        if not isinstance(value, str) or not value:
            raise PolicyError(path, "expected an IRI")
        return _iri_reference(self.expand(value), path)

    def node_id(self, node: dict[str, Any], path: str) -> str:
        expanded = {self.key(key, f"{path}.{key}"): value for key, value in node.items()}
        extra = set(expanded) - {"@id", "@type"}
        if extra or not isinstance(expanded.get("@id"), str):
            raise PolicyError(path, "only a reference ({'@id': ...}) is supported here")
        return _iri_reference(self.expand(expanded["@id"]), path)


# an IRI reference (RFC 3987) holds none of these; DSP partners name targets and parties by
# relative references ("raumklima", "consumer-1"), which the caller resolves or refuses
NOT_IN_IRI = re.compile(r"[\s<>\"{}|\\^`]")


def _iri_reference(iri: str, path: str) -> str:
    if NOT_IN_IRI.search(iri):
        raise PolicyError(path, f"not an IRI: {iri[:200]!r}")
    return iri


def _one(value: Any, path: str) -> Any:
    if isinstance(value, list):
        if len(value) != 1:
            raise PolicyError(path, "exactly one value expected")
        return value[0]
    return value


def _many(value: Any) -> list[Any]:
    if isinstance(value, dict) and "@list" in value and len(value) == 1:
        value = value["@list"]
    if isinstance(value, list):
        return [item for entry in value for item in _many(entry)]
    return [value]


def from_jsonld(
    document: Mapping[str, Any],
    *,
    context: Any = DSP_CONTEXT,
    nodes: Iterable[Mapping[str, Any]] = (),
) -> Policy:
    """Read a policy; `context` applies when the document has none (embedded in DSP).

    `nodes` are further JSON-LD documents the policy refers to by `@id`, such as constraints
    declared on their own (ODRL 2.2 model, Example 15); each may have its own `@context`.
    """
    if not isinstance(document, Mapping):
        raise PolicyError("", "a policy is a JSON object")
    ctx = _Context()
    ctx.load(document.get("@context", context), "@context")
    for index, node in enumerate(nodes):
        at = f"nodes[{index}]"
        if not isinstance(node, Mapping):
            raise PolicyError(at, "a node is a JSON object")
        node_ctx = _Context(nodes=ctx.nodes)
        node_ctx.load(node.get("@context", context), f"{at}.@context")
        body = {key: value for key, value in node.items() if key != "@context"}
        ids = [value for key, value in body.items() if node_ctx.key(key, at) == "@id"]
        if len(ids) != 1:
            raise PolicyError(at, "a node needs an @id (uid)")
        ctx.nodes[node_ctx.iri_value(ids[0], at)] = (node_ctx, body)
    fields: dict[str, Any] = {}
    rules: dict[RuleKind, list[Rule]] = {kind: [] for kind in RuleKind}
    shared: tuple[_Action, ...] = ()
    metadata: list[tuple[str, Value]] = []
    for key, value in document.items():
        if key != "@context" and ctx.key(key, key) == ODRL + "action":
            shared = tuple(_actions(ctx, value, key))
    for key, value in document.items():
        if key == "@context":
            continue
        iri = ctx.key(key, key)
        if iri == "@id":
            fields["uid"] = ctx.iri_value(value, key)
        elif iri == "@type":
            fields["type"] = _policy_type(ctx.vocab_value(value, key), key)
        elif iri in (ODRL + "assigner", ODRL + "assignee", ODRL + "target"):
            fields[iri.removeprefix(ODRL)] = ctx.iri_value(value, key)
        elif iri == ODRL + "profile":
            fields["profile"] = tuple(ctx.iri_value(v, key) for v in _many(value))
        elif iri == ODRL + "conflict":
            fields["conflict"] = _conflict(ctx.vocab_value(value, key), key)
        elif iri in _TIMESTAMP_KEYS:
            fields["timestamp"] = _timestamp(value, key)
        elif iri in POLICY_METADATA:
            metadata += [(iri, _literal(ctx, item, key)) for item in _many(value)]
        elif iri == _LICENSE:
            fields["license"] = ctx.iri_value(value, key)
        elif iri in (_TITLE, _DESCRIPTION):
            fields[iri.removeprefix(DCT)] = _texts(ctx, value, key)
        elif iri in _RULE_LISTS:
            kind = _RULE_LISTS[iri]
            for index, item in enumerate(_many(value)):
                rules[kind].extend(_rules(ctx, item, kind, f"{key}[{index}]", shared))
        elif iri == ODRL + "action":
            continue  # shared by the rules (read above)
        elif iri == ODRL + "inheritFrom":
            fields["inherit_from"] = tuple(ctx.iri_value(v, key) for v in _many(value))
        else:
            raise PolicyError(key, f"unsupported policy property {iri}")
    if metadata:
        fields["metadata"] = tuple(metadata)
    return Policy(
        permissions=tuple(rules[RuleKind.PERMISSION]),
        prohibitions=tuple(rules[RuleKind.PROHIBITION]),
        obligations=tuple(rules[RuleKind.DUTY]),
        **fields,
    )


def _policy_type(iri: str, path: str) -> PolicyType:
    name = iri.removeprefix(ODRL)
    if name == "Policy":
        return PolicyType.SET
    try:
        return PolicyType(name)
    except ValueError:
        raise PolicyError(path, f"a policy is a Set, Offer or Agreement, not {iri}") from None


def _conflict(iri: str, path: str) -> ConflictTerm:
    try:
        return ConflictTerm(iri.removeprefix(ODRL))
    except ValueError:
        raise PolicyError(path, "conflict is perm, prohibit or invalid") from None


def _timestamp(value: Any, path: str) -> str:
    value = _one(value, path)
    if isinstance(value, dict):
        value = value.get("@value")
    if not isinstance(value, str):
        raise PolicyError(path, "expected an xsd:dateTime")
    try:
        parse_datetime(value)
    except ValueError:
        raise PolicyError(path, f"not an xsd:dateTime: {value!r}") from None
    return value


def _texts(ctx: _Context, value: Any, path: str) -> tuple[Literal, ...]:
    texts = []
    for item in _many(value):
        literal = _literal(ctx, item, path)
        if not isinstance(literal, Literal) or not isinstance(literal.value, str):
            raise PolicyError(path, "expected text")
        texts.append(literal)
    return tuple(texts)


_Action = tuple[str, tuple[AnyConstraint, ...]]
_FUNCTIONS = {ODRL + name for name in PARTY_FUNCTIONS}


def _rules(
    ctx: _Context, node: Any, kind: RuleKind, path: str, shared: tuple[_Action, ...] = ()
) -> list[Rule]:
    """A rule as written, made atomic (ODRL 2.2 model, 2.7): one rule per action, target,
    assigner and assignee when several are given, and the policy's shared actions for a
    rule that names none (a compact policy)."""
    if not isinstance(node, dict):
        raise PolicyError(path, f"a {kind.value} is a JSON object")
    fields: dict[str, Any] = {}
    actions: list[_Action] = []
    several: dict[str, list[tuple[str, Collection | None]]] = {}
    parties: list[tuple[str, str]] = []
    allowed_nested = _NESTED_RULES[kind]
    for key, value in node.items():
        at = f"{path}.{key}"
        iri = ctx.key(key, at)
        if iri == "@id":
            fields["uid"] = ctx.iri_value(value, at)
        elif iri == "@type":
            expected = "Duty" if kind is RuleKind.DUTY else kind.value.capitalize()
            if ctx.vocab_value(value, at) != ODRL + expected:
                raise PolicyError(at, f"expected type {expected}")
        elif iri == ODRL + "action":
            actions = _actions(ctx, value, at)
        elif iri in (ODRL + "target", ODRL + "assigner", ODRL + "assignee"):
            name = iri.removeprefix(ODRL)
            several[name] = [
                _party_or_asset(ctx, item, name, f"{at}[{index}]")
                for index, item in enumerate(_many(value))
            ]
            if not several[name]:
                raise PolicyError(at, f"a {name} needs a value")
        elif iri in _FUNCTIONS:
            parties += [(iri, ctx.iri_value(item, at)) for item in _many(value)]
        elif iri == ODRL + "constraint":
            fields["constraints"] = _constraints(ctx, value, at)
        elif iri == _DESCRIPTION:
            fields["description"] = _texts(ctx, value, at)
        elif iri in allowed_nested:
            fields[allowed_nested[iri]] = tuple(
                duty
                for index, item in enumerate(_many(value))
                for duty in _rules(ctx, item, RuleKind.DUTY, f"{at}[{index}]")
            )
        else:
            raise PolicyError(at, f"unsupported {kind.value} property {iri}")
    actions = actions or list(shared)
    if not actions:
        raise PolicyError(path, f"a {kind.value} needs an action")
    if parties:
        fields["parties"] = tuple(parties)
    return atomic_rules(kind, fields, actions, several)


def atomic_rules(
    kind: RuleKind,
    fields: Mapping[str, Any],
    actions: list[_Action],
    several: Mapping[str, list[tuple[str, Collection | None]]],
) -> list[Rule]:
    """One rule for each combination of action, target, assigner and assignee."""
    names = list(several)
    out: list[Rule] = []
    for (action, refinements), *choice in product(actions, *(several[n] for n in names)):
        values: dict[str, Any] = dict(fields, action=action, refinements=refinements)
        for name, (iri, collection) in zip(names, choice, strict=True):
            values[name] = iri
            if collection is not None:
                values[f"{name}_collection"] = collection
        out.append(Rule(kind=kind, **values))
    return out


def _party_or_asset(
    ctx: _Context, value: Any, name: str, path: str
) -> tuple[str, Collection | None]:
    """A target, assigner or assignee: an IRI, or a node that may be a collection."""
    if not isinstance(value, dict):
        return ctx.iri_value(value, path), None
    expanded = {ctx.key(key, f"{path}.{key}"): (key, item) for key, item in value.items()}
    if set(expanded) <= {"@id"}:
        return ctx.iri_value(value, path), None
    allowed = {"@id", "@type", ODRL + "source", ODRL + "refinement"}
    if set(expanded) - allowed:
        extra = sorted(set(expanded) - allowed)
        raise PolicyError(path, f"unsupported {name} properties {extra}")
    types = (
        {ctx.vocab_value(t, path) for t in _many(expanded["@type"][1])}
        if "@type" in expanded
        else set()
    )
    kinds = {
        CollectionKind(t.removeprefix(ODRL))
        for t in types
        if t.removeprefix(ODRL) in ("AssetCollection", "PartyCollection")
    }
    plain = {ODRL + "Asset"} if name == "target" else {ODRL + "Party"}
    if types - plain - {ODRL + k.value for k in kinds}:
        raise PolicyError(path, f"unsupported {name} type {sorted(types)}")
    expected = CollectionKind.ASSET if name == "target" else CollectionKind.PARTY
    if kinds - {expected} or (kinds and name == "assigner"):
        raise PolicyError(path, f"a {name} cannot be a {sorted(k.value for k in kinds)}")
    has_id, has_source = "@id" in expanded, ODRL + "source" in expanded
    if has_id == has_source:
        raise PolicyError(path, f"a {name} has either a uid or a source")
    refinements: tuple[AnyConstraint, ...] = ()
    if ODRL + "refinement" in expanded:
        key, item = expanded[ODRL + "refinement"]
        refinements = _constraints(ctx, item, f"{path}.{key}")
    if refinements and has_id:
        raise PolicyError(path, "a refined collection is named by source, not uid")
    if (refinements or has_source) and not kinds:
        raise PolicyError(path, "only a collection has a source and refinements")
    key, item = expanded["@id" if has_id else ODRL + "source"]
    iri = ctx.iri_value(item, f"{path}.{key}")
    if not kinds:
        return iri, None
    return iri, Collection(expected, refinements, by_source=has_source)


def _actions(ctx: _Context, value: Any, path: str) -> list[_Action]:
    actions = [_action(ctx, item, f"{path}[{index}]") for index, item in enumerate(_many(value))]
    if not actions:
        raise PolicyError(path, "an action needs a value")
    return actions


def _action(ctx: _Context, value: Any, path: str) -> _Action:
    if not isinstance(value, dict) or set(value) <= {"@id", "@type", "uid"}:
        return ctx.vocab_value(value, path), ()
    action: str | None = None
    refinements: tuple[AnyConstraint, ...] = ()
    for key, item in value.items():
        iri = ctx.key(key, f"{path}.{key}")
        if iri == RDF + "value":
            action = ctx.vocab_value(item, f"{path}.{key}")
        elif iri == ODRL + "refinement":
            refinements = _constraints(ctx, item, f"{path}.{key}")
        elif iri != "@type":
            raise PolicyError(f"{path}.{key}", f"unsupported action property {iri}")
    if action is None:
        raise PolicyError(path, "a refined action needs rdf:value")
    return action, refinements


def _constraints(ctx: _Context, value: Any, path: str) -> tuple[AnyConstraint, ...]:
    return tuple(
        _constraint(ctx, item, f"{path}[{index}]") for index, item in enumerate(_many(value))
    )


def _constraint(ctx: _Context, node: Any, path: str) -> AnyConstraint:
    if not isinstance(node, dict):
        raise PolicyError(path, "a constraint is a JSON object")
    expanded = {ctx.key(key, f"{path}.{key}"): (key, value) for key, value in node.items()}
    uid = ctx.iri_value(expanded["@id"][1], f"{path}.@id") if "@id" in expanded else None
    if uid is not None and set(expanded) == {"@id"}:
        return _referenced_constraint(ctx, uid, path)
    logical = [iri for iri in expanded if iri in LOGICAL_OPERATORS]
    if logical:
        if len(logical) > 1 or set(expanded) - {logical[0], "@id", "@type"}:
            raise PolicyError(path, "a logical constraint has exactly one operator and operands")
        key, operands = expanded[logical[0]]
        return LogicalConstraint(logical[0], _constraints(ctx, operands, f"{path}.{key}"), uid)
    unknown = set(expanded) - {
        "@id",
        "@type",
        *(ODRL + name for name in ("leftOperand", "operator", "rightOperand", "unit", "dataType")),
    }
    if unknown:
        raise PolicyError(path, f"unsupported constraint properties {sorted(unknown)}")
    for name in ("leftOperand", "operator", "rightOperand"):
        if ODRL + name not in expanded:
            raise PolicyError(path, f"a constraint needs {name}")

    def vocab(name: str) -> str:
        key, value = expanded[ODRL + name]
        return ctx.vocab_value(value, f"{path}.{key}")

    def optional_iri(name: str) -> str | None:
        if ODRL + name not in expanded:
            return None
        key, value = expanded[ODRL + name]
        return ctx.iri_value(value, f"{path}.{key}")

    key, right = expanded[ODRL + "rightOperand"]
    values = tuple(_literal(ctx, item, f"{path}.{key}") for item in _many(right))
    if not values:
        raise PolicyError(f"{path}.{key}", "a right operand needs a value")
    return Constraint(
        left_operand=vocab("leftOperand"),
        operator=vocab("operator"),
        right_operand=values,
        unit=optional_iri("unit"),
        data_type=optional_iri("dataType"),
        uid=uid,
    )


def _referenced_constraint(ctx: _Context, uid: str, path: str) -> AnyConstraint:
    """A constraint given only by its `@id`, declared in one of the `nodes`."""
    if uid not in ctx.nodes:
        raise PolicyError(path, f"constraint {uid} is referenced but not given")
    if uid in ctx.resolving:
        raise PolicyError(path, f"constraint {uid} refers to itself")
    node_ctx, body = ctx.nodes[uid]
    inner = _Context(
        node_ctx.prefixes, node_ctx.terms, node_ctx.vocab, ctx.nodes, ctx.resolving | {uid}
    )
    expanded = {inner.key(key, f"{path}.{key}") for key in body}
    if "@type" in body and inner.vocab_value(body["@type"], path) not in (
        ODRL + "Constraint",
        ODRL + "LogicalConstraint",
    ):
        raise PolicyError(path, f"{uid} is not a constraint")
    if expanded == {"@id"} or expanded == {"@id", "@type"}:
        raise PolicyError(path, f"constraint {uid} has no content")
    return _constraint(inner, {k: v for k, v in body.items() if k != "@type"}, path)


def _literal(ctx: _Context, item: Any, path: str) -> Value:
    if isinstance(item, bool | int | float | str):
        return Literal(item)
    if not isinstance(item, dict):
        raise PolicyError(path, "expected a literal or an IRI reference")
    expanded = {ctx.key(key, f"{path}.{key}"): value for key, value in item.items()}
    if "@id" in expanded and set(expanded) <= {"@id", "@type"}:
        return Ref(ctx.iri_value(expanded["@id"], path))
    if "@value" not in expanded or set(expanded) - {"@value", "@type", "@language"}:
        raise PolicyError(path, "expected {'@value': ...} or {'@id': ...}")
    value = expanded["@value"]
    if not isinstance(value, bool | int | float | str):
        raise PolicyError(path, "a literal value is a string, number or boolean")
    datatype = ctx.iri_value(expanded["@type"], path) if "@type" in expanded else None
    language = expanded.get("@language")
    if language is not None and not isinstance(language, str):
        raise PolicyError(path, "@language is a string")
    return native_literal(value, datatype, language, path)


def native_literal(
    value: str | int | float | bool, datatype: str | None, language: str | None, path: str
) -> Literal:
    """Typed integers, booleans and doubles become native values, as JSON would carry them."""
    native = _NATIVE_TYPES.get(datatype or "")
    if native is None:
        return Literal(value, datatype, language)
    if not isinstance(value, str):
        if type(value) is native or (native is float and type(value) is int):
            return Literal(native(value))
        raise PolicyError(path, f"{value!r} is not a valid {datatype}")
    try:
        if native is bool:
            if value not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return Literal(value in ("true", "1"))
        return Literal(native(value))
    except ValueError:
        raise PolicyError(path, f"{value!r} is not a valid {datatype}") from None


# Writing


_OUT_PREFIXES = (("allmende", ALLMENDE), ("rdf", RDF))
_DSP_PREFIXES = (("odrl", ODRL), ("xsd", XSD), ("dct", DCT), ("dcat", DCAT))


class _Writer:
    def __init__(self, *, inline_prefixes: bool = True) -> None:
        self.used: dict[str, str] = {}
        self.inline_prefixes = inline_prefixes

    def compact(self, iri: str) -> str:
        """An IRI as the DSP context and our inline prefixes would abbreviate it."""
        for prefix, namespace in (*_DSP_PREFIXES, *_OUT_PREFIXES):
            local = iri.removeprefix(namespace)
            if local != iri and local and ":" not in local and "/" not in local:
                if (prefix, namespace) in _OUT_PREFIXES:
                    if not self.inline_prefixes:
                        continue
                    self.used[prefix] = namespace
                return f"{prefix}:{local}"
        return iri

    def vocab(self, iri: str) -> str:
        local = iri.removeprefix(ODRL)
        if local != iri and local.isidentifier():
            return local
        return self.compact(iri)

    def value(self, value: Value) -> Any:
        if isinstance(value, Ref):
            return {"@id": self.compact(value.iri)}
        if value.datatype is None and value.language is None:
            return value.value
        out: dict[str, Any] = {"@value": value.value}
        if value.datatype is not None:
            out["@type"] = self.compact(value.datatype)
        if value.language is not None:
            out["@language"] = value.language
        return out

    def texts(self, texts: tuple[Literal, ...]) -> Any:
        values = [self.value(text) for text in texts]
        return values[0] if len(values) == 1 else values

    def constraint(self, constraint: AnyConstraint) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if constraint.uid is not None:
            out["@id"] = constraint.uid
        if isinstance(constraint, LogicalConstraint):
            name = self.vocab(constraint.operator)
            out[name] = [self.constraint(item) for item in constraint.constraints]
            return out
        out["leftOperand"] = self.vocab(constraint.left_operand)
        out["operator"] = self.vocab(constraint.operator)
        values = [self.value(value) for value in constraint.right_operand]
        out["rightOperand"] = values[0] if len(values) == 1 else values
        if constraint.unit is not None:
            out["unit"] = {"@id": self.compact(constraint.unit)}
        if constraint.data_type is not None:
            out["dataType"] = {"@id": self.compact(constraint.data_type)}
        return out

    def rule(self, rule: Rule) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if rule.uid is not None:
            out["@id"] = rule.uid
        if rule.refinements:
            value_key = "rdf:value" if self.inline_prefixes else RDF + "value"
            out["action"] = {
                value_key: {"@id": self.compact(rule.action)},
                "refinement": [self.constraint(item) for item in rule.refinements],
            }
            if self.inline_prefixes:
                self.used["rdf"] = RDF
        else:
            out["action"] = self.vocab(rule.action)
        for name in ("target", "assigner", "assignee"):
            if getattr(rule, name) is not None:
                out[name] = getattr(rule, name)
        for name, collection in (
            ("target", rule.target_collection),
            ("assignee", rule.assignee_collection),
        ):
            if collection is not None and name in out:
                node: dict[str, Any] = {"@type": collection.kind.value}
                node["source" if collection.by_source else "@id"] = out[name]
                if collection.refinements:
                    node["refinement"] = [self.constraint(c) for c in collection.refinements]
                out[name] = node
        functions: dict[str, list[str]] = {}
        for function, party in rule.parties:
            functions.setdefault(self.vocab(function), []).append(party)
        out.update((name, ps[0] if len(ps) == 1 else ps) for name, ps in functions.items())
        if rule.constraints:
            out["constraint"] = [self.constraint(item) for item in rule.constraints]
        for name, rules in (
            ("duty", rule.duties),
            ("remedy", rule.remedies),
            ("consequence", rule.consequences),
        ):
            if rules:
                out[name] = [self.rule(item) for item in rules]
        if rule.description:
            out["dct:description"] = self.texts(rule.description)
        return out


def to_jsonld(policy: Policy, *, with_context: bool = True) -> dict[str, Any]:
    """Compact DSP 2025-1 JSON-LD; `with_context=False` for embedding in a DSP message.

    Embedded, IRIs outside the DSP context's prefixes are written in full, since a DSP
    message's `@context` is a list of context URLs with no room for inline prefixes.
    """
    writer = _Writer(inline_prefixes=with_context)
    body: dict[str, Any] = {}
    if policy.uid is not None:
        body["@id"] = policy.uid
    body["@type"] = policy.type.value
    if policy.profile:
        body["profile"] = policy.profile[0] if len(policy.profile) == 1 else list(policy.profile)
    if policy.inherit_from:
        body["inheritFrom"] = list(policy.inherit_from)
    if policy.conflict is not None:
        body["conflict"] = policy.conflict.value
    for name in ("assigner", "assignee", "target", "timestamp"):
        if getattr(policy, name) is not None:
            body[name] = getattr(policy, name)
    if policy.title:
        body["dct:title"] = writer.texts(policy.title)
    if policy.description:
        body["dct:description"] = writer.texts(policy.description)
    if policy.license is not None:
        body["dct:license"] = {"@id": policy.license}
    grouped: dict[str, list[Any]] = {}
    for prop, value in policy.metadata:
        grouped.setdefault(writer.compact(prop), []).append(writer.value(value))
    body.update((key, vs[0] if len(vs) == 1 else vs) for key, vs in grouped.items())
    for name, rules in (
        ("permission", policy.permissions),
        ("prohibition", policy.prohibitions),
        ("obligation", policy.obligations),
    ):
        if rules:
            body[name] = [writer.rule(rule) for rule in rules]
    if not with_context:
        return body
    context: Any = [DSP_CONTEXT, dict(sorted(writer.used.items()))] if writer.used else DSP_CONTEXT
    return {"@context": context, **body}


def describe_values(values: Iterable[Value]) -> str:
    """Right operand values for humans (decision reasons), IRIs shortened."""
    writer = _Writer()
    parts = [
        writer.compact(value.iri) if isinstance(value, Ref) else repr(value.value)
        for value in values
    ]
    return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"


def sort_key(item: Rule | AnyConstraint | Value) -> str:
    """A stable order for what RDF leaves unordered (rules, constraints, operand sets)."""
    writer = _Writer()
    data: Any
    if isinstance(item, Rule):
        data = writer.rule(item)
    elif isinstance(item, Constraint | LogicalConstraint):
        data = writer.constraint(item)
    else:
        data = [type(item).__name__, writer.value(item)]
    return json.dumps(data, sort_keys=True, ensure_ascii=False)
