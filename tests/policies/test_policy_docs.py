"""docs/reference/policies.md shows only policies the node reads, and decides as it says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rdflib import Graph

from allmende.policies.evaluator import Outcome, Request, evaluate
from allmende.policies.jsonld import from_jsonld
from allmende.policies.model import Policy
from allmende.policies.rdf import actions_from_graph, from_graph
from allmende.policies.terms import ODRL

PAGE = Path(__file__).parents[2] / "docs" / "reference" / "policies.md"
BLOCKS = re.findall(r"```(json|turtle)\n(.*?)```", PAGE.read_text(), re.S)
PEGEL = "https://example.org/dataset/pegel"


def policies() -> dict[str, Policy]:
    found = {}
    for language, text in BLOCKS:
        if language == "json":
            policy = from_jsonld(json.loads(text))
        elif "odrl:permission" in text:
            policy = from_graph(Graph().parse(data=text, format="turtle"))
        else:
            continue
        found[policy.uid or ""] = policy
    return found


def test_every_example_is_read() -> None:
    assert len(BLOCKS) >= 10
    assert len(policies()) == len(BLOCKS) - 1  # the profile's actions are no policy
    profile = next(text for language, text in BLOCKS if "odrl:implies" in text)
    actions = actions_from_graph(Graph().parse(data=profile, format="turtle"))
    assert actions.implied("http://example.com/myAction") == {ODRL + "distribute"}


@pytest.mark.parametrize(
    ("uid", "request_", "outcome"),
    [
        ("write", Request("modify", target=PEGEL), Outcome.PERMIT),
        ("write", Request("read", target=PEGEL), Outcome.DENY),
        ("refined", Request("read", target=PEGEL, purpose="academicResearch"), Outcome.PERMIT),
        ("refined", Request("read", target=PEGEL, purpose="marketing"), Outcome.DENY),
        (
            "compact",
            Request("read", target=PEGEL, assignee="https://partner.example/kreis"),
            Outcome.PERMIT,
        ),
        ("compact", Request("read", target=PEGEL, assignee="https://other.example/"), Outcome.DENY),
        (
            "collection",
            Request(
                "read",
                target=PEGEL,
                target_part_of=frozenset({"https://luetjenholm.example/collection/pegel"}),
                target_attributes={"spatial": "01"},
            ),
            Outcome.PERMIT,
        ),
        ("collection", Request("read", target=PEGEL), Outcome.DENY),
        (
            "amt",
            Request(
                "read",
                target=PEGEL,
                assignee="https://partner.example/amt",
                attributes={
                    "memberOf": "https://example.org/party/amt-members",
                    "amtMembership": "010545417",
                },
            ),
            Outcome.PERMIT,
        ),
        ("xone", Request("read", target=PEGEL, purpose="research"), Outcome.PERMIT),
        ("perm", Request("print", target=PEGEL), Outcome.PERMIT),
        ("child", Request("display", target=PEGEL), Outcome.INDETERMINATE),
        ("old", Request("read", target=PEGEL), Outcome.INDETERMINATE),
    ],
)
def test_examples_decide_as_the_page_says(uid: str, request_: Request, outcome: Outcome) -> None:
    by_suffix = {key.rsplit("/", 1)[-1]: policy for key, policy in policies().items()}
    assert evaluate(by_suffix[uid], request_).outcome is outcome


def test_unfulfilled_attribution_is_pending() -> None:
    policy = policies()["https://example.org/agreement/attribution"]
    request = Request(
        "distribute",
        target=PEGEL,
        assignee="https://partner.example/kreis",
        duty_state={"permission[0].duty[0]": False},
    )
    decision = evaluate(policy, request)
    assert decision.outcome is Outcome.DENY
    assert [d.action for d in decision.pending] == [ODRL + "attribute"]
