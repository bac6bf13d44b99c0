"""The app manifest: what an app is, who makes it, and what it needs — checked on registration.

A manifest travels in the client metadata (RFC 7591 allows extensions) as `allmende_manifest`.
What it needs becomes the app's scopes: `dataset:<id>` per dataset (with the purpose under
which the app accepts that dataset's ODRL offer) and one scope per action.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

ACTIONS: dict[str, dict[str, str]] = {
    "lights:switch": {
        "de": "Straßenlaternen für Sie einschalten",
        "en": "switch street lights on for you",
    },
    "reports:write": {
        "de": "Mängelmeldungen in Ihrem Namen abgeben",
        "en": "file defect reports on your behalf",
    },
    "reports:read": {
        "de": "Ihre eigenen Mängelmeldungen lesen",
        "en": "read your own defect reports",
    },
}
"""The actions an app may ask for, with what the consent page says about each."""
DATASET_SCOPE = "dataset:"
FIELD = "allmende_manifest"
_URL = {"type": "string", "format": "uri", "pattern": "^https?://", "maxLength": 2000}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "description", "developer", "version", "privacy_policy"],
    "additionalProperties": False,
    "properties": {
        "name": _TEXT,
        "description": {"type": "string", "minLength": 1, "maxLength": 4000},
        "developer": {
            "type": "object",
            "required": ["id", "name"],
            "additionalProperties": False,
            "properties": {
                "id": {
                    "type": "string",
                    "pattern": "^(https://|did:web:)",
                    "maxLength": 300,
                    "description": "the developer's https URI or did:web, the agreements' assignee",
                },
                "name": _TEXT,
                "email": {"type": "string", "format": "email", "maxLength": 300},
                "homepage": _URL,
            },
        },
        "homepage": _URL,
        "privacy_policy": _URL,
        "icon": _URL,
        "version": {"type": "string", "pattern": r"^[0-9A-Za-z.+-]{1,64}$"},
        "datasets": {
            "type": "array",
            "maxItems": 20,
            "items": {
                "type": "object",
                "required": ["dataset", "purpose", "offer"],
                "additionalProperties": False,
                "properties": {
                    "dataset": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
                    "purpose": {"type": "string", "minLength": 1, "maxLength": 300},
                    "offer": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 300,
                        "description": "the uid of the dataset's ODRL offer the app accepts",
                    },
                },
            },
        },
        "actions": {
            "type": "array",
            "maxItems": len(ACTIONS),
            "uniqueItems": True,
            "items": {"enum": sorted(ACTIONS)},
        },
    },
}
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(manifest: Any) -> list[str]:
    """What is wrong with a manifest, one line per field; empty when it fits."""
    found = []
    for error in VALIDATOR.iter_errors(manifest):
        where = "/".join(map(str, error.absolute_path))
        found.append(f"{FIELD}/{where}: {error.message}" if where else f"{FIELD}: {error.message}")
    return found


def scopes(manifest: dict[str, Any]) -> list[str]:
    """The scopes a manifest asks for, in a stable order."""
    found = [DATASET_SCOPE + item["dataset"] for item in manifest.get("datasets", [])]
    return sorted(set(found)) + sorted(set(manifest.get("actions", [])))


def dataset_of(scope: str) -> str | None:
    return scope.removeprefix(DATASET_SCOPE) if scope.startswith(DATASET_SCOPE) else None
