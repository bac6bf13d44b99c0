"""ODRL 2.2 as the W3C Recommendations define it, tested with their own examples.

The policies are the examples of the ODRL Information Model 2.2 (tests/policies/data, see
the README there); the action tree is the ODRL Vocabulary & Expression 2.2. Each test names
the section of the model it checks.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph

from policies.evaluator import Outcome, Request, evaluate
from policies.jsonld import from_jsonld, to_jsonld
from policies.model import Constraint, LogicalConstraint, Policy, PolicyError
from policies.model import Literal as Lit
from policies.rdf import actions_from_graph, from_graph
from policies.terms import ALLMENDE, CC, ODRL, ODRL_ACTIONS, XSD

DATA = Path(__file__).parent / "data"
MODEL = DATA / "odrl22-model"
NOW = datetime(2017, 6, 1, 12, tzinfo=UTC)


def example(number: int) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((MODEL / f"example-{number:02d}.json").read_text())
    return document


def read(number: int) -> Policy:
    return from_jsonld(example(number))


def decide(policy: Policy, action: str, **request: Any) -> Outcome:
    return evaluate(policy, Request(action=action, time=NOW, **request)).outcome


PERMIT, DENY, INDETERMINATE = Outcome.PERMIT, Outcome.DENY, Outcome.INDETERMINATE

# 2.4 Action Class and the Common Vocabulary's includedIn tree.

MOVIE = "http://example.com/asset:9898.movie"


@pytest.mark.parametrize(
    ("action", "outcome"),
    [
        ("use", PERMIT),
        ("read", PERMIT),
        ("distribute", PERMIT),
        ("print", PERMIT),
        ("display", PERMIT),  # display is included in play, play in use
        ("extract", PERMIT),  # extract is included in reproduce, reproduce in use
        (CC + "Attribution", PERMIT),
        ("transfer", DENY),  # the other top-level action
        ("sell", DENY),
        ("lease", DENY),  # deprecated without a replacement: unknown
    ],
)
def test_example_1_use_covers_every_use_action(action: str, outcome: Outcome) -> None:
    assert decide(read(1), action, target=MOVIE) is outcome


@pytest.mark.parametrize(
    ("action", "outcome"),
    [("play", PERMIT), ("display", PERMIT), ("print", DENY), ("use", DENY)],
)
def test_example_12_play_covers_display_only(action: str, outcome: Outcome) -> None:
    assert decide(read(12), action, target="http://example.com/music:1012") is outcome


def _single(kind: str, action: str, **extra: Any) -> dict[str, Any]:
    rule = {"target": MOVIE, "action": action, **extra}
    return {"@context": "http://www.w3.org/ns/odrl.jsonld", "uid": "urn:p", kind: [rule]}


@pytest.mark.parametrize("deprecated", ["write", "writeTo", "append", "appendTo"])
def test_vocabulary_write_is_modify(deprecated: str) -> None:
    """Vocabulary Appendix A: write, writeTo, append and appendTo are replaced by modify."""
    granted = from_jsonld(_single("permission", deprecated))
    assert decide(granted, "modify", target=MOVIE) is PERMIT
    assert decide(granted, "read", target=MOVIE) is DENY
    assert decide(from_jsonld(_single("permission", "modify")), deprecated, target=MOVIE) is PERMIT
    both = _single("permission", "use")
    both["prohibition"] = [{"target": MOVIE, "action": deprecated}]
    both["conflict"] = "prohibit"
    assert decide(from_jsonld(both), "modify", target=MOVIE) is DENY
    assert decide(from_jsonld(both), "read", target=MOVIE) is PERMIT


@pytest.mark.parametrize(
    ("deprecated", "replacement"),
    [("copy", "reproduce"), ("pay", "compensate"), ("commercialize", CC + "CommercialUse")],
)
def test_vocabulary_deprecated_actions_mean_their_replacement(
    deprecated: str, replacement: str
) -> None:
    policy = from_jsonld(_single("permission", deprecated))
    assert decide(policy, replacement, target=MOVIE) is PERMIT
    assert decide(policy, ODRL + deprecated, target=MOVIE) is PERMIT


def test_vocabulary_tree_is_the_recommendations() -> None:
    assert ODRL_ACTIONS.ancestors(ODRL + "display") == {
        ODRL + n for n in ("display", "play", "use")
    }
    assert ODRL_ACTIONS.covered(ODRL + "transfer") == {
        ODRL + n for n in ("transfer", "give", "sell")
    }
    assert not ODRL_ACTIONS.implies  # the Common Vocabulary states no implies


# 2.10 Policy Conflict Strategy, Examples 34 and 35: a use permission against a print
# prohibition (print is included in use), merged into one policy.

ASSET_1212 = "http://example.com/asset:1212"


def merged_34_35(conflict: str | None) -> Policy:
    document = example(35)
    document["permission"] = example(34)["permission"] + document["permission"]
    if conflict is None:
        del document["conflict"]
    else:
        document["conflict"] = conflict
    return from_jsonld(document)


def test_example_35_alone_print_is_not_permitted() -> None:
    policy = read(35)
    assert decide(policy, "display", target=ASSET_1212) is PERMIT
    assert decide(policy, "print", target=ASSET_1212) is DENY
    assert decide(policy, "play", target=ASSET_1212) is DENY


@pytest.mark.parametrize(
    ("conflict", "outcome", "reason"),
    [
        ("perm", PERMIT, "permits it"),
        ("prohibit", DENY, "prohibits it"),
        ("invalid", DENY, "the policy is void"),
        (None, DENY, "the policy is void"),  # the model's default is invalid
    ],
)
def test_examples_34_35_conflict_strategies(
    conflict: str | None, outcome: Outcome, reason: str
) -> None:
    decision = evaluate(merged_34_35(conflict), Request("print", target=ASSET_1212))
    assert decision.outcome is outcome
    assert any(reason in text for text in decision.reasons), decision.reasons
    # display is not in conflict with anything: permitted under every strategy
    assert decide(merged_34_35(conflict), "display", target=ASSET_1212) is PERMIT


def test_example_19_permission_and_prohibition_on_different_actions() -> None:
    policy = read(19)
    party = {
        "target": "http://example.com/photoAlbum:55",
        "assignee": "http://example.com/assignee:55",
    }
    assert decide(policy, "display", **party) is PERMIT
    assert decide(policy, "archive", **party) is DENY  # prohibited, and never permitted


# 3.3 ODRL Profile Mechanism: a profile's action, included in use, implying distribute.

PROFILE = """
@prefix odrl: <http://www.w3.org/ns/odrl/2/> .
@prefix ex: <http://example.com/> .
ex:myAction a odrl:Action .
ex:myAction odrl:includedIn odrl:use .
ex:myAction odrl:implies odrl:distribute .
"""


def _implies_policy(conflict: str | None) -> Policy:
    document = _single("permission", "http://example.com/myAction")
    document["prohibition"] = [{"target": MOVIE, "action": "distribute"}]
    if conflict is not None:
        document["conflict"] = conflict
    return from_jsonld(document)


@pytest.mark.parametrize(
    ("conflict", "outcome"), [("perm", PERMIT), ("prohibit", DENY), (None, DENY)]
)
def test_profile_action_implies_a_prohibited_action(conflict: str | None, outcome: Outcome) -> None:
    actions = actions_from_graph(Graph().parse(data=PROFILE, format="turtle"))
    request = Request("http://example.com/myAction", target=MOVIE)
    decision = evaluate(_implies_policy(conflict), request, actions)
    assert decision.outcome is outcome
    if conflict == "prohibit":
        assert decision.reasons == (
            "prohibition[0] prohibits distribute, which http://example.com/myAction implies",
        )
    # Without the profile the action implies nothing, so nothing is in conflict.
    assert evaluate(_implies_policy(conflict), request).outcome is PERMIT


def test_profile_action_is_covered_by_use() -> None:
    actions = actions_from_graph(Graph().parse(data=PROFILE, format="turtle"))
    policy = from_jsonld(_single("permission", "use"))
    request = Request("http://example.com/myAction", target=MOVIE)
    assert evaluate(policy, request, actions).outcome is PERMIT
    assert evaluate(policy, request).outcome is DENY  # unknown without the profile


def test_unprohibited_implied_action_is_no_conflict() -> None:
    actions = actions_from_graph(Graph().parse(data=PROFILE, format="turtle"))
    document = _single("permission", "http://example.com/myAction")
    document["prohibition"] = [{"target": MOVIE, "action": "print"}]
    request = Request("http://example.com/myAction", target=MOVIE)
    assert evaluate(from_jsonld(copy.deepcopy(document)), request, actions).outcome is PERMIT


# 2.5.2 Logical Constraint Class: operands as a list (JSON-LD @list, RDF list) or as
# repeated objects, in JSON-LD and in Turtle.

TURTLE = DATA / "odrl22-turtle"


def example_15() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Example 15 is printed as three JSON documents: the policy and two constraints."""
    text, decoder, documents = (MODEL / "example-15.txt").read_text(), json.JSONDecoder(), []
    position = 0
    while position < len(text):
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
        while position < len(text) and text[position].isspace():
            position += 1
    return documents[0], documents[1:]


