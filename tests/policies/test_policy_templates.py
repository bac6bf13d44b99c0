"""Municipal policy templates: documented in two languages, filled in safely, shareable or not."""

from __future__ import annotations

from pathlib import Path

import pytest

import allmende.policies.templates as templates_package
from allmende.policies.evaluator import permits_federation_sharing, policy_problems
from allmende.policies.jsonld import from_jsonld
from allmende.policies.model import Policy
from allmende.policies.templates import (
    TemplateError,
    list_templates,
    load_template,
    template_document,
)

NAMES = {
    "open-data-attribution",
    "amt-members-only",
    "research-only",
    "aggregated-only",
    "time-limited-deletion",
    "non-commercial",
}
REQUIRED = {"amt-members-only": {"amt": "010545417"}}
# Whether a dataset under the template may be passed on to peer nodes as it is.
SHAREABLE = {
    "open-data-attribution": True,
    "amt-members-only": False,
    "research-only": False,
    "aggregated-only": False,
    "time-limited-deletion": False,
    "non-commercial": False,
}


def load(name: str, **params: object) -> Policy:
    return load_template(name, assigner="urn:village", **REQUIRED.get(name, {}), **params)


def test_all_templates_are_listed_and_bilingual() -> None:
    infos = {info.name: info for info in list_templates()}
    assert set(infos) == NAMES
    readme = (Path(templates_package.__file__).parent / "README.md").read_text(encoding="utf-8")
    for info in infos.values():
        assert set(info.title) == {"de", "en"} and set(info.description) == {"de", "en"}
        assert info.parameters[0].name == "assigner" and info.parameters[0].required
        assert f"`{info.name}`" in readme


@pytest.mark.parametrize("name", sorted(NAMES))
def test_templates_mean_what_they_say(name: str) -> None:
    policy = load_template(name, assigner="urn:village", target="urn:ds", **REQUIRED.get(name, {}))
    assert policy_problems(policy) == []
    assert policy.assigner == "urn:village" and policy.target == "urn:ds"
    assert permits_federation_sharing(policy) is SHAREABLE[name]


def test_missing_and_unknown_parameters_are_refused() -> None:
    with pytest.raises(TemplateError, match="assigner"):
        load_template("non-commercial")
    with pytest.raises(TemplateError, match="amt"):
        load_template("amt-members-only", assigner="urn:v")
    with pytest.raises(TemplateError, match="colour"):
        load_template("non-commercial", assigner="urn:v", colour="red")
    with pytest.raises(TemplateError, match="unknown template"):
        load_template("../pyproject")


def test_optional_parameters_drop_what_they_fill() -> None:
    without = template_document("research-only", assigner="urn:v")
    assert "target" not in without
    assert len(without["permission"][0]["constraint"]) == 1
    with_until = template_document("research-only", assigner="urn:v", until="2026-01-31")
    assert with_until["permission"][0]["constraint"][1]["rightOperand"]["@value"] == "2026-01-31"


def test_defaults_and_types() -> None:
    document = template_document("time-limited-deletion", assigner="urn:v", days=7)
    assert document["permission"][0]["constraint"][0]["rightOperand"]["@value"] == "P7D"
    default = template_document("time-limited-deletion", assigner="urn:v")
    assert default["permission"][0]["constraint"][0]["rightOperand"]["@value"] == "P30D"
    research = template_document("research-only", assigner="urn:gemeinde")
    assert research["permission"][0]["duty"][0]["dct:description"] == "Quelle: urn:gemeinde"


def test_uid_is_derived_from_the_parameters() -> None:
    first = load_template("non-commercial", assigner="urn:v", target="urn:a")
    assert first.uid == load_template("non-commercial", assigner="urn:v", target="urn:a").uid
    assert first.uid != load_template("non-commercial", assigner="urn:v", target="urn:b").uid
    assert load_template("non-commercial", assigner="urn:v", uid="urn:mine").uid == "urn:mine"


def test_problems_are_reported() -> None:
    policy = from_jsonld(
        {
            "@type": "Set",
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {"leftOperand": "industry", "operator": "eq", "rightOperand": "x"}
                    ],
                    "duty": [
                        {
                            "action": "inform",
                            "constraint": [
                                {"leftOperand": "purpose", "operator": "gt", "rightOperand": "x"}
                            ],
                        }
                    ],
                }
            ],
        }
    )
    problems = policy_problems(policy)
    assert len(problems) == 2
    assert "unknown left operand" in problems[0] and "permission[0].duty[0]" in problems[1]


def test_sharing_needs_an_unconditional_distribute() -> None:
    open_data = load("open-data-attribution")
    assert permits_federation_sharing(open_data)
    document = template_document("open-data-attribution", assigner="urn:village")
    document["prohibition"] = [{"action": "distribute"}]
    assert not permits_federation_sharing(from_jsonld(document))
    document["conflict"] = "perm"
    assert permits_federation_sharing(from_jsonld(document))
    document = template_document("open-data-attribution", assigner="urn:village")
    document["permission"][0]["action"] = "read"
    assert not permits_federation_sharing(from_jsonld(document))
