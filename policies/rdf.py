"""Policies as RDF (ODRL 2.2 vocabulary IRIs), to store them next to the data they govern.

The mapping is the one JSON-LD expansion of our written form gives: rules and constraints
are blank nodes unless they have a uid, logical constraint operands are RDF lists, several
right operand values are several triples. RDF has no order for repeated properties, so the
reader sorts rules, constraints and operand sets canonically. Unknown predicates on rules
and constraints are refused, as in the JSON-LD reader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RDFLiteral
from rdflib.collection import Collection as RDFList
from rdflib.term import Node

from allmende.policies.jsonld import atomic_rules, native_literal, sort_key
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
    DCT,
    DSPACE,
    LOGICAL_OPERATORS,
    ODRL,
    ODRL_ACTIONS,
    PARTY_FUNCTIONS,
    POLICY_METADATA,
    RDF,
    XSD,
    ActionVocabulary,
)

_TYPE = URIRef(RDF + "type")
_VALUE = URIRef(RDF + "value")
_FIRST, _NIL = URIRef(RDF + "first"), URIRef(RDF + "nil")
_TITLE, _DESCRIPTION, _LICENSE = (URIRef(DCT + n) for n in ("title", "description", "license"))
_TIMESTAMP = URIRef(DSPACE + "timestamp")
_POLICY_TYPES: dict[Node, PolicyType] = {
    **{URIRef(ODRL + t.value): t for t in PolicyType},
    URIRef(ODRL + "Policy"): PolicyType.SET,
}
_RULE_TYPES = {
    RuleKind.PERMISSION: URIRef(ODRL + "Permission"),
    RuleKind.PROHIBITION: URIRef(ODRL + "Prohibition"),
    RuleKind.DUTY: URIRef(ODRL + "Duty"),
}
_POLICY_RULES = (
    ("permissions", URIRef(ODRL + "permission"), RuleKind.PERMISSION),
    ("prohibitions", URIRef(ODRL + "prohibition"), RuleKind.PROHIBITION),
    ("obligations", URIRef(ODRL + "obligation"), RuleKind.DUTY),
)
_NESTED = (
    ("duties", URIRef(ODRL + "duty")),
    ("remedies", URIRef(ODRL + "remedy")),
    ("consequences", URIRef(ODRL + "consequence")),
)
_CONSTRAINT_TYPES = {URIRef(ODRL + "Constraint"), URIRef(ODRL + "LogicalConstraint")}


def _o(name: str) -> URIRef:
    return URIRef(ODRL + name)


def to_graph(policy: Policy, graph: Graph | None = None) -> Graph:
    """Add the policy's triples to `graph` (a new one by default) and return the graph."""
    graph = Graph() if graph is None else graph
    graph.bind("odrl", ODRL)
    node = _node(policy.uid)
    graph.add((node, _TYPE, _o(policy.type.value)))
    for profile in policy.profile:
        graph.add((node, _o("profile"), URIRef(profile)))
    for parent in policy.inherit_from:
        graph.add((node, _o("inheritFrom"), URIRef(parent)))
    if policy.conflict is not None:
        graph.add((node, _o("conflict"), _o(policy.conflict.value)))
    for name in ("assigner", "assignee", "target"):
        if getattr(policy, name) is not None:
            graph.add((node, _o(name), URIRef(getattr(policy, name))))
    if policy.timestamp is not None:
        graph.add(
            (node, _TIMESTAMP, RDFLiteral(policy.timestamp, datatype=URIRef(XSD + "dateTime")))
        )
    if policy.license is not None:
        graph.add((node, _LICENSE, URIRef(policy.license)))
    for prop, value in policy.metadata:
        graph.add((node, URIRef(prop), _term(value)))
    for predicate, texts in ((_TITLE, policy.title), (_DESCRIPTION, policy.description)):
        for text in texts:
            graph.add((node, predicate, _term(text)))
    for name, predicate, _kind in _POLICY_RULES:
        for rule in getattr(policy, name):
            graph.add((node, predicate, _add_rule(graph, rule)))
    return graph