def test_example_15_constraints_referenced_by_id() -> None:
    policy_document, constraints = example_15()
    policy = from_jsonld(policy_document, nodes=constraints)
    (refinement,) = policy.permissions[0].refinements
    assert isinstance(refinement, LogicalConstraint) and refinement.operator == ODRL + "xone"
    assert [c.uid for c in refinement.constraints] == [
        "http://example.com/p:88/C1",
        "http://example.com/p:88/C2",
    ]
    assert [c.right_operand for c in refinement.constraints if isinstance(c, Constraint)] == [
        (Lit("online", XSD + "string"),),
        (Lit("print", XSD + "string"),),
    ]
    decision = evaluate(policy, Request("reproduce", target="http://example.com/book/1999"))
    assert decision.outcome is INDETERMINATE  # `media` is not a term this node evaluates
    assert any(
        "unknown left operand http://www.w3.org/ns/odrl/2/media" in r for r in decision.reasons
    )
    with pytest.raises(PolicyError, match="p:88/C1 is referenced but not given"):
        from_jsonld(policy_document)


@pytest.mark.parametrize("form", ["list", "repeated"])
def test_example_15_in_turtle(form: str) -> None:
    graph = Graph().parse(TURTLE / f"example-15-{form}.ttl", format="turtle")
    policy = from_graph(graph)
    policy_document, constraints = example_15()
    assert policy.permissions == from_jsonld(policy_document, nodes=constraints).permissions
    assert from_jsonld(to_jsonld(policy)) == policy


