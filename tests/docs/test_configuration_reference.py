"""The committed configuration reference is the one the settings model writes today."""

from __future__ import annotations

from pathlib import Path

from allmende.node.config import _SECTIONS, env_name
from allmende.node.config_reference import missing_descriptions, render

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "configuration.md"


def test_committed_reference_is_current() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "docs/reference/configuration.md is out of date: "
        "python -m allmende.node.config_reference > docs/reference/configuration.md"
    )


def test_every_setting_says_what_it_does() -> None:
    assert missing_descriptions() == [], "add Field(description=...) in node/config.py"


def test_every_environment_variable_the_node_reads_is_listed() -> None:
    text = render()
    for section, model in _SECTIONS.items():
        for key in model.model_fields:
            assert f"`{env_name(section, key)}`" in text
            assert f"| `{key}` |" in text