def _node(uid: str | None) -> URIRef | BNode:
    return BNode() if uid is None else URIRef(uid)


def _term(value: Value) -> URIRef | RDFLiteral:
    if isinstance(value, Ref):
        return URIRef(value.iri)
    if value.language is not None:
        return RDFLiteral(value.value, lang=value.language)
    if value.datatype is not None:
        return RDFLiteral(value.value, datatype=URIRef(value.datatype))
    return RDFLiteral(value.value)


def _add_rule(graph: Graph, rule: Rule) -> URIRef | BNode:
    node = _node(rule.uid)
    graph.add((node, _TYPE, _RULE_TYPES[rule.kind]))
    if rule.refinements:
        action = BNode()
        graph.add((action, _VALUE, URIRef(rule.action)))
        for refinement in rule.refinements:
            graph.add((action, _o("refinement"), _add_constraint(graph, refinement)))
        graph.add((node, _o("action"), action))
    else:
        graph.add((node, _o("action"), URIRef(rule.action)))
    for name in ("target", "assigner", "assignee"):
        if getattr(rule, name) is not None:
            graph.add((node, _o(name), _add_party_or_asset(graph, rule, name)))
    for function, party in rule.parties:
        graph.add((node, URIRef(function), URIRef(party)))
    for constraint in rule.constraints:
        graph.add((node, _o("constraint"), _add_constraint(graph, constraint)))
    for name, predicate in _NESTED:
        for duty in getattr(rule, name):
            graph.add((node, predicate, _add_rule(graph, duty)))
    for text in rule.description:
        graph.add((node, _DESCRIPTION, _term(text)))
    return node


def _add_party_or_asset(graph: Graph, rule: Rule, name: str) -> URIRef | BNode:
    iri = URIRef(getattr(rule, name))
    collection: Collection | None = getattr(rule, f"{name}_collection", None)
    if collection is None:
        return iri
    node: URIRef | BNode = iri
    if collection.by_source:
        node = BNode()
        graph.add((node, _o("source"), iri))
    graph.add((node, _TYPE, _o(collection.kind.value)))
    for refinement in collection.refinements:
        graph.add((node, _o("refinement"), _add_constraint(graph, refinement)))
    return node


def _add_constraint(graph: Graph, constraint: AnyConstraint) -> URIRef | BNode:
    node = _node(constraint.uid)
    if isinstance(constraint, LogicalConstraint):
        graph.add((node, _TYPE, _o("LogicalConstraint")))
        items = BNode()
        RDFList(graph, items, [_add_constraint(graph, c) for c in constraint.constraints])
        graph.add((node, URIRef(constraint.operator), items))
        return node
    graph.add((node, _TYPE, _o("Constraint")))
    graph.add((node, _o("leftOperand"), URIRef(constraint.left_operand)))
    graph.add((node, _o("operator"), URIRef(constraint.operator)))
    for value in constraint.right_operand:
        graph.add((node, _o("rightOperand"), _term(value)))
    if constraint.unit is not None:
        graph.add((node, _o("unit"), URIRef(constraint.unit)))
    if constraint.data_type is not None:
        graph.add((node, _o("dataType"), URIRef(constraint.data_type)))
    return node


# Reading

T = TypeVar("T", Rule, AnyConstraint, Value)


def _sorted(items: list[T]) -> tuple[T, ...]:
    return tuple(sorted(items, key=sort_key))