def test_and_sequence_needs_an_rdf_list() -> None:
    text = (TURTLE / "example-15-repeated.ttl").read_text().replace("odrl:xone", "odrl:andSequence")
    with pytest.raises(PolicyError, match="andSequence needs an RDF list"):
        from_graph(Graph().parse(data=text, format="turtle"))
    listed = (TURTLE / "example-15-list.ttl").read_text().replace("odrl:xone", "odrl:andSequence")
    (refinement,) = (
        from_graph(Graph().parse(data=listed, format="turtle")).permissions[0].refinements
    )
    assert isinstance(refinement, LogicalConstraint)
    assert [c.uid for c in refinement.constraints] == [
        "http://example.com/p:88/C1",
        "http://example.com/p:88/C2",
    ]


LOGICAL_TURTLE = """
@prefix odrl: <http://www.w3.org/ns/odrl/2/> .
@prefix allmende: <https://w3id.org/allmende/ns#> .
<urn:policy:logical> a odrl:Set ;
    odrl:permission [ a odrl:Permission ; odrl:target <urn:asset> ; odrl:action odrl:use ;
        odrl:constraint [ a odrl:LogicalConstraint ; OPERATOR OPERANDS ] ] .
<urn:c:research> a odrl:Constraint ; odrl:leftOperand odrl:purpose ; odrl:operator odrl:isA ;
    odrl:rightOperand allmende:research .
<urn:c:noncommercial> a odrl:Constraint ; odrl:leftOperand odrl:purpose ;
    odrl:operator odrl:isA ; odrl:rightOperand allmende:nonCommercial .
"""
LOGICAL_JSON_OPERANDS = [
    {"leftOperand": "purpose", "operator": "isA", "rightOperand": {"@id": "allmende:research"}},
    {
        "leftOperand": "purpose",
        "operator": "isA",
        "rightOperand": {"@id": "allmende:nonCommercial"},
    },
]


def logical_policy(operator: str, form: str) -> Policy:
    if form.startswith("turtle"):
        operands = "<urn:c:research>, <urn:c:noncommercial>"
        if form == "turtle-list":
            operands = "( <urn:c:research> <urn:c:noncommercial> )"
        text = LOGICAL_TURTLE.replace("OPERATOR", f"odrl:{operator}").replace("OPERANDS", operands)
        return from_graph(Graph().parse(data=text, format="turtle"))
    operands: Any = LOGICAL_JSON_OPERANDS
    if form == "jsonld-list":
        operands = {"@list": LOGICAL_JSON_OPERANDS}
    document = {
        "@context": ["http://www.w3.org/ns/odrl.jsonld", {"allmende": ALLMENDE}],
        "uid": "urn:policy:logical",
        "permission": [
            {"target": "urn:asset", "action": "use", "constraint": {operator: operands}}
        ],
    }
    return from_jsonld(document)


LOGICAL_CASES = [
    ("and", PERMIT, DENY),
    ("or", PERMIT, PERMIT),
    ("xone", DENY, PERMIT),  # research is also non-commercial: both hold, not exactly one
    ("andSequence", PERMIT, DENY),
]
FORMS = ["jsonld-array", "jsonld-list", "turtle-list", "turtle-repeated"]


@pytest.mark.parametrize(
    ("operator", "research", "statistics", "form"),
    [
        (*case, form)
        for case in LOGICAL_CASES
        for form in FORMS
        # andSequence needs a list: test_and_sequence_needs_an_rdf_list
        if not (case[0] == "andSequence" and form == "turtle-repeated")
    ],
)
def test_logical_constraints_in_every_form(
    operator: str, research: Outcome, statistics: Outcome, form: str
) -> None:
    policy = logical_policy(operator, form)
    assert decide(policy, "read", target="urn:asset", purpose="academicResearch") is research
    assert decide(policy, "read", target="urn:asset", purpose="statistics") is statistics
    assert decide(policy, "read", target="urn:asset") is INDETERMINATE
