"""JSON-LD and RDF forms of policies: every way in reads the same, every way out reads back."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.compare import isomorphic

from allmende.policies.evaluator import Request, evaluate
from allmende.policies.jsonld import from_jsonld, to_jsonld
from allmende.policies.model import (
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
)
from allmende.policies.rdf import from_graph, to_graph
from allmende.policies.templates import list_templates, load_template

ODRL = "http://www.w3.org/ns/odrl/2/"
XSD = "http://www.w3.org/2001/XMLSchema#"
ALLMENDE = "https://w3id.org/allmende/ns#"

# Everything the model can say, in the DSP compact form we write.
FULL: dict[str, Any] = {
    "@context": [
        "https://w3id.org/dspace/2025/1/context.jsonld",
        {"allmende": ALLMENDE, "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"},
    ],
    "@id": "urn:uuid:5d8a0a8e-0000-4000-8000-000000000001",
    "@type": "Agreement",
    "profile": "https://w3id.org/allmende/profile",
    "conflict": "perm",
    "assigner": "https://luetjenholm.example/node",
    "assignee": "https://uni.example/lab",
    "target": "https://luetjenholm.example/dataset/pegel",
    "timestamp": "2025-01-01T00:00:00Z",
    "dct:title": [
        {"@value": "Pegelstände für die Forschung", "@language": "de"},
        {"@value": "Water levels for research", "@language": "en"},
    ],
    "dct:description": "Nur für Forschung.",
    "dct:license": {"@id": "http://dcat-ap.de/def/licenses/dl-by-de/2.0"},
    "permission": [
        {
            "@id": "urn:rule:read",
            "action": {
                "rdf:value": {"@id": "odrl:read"},
                "refinement": [
                    {"leftOperand": "allmende:aggregation", "operator": "eq", "rightOperand": True}
                ],
            },
            "constraint": [
                {
                    "@id": "urn:constraint:when",
                    "andSequence": [
                        {
                            "leftOperand": "dateTime",
                            "operator": "gteq",
                            "rightOperand": {"@value": "2025-01-01", "@type": "xsd:date"},
                        },
                        {
                            "leftOperand": "elapsedTime",
                            "operator": "lteq",
                            "rightOperand": {"@value": "P90D", "@type": "xsd:duration"},
                        },
                    ],
                },
                {
                    "leftOperand": "purpose",
                    "operator": "isAnyOf",
                    "rightOperand": [{"@id": "allmende:research"}, "education"],
                },
                {
                    "leftOperand": "count",
                    "operator": "lteq",
                    "rightOperand": 100,
                    "unit": {"@id": "odrl:perUser"},
                    "dataType": {"@id": "xsd:integer"},
                },
                {"leftOperand": "spatial", "operator": "isPartOf", "rightOperand": 1.5},
            ],
            "duty": [
                {
                    "action": "compensate",
                    "duty": [{"action": "inform"}],
                    "consequence": [{"action": "delete"}],
                    "dct:description": {"@value": "Bitte melden", "@language": "de"},
                }
            ],
        }
    ],
    "prohibition": [
        {
            "action": "distribute",
            "assignee": "https://uni.example/other",
            "remedy": [{"action": "delete"}],
            "constraint": [
                {
                    "or": [
                        {"leftOperand": "recipient", "operator": "neq", "rightOperand": "x"},
                        {
                            "xone": [
                                {
                                    "leftOperand": "partner",
                                    "operator": "eq",
                                    "rightOperand": "gold",
                                },
                                {
                                    "leftOperand": "allmende:organisationType",
                                    "operator": "isA",
                                    "rightOperand": {"@id": "allmende:company"},
                                },
                            ]
                        },
                    ]
                }
            ],
        }
    ],
    "obligation": [{"action": "attribute", "target": "https://luetjenholm.example/about"}],
}


def test_full_policy_reads_as_expected() -> None:
    policy = from_jsonld(FULL)
    assert policy.type is PolicyType.AGREEMENT
    assert policy.conflict is ConflictTerm.PERM
    assert policy.title[0] == Literal("Pegelstände für die Forschung", language="de")
    read = policy.permissions[0]
    assert read.action == ODRL + "read" and read.uid == "urn:rule:read"
    assert read.refinements == (
        Constraint(ALLMENDE + "aggregation", ODRL + "eq", (Literal(True),)),
    )
    sequence = read.constraints[0]
    assert isinstance(sequence, LogicalConstraint) and sequence.operator == ODRL + "andSequence"
    assert sequence.constraints[1] == Constraint(
        ODRL + "elapsedTime", ODRL + "lteq", (Literal("P90D", XSD + "duration"),)
    )
    assert read.constraints[1].right_operand == (  # type: ignore[union-attr]
        Ref(ALLMENDE + "research"),
        Literal("education"),
    )
    assert read.duties[0].duties[0].action == ODRL + "inform"
    assert read.duties[0].consequences[0].action == ODRL + "delete"
    assert policy.prohibitions[0].remedies[0].kind is RuleKind.DUTY
    assert policy.obligations[0].target == "https://luetjenholm.example/about"


def test_jsonld_round_trip_is_exact() -> None:
    policy = from_jsonld(FULL)
    assert to_jsonld(policy) == FULL
    assert from_jsonld(to_jsonld(policy)) == policy


@pytest.mark.parametrize("template", [t.name for t in list_templates()])
def test_templates_round_trip(template: str) -> None:
    policy = (
        load_template(template, assigner="urn:village", amt="010545417")
        if (template == "amt-members-only")
        else load_template(template, assigner="urn:village")
    )
    assert from_jsonld(to_jsonld(policy)) == policy
    assert from_graph(to_graph(policy)) == policy


def test_rdf_round_trip_keeps_every_triple() -> None:
    policy = from_jsonld(FULL)
    graph = to_graph(policy)
    again = from_graph(Graph().parse(data=graph.serialize(format="turtle"), format="turtle"))
    assert isomorphic(to_graph(again), graph)
    # RDF has no order: rules, constraints and operand sets come back sorted, stably.
    assert from_graph(to_graph(again)) == again
    assert from_jsonld(to_jsonld(again)) == again
    assert {rule.action for rule in again.permissions} == {ODRL + "read"}


def test_rdf_uses_odrl_vocabulary() -> None:
    graph = to_graph(from_jsonld(FULL))
    ask = graph.query(
        """
        PREFIX odrl: <http://www.w3.org/ns/odrl/2/>
        ASK {
          ?policy a odrl:Agreement ; odrl:permission ?p ; odrl:conflict odrl:perm .
          ?p odrl:action [ <http://www.w3.org/1999/02/22-rdf-syntax-ns#value> odrl:read ] ;
             odrl:constraint [ odrl:andSequence ( ?first ?second ) ] .
          ?second odrl:leftOperand odrl:elapsedTime ; odrl:rightOperand ?duration .
          FILTER(datatype(?duration) = <http://www.w3.org/2001/XMLSchema#duration>)
        }
        """
    )
    assert ask.askAnswer


def test_model_built_in_code_round_trips_through_rdf() -> None:
    policy = Policy(
        uid="urn:p",
        type=PolicyType.SET,
        permissions=(
            Rule(
                RuleKind.PERMISSION,
                ODRL + "use",
                constraints=(
                    Constraint(
                        ODRL + "purpose",
                        ODRL + "isAnyOf",
                        (Literal("education"), Ref(ALLMENDE + "research")),
                    ),
                ),
            ),
        ),
    )
    assert from_graph(to_graph(policy)) == policy
    assert from_jsonld(to_jsonld(policy)) == policy


ODRL_STYLE = {
    "@context": "http://www.w3.org/ns/odrl.jsonld",
    "type": "Offer",
    "uid": "http://example.com/policy:1010",
    "assigner": "http://example.com/party:org:abc",
    "permission": [
        {
            "target": "http://example.com/asset:9898",
            "action": "read",
            "constraint": [
                {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2030-01-01"}
            ],
        }
    ],
}
PREFIXED = {
    "@context": {"odrl": ODRL, "ex": "http://example.com/"},
    "@type": "odrl:Offer",
    "@id": "ex:policy:1010",
    "odrl:assigner": {"@id": "ex:party:org:abc"},
    "odrl:permission": [
        {
            "odrl:target": {"@id": "ex:asset:9898"},
            "odrl:action": {"@id": "odrl:read"},
            "odrl:constraint": {
                "odrl:leftOperand": {"@id": "odrl:dateTime"},
                "odrl:operator": {"@id": "odrl:lt"},
                "odrl:rightOperand": "2030-01-01",
            },
        }
    ],
}
EXPANDED = {
    "@id": "http://example.com/policy:1010",
    "@type": [ODRL + "Offer"],
    ODRL + "assigner": [{"@id": "http://example.com/party:org:abc"}],
    ODRL + "permission": [
        {
            ODRL + "target": [{"@id": "http://example.com/asset:9898"}],
            ODRL + "action": [{"@id": ODRL + "read"}],
            ODRL + "constraint": [
                {
                    ODRL + "leftOperand": [{"@id": ODRL + "dateTime"}],
                    ODRL + "operator": [{"@id": ODRL + "lt"}],
                    ODRL + "rightOperand": [{"@value": "2030-01-01"}],
                }
            ],
        }
    ],
}


@pytest.mark.parametrize(
    "document", [ODRL_STYLE, PREFIXED, EXPANDED], ids=["odrl", "prefixed", "expanded"]
)
def test_every_spelling_reads_the_same(document: dict[str, Any]) -> None:
    expected = from_jsonld(ODRL_STYLE)
    assert from_jsonld(document) == expected
    assert expected.permissions[0].target == "http://example.com/asset:9898"
    assert expected.uid == "http://example.com/policy:1010"


def test_embedded_policy_without_context_uses_dsp() -> None:
    embedded = {"@id": "urn:offer:1", "@type": "Offer", "permission": [{"action": "use"}]}
    policy = from_jsonld(embedded)
    assert policy.permissions[0].action == ODRL + "use"
    assert to_jsonld(policy, with_context=False) == embedded


def test_dsp_example_agreement_reads_and_evaluates() -> None:
    agreement = {
        "@context": "https://w3id.org/dspace/2025/1/context.jsonld",
        "@id": "urn:uuid:e8dc8655-44c2-46ef-b701-4cffdc2faa44",
        "@type": "Agreement",
        "target": "urn:uuid:3dd1add4-4d2d-569e-d634-8394a8836d23",
        "timestamp": "2023-01-01T01:00:00Z",
        "assigner": "http://example.com/Provider",
        "assignee": "http://example.com/Consumer",
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {
                        "leftOperand": "dateTime",
                        "operator": "lteq",
                        "rightOperand": "2023-12-31T06:00Z",
                    }
                ],
            }
        ],
    }
    policy = from_jsonld(agreement)
    assert to_jsonld(policy) == agreement
    request = Request(
        "use",
        assignee="http://example.com/Consumer",
        target="urn:uuid:3dd1add4-4d2d-569e-d634-8394a8836d23",
        time=datetime(2023, 6, 1, tzinfo=UTC),
    )
    assert evaluate(policy, request).permitted


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update({"@context": "https://example.org/context.jsonld"}), "@context"),
        (lambda d: d.update({"inheritFrom": {"@value": "urn:parent"}}), "inheritFrom"),
        (lambda d: d.update({"colour": "blue"}), "colour"),
        (lambda d: d.update({"@type": "Ticket"}), "@type"),
        (lambda d: d.update({"conflict": "maybe"}), "conflict"),
        (lambda d: d.update({"timestamp": "yesterday"}), "timestamp"),
        (lambda d: d["permission"][0].pop("action"), "permission[0]"),
        (lambda d: d["permission"][0].update({"failure": []}), "permission[0].failure"),
        (
            lambda d: d["permission"][0].update({"remedy": [{"action": "delete"}]}),
            "permission[0].remedy",
        ),
        (
            lambda d: d["permission"][0]["constraint"][0].pop("operator"),
            "permission[0].constraint[0]",
        ),
        (
            lambda d: d["permission"][0]["constraint"][0].update(
                {"rightOperandReference": "urn:x"}
            ),
            "permission[0].constraint[0]",
        ),
        (lambda d: d.update({"permission": []}), "permission"),
    ],
)
def test_what_we_cannot_read_is_refused_with_its_field(change: Any, field: str) -> None:
    document = copy.deepcopy(ODRL_STYLE)
    change(document)
    with pytest.raises(PolicyError) as caught:
        from_jsonld(document)
    assert caught.value.field == field


def test_rdf_reader_refuses_unknown_rule_properties() -> None:
    graph = to_graph(from_jsonld(ODRL_STYLE))
    permission = next(graph.objects(predicate=URIRef(ODRL + "permission")))
    graph.add((permission, URIRef(ODRL + "failure"), BNode()))
    with pytest.raises(PolicyError):
        from_graph(graph)
