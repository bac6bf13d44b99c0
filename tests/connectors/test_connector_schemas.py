"""The published JSON Schemas: valid Draft 2020-12, and bounded everywhere."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from allmende.connectors.validation import load_schema

CONNECTOR_SCHEMAS = [
    "ttn.schema.json",
    "chirpstack.schema.json",
    "generic.schema.json",
    "csv_table.schema.json",
]


def all_schemas() -> dict[str, dict[str, Any]]:
    schemas = {name: load_schema(name) for name in CONNECTOR_SCHEMAS}
    text = (
        resources.files("allmende.vocab.devices").joinpath("profile.schema.json").read_text("utf-8")
    )
    schemas["profile.schema.json"] = json.loads(text)
    return schemas


def unbounded(node: Any, path: str = "") -> list[str]:
    """Subschemas that let through strings, arrays or objects of any size."""
    found: list[str] = []
    if isinstance(node, dict):
        kinds = node.get("type", [])
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "string" in kinds and "maxLength" not in node:
            found.append(f"{path} (string)")
        if "array" in kinds and "maxItems" not in node:
            found.append(f"{path} (array)")
        if (
            "object" in kinds
            and "maxProperties" not in node
            and node.get("additionalProperties") is not False
        ):
            found.append(f"{path} (object)")
        for key, child in node.items():
            if key != "if":  # a condition bounds nothing and lets nothing through
                found += unbounded(child, f"{path}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += unbounded(child, f"{path}/{index}")
    return found


@pytest.mark.parametrize("name", sorted(all_schemas()))
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = all_schemas()[name]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(all_schemas()))
def test_every_string_array_and_object_is_bounded(name: str) -> None:
    assert unbounded(all_schemas()[name]) == []