def from_graph(graph: Graph, subject: Node | None = None) -> Policy:
    """Read the policy `subject`, or the only policy in the graph when none is named."""
    if subject is None:
        found = {s for t in _POLICY_TYPES for s in graph.subjects(_TYPE, t)}
        if len(found) != 1:
            raise PolicyError("", f"expected one policy in the graph, found {len(found)}")
        subject = found.pop()
    fields: dict[str, Any] = {} if isinstance(subject, BNode) else {"uid": str(subject)}
    rule_lists: dict[str, list[Rule]] = {name: [] for name, _p, _k in _POLICY_RULES}
    by_predicate: dict[Node, tuple[str, RuleKind]] = {
        predicate: (name, kind) for name, predicate, kind in _POLICY_RULES
    }
    shared = tuple(
        _read_action(graph, obj, str(_o("action"))) for obj in graph.objects(subject, _o("action"))
    )
    for predicate, obj in graph.predicate_objects(subject):
        at = str(predicate)
        if predicate == _TYPE:
            if obj in _POLICY_TYPES:
                fields["type"] = _POLICY_TYPES[obj]
        elif predicate in by_predicate:
            name, kind = by_predicate[predicate]
            rule_lists[name] += _read_rules(graph, obj, kind, at, shared)
        elif predicate == _o("action"):
            continue  # shared by the rules (read above)
        elif predicate == _o("profile"):
            fields["profile"] = (*fields.get("profile", ()), _iri(obj, at))
        elif predicate == _o("inheritFrom"):
            fields["inherit_from"] = (*fields.get("inherit_from", ()), _iri(obj, at))
        elif predicate == _o("conflict"):
            try:
                fields["conflict"] = ConflictTerm(_iri(obj, at).removeprefix(ODRL))
            except ValueError:
                raise PolicyError(at, "conflict is perm, prohibit or invalid") from None
        elif predicate in (_o("assigner"), _o("assignee"), _o("target")):
            fields[at.removeprefix(ODRL)] = _iri(obj, at)
        elif predicate == _TIMESTAMP:
            fields["timestamp"] = str(obj)
        elif at in POLICY_METADATA:
            fields["metadata"] = (*fields.get("metadata", ()), (at, _value(obj, at)))
        elif predicate == _LICENSE:
            fields["license"] = _iri(obj, at)
        elif predicate in (_TITLE, _DESCRIPTION):
            name = at.removeprefix(DCT)
            fields[name] = (*fields.get(name, ()), _text(obj, at))
        else:
            raise PolicyError(at, "unsupported policy property")
    fields["profile"] = tuple(sorted(fields.get("profile", ())))
    fields["inherit_from"] = tuple(sorted(fields.get("inherit_from", ())))
    fields["metadata"] = tuple(
        sorted(fields.get("metadata", ()), key=lambda pair: (pair[0], sort_key(pair[1])))
    )
    for name in ("title", "description"):
        fields[name] = _sorted(list(fields.get(name, ())))
    fields.update((name, _sorted(rules)) for name, rules in rule_lists.items())
    return Policy(**fields)


def _iri(obj: Node, at: str) -> str:
    if not isinstance(obj, URIRef):
        raise PolicyError(at, "expected an IRI")
    return str(obj)


def _value(obj: Node, at: str) -> Value:
    if isinstance(obj, URIRef):
        return Ref(str(obj))
    if not isinstance(obj, RDFLiteral):
        raise PolicyError(at, "expected an IRI or a literal")
    datatype = str(obj.datatype) if obj.datatype is not None else None
    return native_literal(str(obj), datatype, obj.language, at)


def _text(obj: Node, at: str) -> Literal:
    value = _value(obj, at)
    if not isinstance(value, Literal) or not isinstance(value.value, str):
        raise PolicyError(at, "expected text")
    return value


_FUNCTIONS = {_o(name) for name in PARTY_FUNCTIONS}
_Action = tuple[str, tuple[AnyConstraint, ...]]


