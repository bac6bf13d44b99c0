"""The switching policy: time windows across midnight, counts, assignees, refusals in German."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from allmende.node.actuation.policy import Person, PolicyRefused, SwitchPolicy
from tests.actuation.conftest import BERLIN, POLICY

ANNA = Person("resident:anna", resident=True, iri="https://luetjenholm.example/residents/anna")
STRANGER = Person("anonymous:192.0.2.1")
LATE = datetime(2026, 12, 8, 1, 0, tzinfo=BERLIN)


def policy(**changes: Any) -> SwitchPolicy:
    document = copy.deepcopy(POLICY)
    document["permission"][0].update(changes)
    return SwitchPolicy.read(document)


def test_count_per_night_with_what_is_left() -> None:
    rules = policy()
    first = rules.decide(ANNA, "dorfstrasse", LATE, used=0)
    assert first.allowed and first.reason_de == "Licht wird eingeschaltet. Heute noch 1× möglich."
    second = rules.decide(ANNA, "dorfstrasse", LATE, used=1)
    assert second.allowed and second.remaining == 0
    third = rules.decide(ANNA, "dorfstrasse", LATE, used=2)
    assert not third.allowed
    assert third.reason_de == "Heute nicht mehr möglich: höchstens 2× pro Nacht."


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(21, 59, False), (22, 0, True), (23, 59, True), (0, 0, True), (5, 59, True), (6, 0, False)],
)
def test_a_time_window_across_midnight(hour: int, minute: int, allowed: bool) -> None:
    when = datetime(2026, 12, 8, hour, minute, tzinfo=BERLIN)
    verdict = policy().decide(ANNA, "dorfstrasse", when, used=0)
    assert verdict.allowed is allowed
    if not allowed:
        assert verdict.reason_de == "Um diese Uhrzeit nicht möglich (erlaubt: 22:00–06:00 Uhr)."


def test_residents_only_and_anyone() -> None:
    refused = policy().decide(STRANGER, "dorfstrasse", LATE, used=0)
    assert refused.reason_de == "Nur für angemeldete Einwohnerinnen und Einwohner."
    anyone = copy.deepcopy(POLICY)
    del anyone["permission"][0]["assignee"]
    assert SwitchPolicy.read(anyone).decide(STRANGER, "dorfstrasse", LATE, used=0).allowed


def test_a_list_of_people_and_a_spatial_extent() -> None:
    document = copy.deepcopy(POLICY)
    rule = document["permission"][0]
    rule["assignee"] = "https://luetjenholm.example/residents/anna"
    rule["constraint"].append(
        {
            "leftOperand": "spatial",
            "operator": "isAnyOf",
            "rightOperand": ["dorfstrasse", "kirchweg"],
        }
    )
    rules = SwitchPolicy.read(document)
    assert rules.decide(ANNA, "kirchweg", LATE, used=0).allowed
    other = rules.decide(ANNA, "hafenweg", LATE, used=0)
    assert (
        not other.allowed and other.reason_de == "Dieser Abschnitt ist für Sie nicht freigegeben."
    )
    bernd = Person(
        "resident:bernd", resident=True, iri="https://luetjenholm.example/residents/bernd"
    )
    assert not rules.decide(bernd, "kirchweg", LATE, used=0).allowed


@pytest.mark.parametrize(
    "constraint",
    [
        {"leftOperand": "allmende:timeOfDay", "operator": "eq", "rightOperand": "22:00/06:00"},
        {"leftOperand": "allmende:timeOfDay", "operator": "isPartOf", "rightOperand": "abends"},
    ],
)
def test_a_time_window_the_node_cannot_read_is_refused(constraint: dict[str, Any]) -> None:
    with pytest.raises(PolicyRefused):
        policy(constraint=[constraint])


def test_a_policy_without_switching_is_refused() -> None:
    with pytest.raises(PolicyRefused, match="permits no allmende:switch"):
        policy(action="use")
