"""Plain-words explanations follow the rules of the policy, in both languages."""

from __future__ import annotations

from allmende.policies.explain import explain
from allmende.policies.templates import load_template

BASE = "https://struckum.example"


def test_research_only_in_german_and_english() -> None:
    policy = load_template(
        "research-only", assigner=BASE + "/", target=BASE + "/datasets/x", until="2027-12-31"
    )
    german = explain(policy, "de")
    assert german[0].startswith("Die Daten dürfen nur zu Forschungszwecken")
    assert (
        "Erlaubt: nutzen – unter der Bedingung: der Zweck ist eine Art von Forschung" in german[1]
    )
    assert "der Zeitpunkt ist höchstens 31.12.2027" in german[1]
    assert german[2].startswith("Dabei Pflicht: die Quelle nennen")
    english = explain(policy, "en")
    assert "Allowed: use if the purpose is a kind of research" in english[1]


def test_every_template_is_explained_without_raw_iris() -> None:
    from allmende.policies.templates import list_templates

    for info in list_templates():
        params = {"assigner": BASE + "/", "target": BASE + "/datasets/x"}
        if info.name == "amt-members-only":
            params["amt"] = "010545445"
        for language in ("de", "en"):
            sentences = explain(load_template(info.name, **params), language)
            assert len(sentences) >= 2, info.name
            assert not any("http://www.w3.org/ns/odrl" in s for s in sentences), (
                info.name,
                sentences,
            )