def _read_rules(
    graph: Graph, node: Node, kind: RuleKind, at: str, shared: tuple[_Action, ...] = ()
) -> list[Rule]:
    """A rule made atomic, as in `policies.jsonld` (several actions, targets or parties)."""
    fields: dict[str, Any] = {} if isinstance(node, BNode) else {"uid": _iri(node, at)}
    lists: dict[str, list[Any]] = {}
    actions: list[_Action] = []
    several: dict[str, list[tuple[str, Collection | None]]] = {}

    def add(name: str, item: Any) -> None:
        lists.setdefault(name, []).append(item)

    nested: dict[Node, str] = {predicate: name for name, predicate in _NESTED}
    for predicate, obj in graph.predicate_objects(node):
        where = f"{at}.{predicate}"
        if predicate == _TYPE:
            if obj != _RULE_TYPES[kind]:
                raise PolicyError(where, f"expected a {kind.value}")
        elif predicate == _o("action"):
            actions.append(_read_action(graph, obj, where))
        elif predicate in (_o("target"), _o("assigner"), _o("assignee")):
            name = str(predicate).removeprefix(ODRL)
            several.setdefault(name, []).append(_read_party_or_asset(graph, obj, name, where))
        elif predicate in _FUNCTIONS:
            add("parties", (str(predicate), _iri(obj, where)))
        elif predicate == _o("constraint"):
            add("constraints", _read_constraint(graph, obj, where))
        elif predicate in nested:
            for duty in _read_rules(graph, obj, RuleKind.DUTY, where):
                add(nested[predicate], duty)
        elif predicate == _DESCRIPTION:
            add("description", _text(obj, where))
        else:
            raise PolicyError(where, f"unsupported {kind.value} property")
    actions = sorted(actions, key=lambda a: (a[0], [sort_key(r) for r in a[1]])) or list(shared)
    if not actions:
        raise PolicyError(at, f"a {kind.value} needs an action")
    if "parties" in lists:
        fields["parties"] = tuple(sorted(lists.pop("parties")))
    fields.update((name, _sorted(items)) for name, items in lists.items())
    for options in several.values():
        options.sort(key=lambda option: option[0])
    return atomic_rules(kind, fields, actions, several)


def _read_party_or_asset(
    graph: Graph, node: Node, name: str, at: str
) -> tuple[str, Collection | None]:
    """A target or party: an IRI, typed as a collection or not, or a refined collection."""
    expected = CollectionKind.ASSET if name == "target" else CollectionKind.PARTY
    typed = (node, _TYPE, _o(expected.value)) in graph
    if isinstance(node, URIRef) and (node, _o("source"), None) not in graph:
        return str(node), (Collection(expected) if typed and name != "assigner" else None)
    sources = list(graph.objects(node, _o("source")))
    if len(sources) != 1 or not typed or name == "assigner":
        raise PolicyError(at, f"a {name} node is a {expected.value} with one source")
    refinements = _sorted(
        [_read_constraint(graph, r, at) for r in graph.objects(node, _o("refinement"))]
    )
    return _iri(sources[0], at), Collection(expected, refinements, by_source=True)


def _read_action(graph: Graph, node: Node, at: str) -> tuple[str, tuple[AnyConstraint, ...]]:
    if isinstance(node, URIRef):
        return str(node), ()
    action: str | None = None
    refinements: list[AnyConstraint] = []
    for predicate, obj in graph.predicate_objects(node):
        if predicate == _VALUE:
            action = _iri(obj, at)
        elif predicate == _o("refinement"):
            refinements.append(_read_constraint(graph, obj, at))
        else:
            raise PolicyError(f"{at}.{predicate}", "unsupported action property")
    if action is None:
        raise PolicyError(at, "a refined action needs rdf:value")
    return action, _sorted(refinements)


def _operands(
    graph: Graph, operator: str, properties: dict[str, list[Node]], at: str
) -> tuple[AnyConstraint, ...]:
    """A logical constraint's operands: one RDF list (ordered) or repeated objects.

    The model says the operand's value is a list; repeated objects are read too (many
    writers produce them), sorted canonically, except for `andSequence`, whose order they
    cannot carry.
    """
    objects = properties[operator]
    head = objects[0]
    if len(objects) == 1 and (head == _NIL or (head, _FIRST, None) in graph):
        return tuple(_read_constraint(graph, item, at) for item in RDFList(graph, head))
    if operator == ODRL + "andSequence" and len(objects) > 1:
        raise PolicyError(at, "andSequence needs an RDF list: repeated objects have no order")
    return _sorted([_read_constraint(graph, item, at) for item in objects])


