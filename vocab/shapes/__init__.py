"""SHACL shapes of Allmende's profiles (Turtle files next to this module)."""

from __future__ import annotations

from importlib import resources

DCAT_AP_DE_PROFILE = "allmende-dcat-ap-de.ttl"


def shapes_text(name: str = DCAT_AP_DE_PROFILE) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
