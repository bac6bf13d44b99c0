"""Ready-made device profiles for common municipal sensors, kept as data (JSON).

A profile says how one kind of device's decoded payload maps to linked data (see
`profile.schema.json`); the node combines it with one device's id, location and dataset
(`connectors.model.DeviceMapping.from_profile`). Observable properties come from the CF
standard names (NERC vocabulary server) where one fits, from our own namespace where
none does; units and quantity kinds are QUDT.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_FILE = "profile.schema.json"
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")


def _files() -> Any:
    return resources.files(__name__)


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(_files().joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def list_profiles() -> list[str]:
    """Names of the profiles shipped, sorted."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in _files().iterdir()
        if entry.name.endswith(".json") and entry.name != SCHEMA_FILE
    )


def load_profile(name: str) -> dict[str, Any]:
    """A profile by name, validated against the profile schema; a fresh copy each time,
    so callers may change it. Raises `KeyError` for unknown names."""
    if not _NAME.match(name) or name not in list_profiles():
        raise KeyError(f"no device profile named {name[:64]!r}")
    profile: dict[str, Any] = json.loads(
        _files().joinpath(f"{name}.json").read_text(encoding="utf-8")
    )
    _validator().validate(profile)
    return profile