def _read_constraint(graph: Graph, node: Node, at: str) -> AnyConstraint:
    uid = None if isinstance(node, BNode) else _iri(node, at)
    properties: dict[str, list[Node]] = {}
    for predicate, obj in graph.predicate_objects(node):
        if predicate == _TYPE and obj in _CONSTRAINT_TYPES:
            continue
        properties.setdefault(str(predicate), []).append(obj)
    logical = [p for p in properties if p in LOGICAL_OPERATORS]
    if logical:
        if len(properties) != 1:
            raise PolicyError(at, "a logical constraint has exactly one operator and operands")
        return LogicalConstraint(logical[0], _operands(graph, logical[0], properties, at), uid)
    known = {ODRL + n for n in ("leftOperand", "operator", "rightOperand", "unit", "dataType")}
    if set(properties) - known:
        raise PolicyError(
            at, f"unsupported constraint properties {sorted(set(properties) - known)}"
        )

    def single(name: str, read: Callable[[Node, str], Any]) -> Any:
        values = properties.get(ODRL + name, [])
        if len(values) > 1:
            raise PolicyError(f"{at}.{name}", "exactly one value expected")
        return read(values[0], f"{at}.{name}") if values else None

    left, operator = single("leftOperand", _iri), single("operator", _iri)
    rights = [
        _value(obj, f"{at}.rightOperand") for obj in properties.get(ODRL + "rightOperand", [])
    ]
    if left is None or operator is None or not rights:
        raise PolicyError(at, "a constraint needs leftOperand, operator and rightOperand")
    return Constraint(
        left_operand=left,
        operator=operator,
        right_operand=_sorted(rights),
        unit=single("unit", _iri),
        data_type=single("dataType", _iri),
        uid=uid,
    )


_OWL_DEPRECATED = URIRef("http://www.w3.org/2002/07/owl#deprecated")
_EXACT_MATCH = URIRef("http://www.w3.org/2004/02/skos/core#exactMatch")


def actions_from_graph(graph: Graph, base: ActionVocabulary = ODRL_ACTIONS) -> ActionVocabulary:
    """`base` extended by the actions an ODRL profile defines in `graph`.

    Reads `odrl:includedIn` (one parent each, as the model requires), `odrl:implies`, and
    deprecated actions (`owl:deprecated true`) with their `skos:exactMatch` replacement.
    """
    parent: dict[str, str] = {}
    for child, included_in in graph.subject_objects(_o("includedIn")):
        at = f"{child} odrl:includedIn"
        if str(child) in parent and parent[str(child)] != str(included_in):
            raise PolicyError(at, "an action is included in exactly one other action")
        parent[_iri(child, at)] = _iri(included_in, at)
    implies: dict[str, frozenset[str]] = {}
    for action, implied in graph.subject_objects(_o("implies")):
        at = f"{action} odrl:implies"
        key = _iri(action, at)
        implies[key] = implies.get(key, frozenset()) | {_iri(implied, at)}
    replaced: dict[str, str] = {}
    for action in graph.subjects(_OWL_DEPRECATED, RDFLiteral(True)):
        matches = [str(m) for m in graph.objects(action, _EXACT_MATCH) if isinstance(m, URIRef)]
        if len(matches) == 1 and isinstance(action, URIRef):
            replaced[str(action)] = matches[0]
    return base.extend(parent, implies, replaced)


def collections_of(graph: Graph, member: str) -> frozenset[str]:
    """Every collection `member` is `odrl:partOf`, transitively (model, 2.2.2 and 2.3.2).

    The membership is metadata about the asset or party, kept apart from the policy; the
    result is what `Request.target_part_of` (or a party's `partOf` attribute) expects.
    """
    found: set[str] = set()
    todo = [URIRef(member)]
    while todo:
        for parent in graph.objects(todo.pop(), _o("partOf")):
            if isinstance(parent, URIRef) and str(parent) not in found:
                found.add(str(parent))
                todo.append(parent)
    return frozenset(found)
