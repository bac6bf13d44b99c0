"""The device library: generic profiles and real device models, kept as data (JSON).

A profile says how one kind of device's decoded payload maps to linked data (see
`profile.schema.json`); the node combines it with one device's id, location and dataset
(`connectors.model.DeviceMapping.from_profile`). Observable properties come from the CF
standard names (NERC vocabulary server) where one fits, from our own namespace where
none does; units and quantity kinds are QUDT.

Generic profiles (`room-climate`, ...) expect our own field names. A **device model**
(`models/<name>.json`) is a profile of one real product: its fields are the names its
vendor's public decoder really emits (`TempC_SHT`, `co2`, `vdd` ...), each with property,
unit, datatype, optional `scale`/`offset` and plausible `range`; it names The Things
Stack's `versionIds` that identify it, its codec (`codecs/<file>.js`, The Things Network
device repository's `decodeUplink` format) and the source and licence of both. A model
is a valid profile, so a device may be registered with a model's name as its profile.

API (for the node's ingest, console and CLI):

- `models()` -> summaries of every model (`name`, `brand`, `model`, `category`,
  `firmware`, `label`, `codec`: bool), sorted by brand and model: to offer by name.
- `load_model(name)` -> the full model entry (a fresh copy); `KeyError` if unknown.
- `find_model(brand, model, firmware=None)` -> the entry for a brand and model as people
  write them (case, spaces and dashes ignored: "Elsys", "ERS CO2"), preferring one that
  lists `firmware`; None if unknown.
- `model_for_version_ids(version_ids)` -> the entry The Things Stack's
  `end_device.version_ids` (`brand_id`, `model_id`, `firmware_version`, `band_id`) name,
  the most specific match first; None if none.
- `field_specs(name)` -> `{field: spec}` of a model or profile: the defaults for a
  device's field mapping (property, unit, datatype, scale, offset, range).
- `codec_source(name)` -> the model's codec (JavaScript) or None.
- `list_profiles()` / `load_profile(name)` -> every profile and model name / entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_FILE = "profile.schema.json"
MODELS = "models"
CODECS = "codecs"
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_LOOSE = re.compile(r"[^a-z0-9]+")


def _files() -> Any:
    return resources.files(__name__)


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(_files().joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _names(folder: Any) -> list[str]:
    return sorted(
        entry.name.removesuffix(".json")
        for entry in folder.iterdir()
        if entry.name.endswith(".json") and entry.name != SCHEMA_FILE
    )


@cache
def _generic() -> tuple[str, ...]:
    return tuple(_names(_files()))


@cache
def _model_texts() -> dict[str, str]:
    folder = _files().joinpath(MODELS)
    return {
        name: folder.joinpath(f"{name}.json").read_text(encoding="utf-8") for name in _names(folder)
    }


def list_profiles() -> list[str]:
    """Names of every profile and device model shipped, sorted."""
    return sorted((*_generic(), *_model_texts()))


def load_profile(name: str) -> dict[str, Any]:
    """A profile or model by name, validated against the profile schema; a fresh copy
    each time, so callers may change it. Raises `KeyError` for unknown names."""
    if not _NAME.match(name):
        raise KeyError(f"no device profile named {name[:64]!r}")
    if name in _model_texts():
        return load_model(name)
    if name not in _generic():
        raise KeyError(f"no device profile named {name[:64]!r}")
    profile: dict[str, Any] = json.loads(
        _files().joinpath(f"{name}.json").read_text(encoding="utf-8")
    )
    _validator().validate(profile)
    return profile


@cache
def _checked_model(name: str) -> str:
    text = _model_texts()[name]
    entry = json.loads(text)
    _validator().validate(entry)
    if entry["name"] != name or "brand" not in entry:
        raise ValueError(f"models/{name}.json must name itself {name!r} and its brand")
    return text


def load_model(name: str) -> dict[str, Any]:
    """A device model by name (a fresh copy); `KeyError` if there is none."""
    if not isinstance(name, str) or not _NAME.match(name) or name not in _model_texts():
        raise KeyError(f"no device model named {str(name)[:64]!r}")
    model: dict[str, Any] = json.loads(_checked_model(name))
    return model


def models() -> list[dict[str, Any]]:
    """A summary of every model, sorted by brand and model: what to offer by name."""
    out = []
    for name in _model_texts():
        entry = load_model(name)
        out.append(
            {
                "name": name,
                "brand": entry["brand"],
                "model": entry["model"],
                "category": entry["category"],
                "firmware": entry.get("firmware", []),
                "label": entry["label"],
                "codec": "codec" in entry,
            }
        )
    return sorted(out, key=lambda m: (m["brand"].lower(), m["model"].lower()))


def _loose(text: str) -> str:
    return _LOOSE.sub("", text.lower())


def find_model(brand: str, model: str, firmware: str | None = None) -> dict[str, Any] | None:
    """The model for a brand and model name as people write them, or None."""
    wanted = (_loose(brand), _loose(model))
    found = [
        entry
        for entry in (load_model(name) for name in _model_texts())
        if (_loose(entry["brand"]), _loose(entry["model"])) == wanted
    ]
    if firmware is not None:
        found.sort(key=lambda entry: firmware not in entry.get("firmware", []))
    return found[0] if found else None


def model_for_version_ids(version_ids: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The model The Things Stack's end-device version identifiers name, or None.

    `brand_id` and `model_id` must match; where an entry also gives `firmware_version`,
    `hardware_version` or `band_id`, those must match too, and the entry matching most
    of them wins.
    """
    if not isinstance(version_ids, Mapping):
        return None
    brand, model = version_ids.get("brand_id"), version_ids.get("model_id")
    if not isinstance(brand, str) or not isinstance(model, str):
        return None
    best: tuple[int, str] | None = None
    for name, ids in _version_index():
        if ids["brand_id"] != brand.lower() or ids["model_id"] != model.lower():
            continue
        extra = [k for k in ids if k not in ("brand_id", "model_id")]
        if any(str(version_ids.get(k, "")).lower() != ids[k] for k in extra):
            continue
        if best is None or len(extra) > best[0]:
            best = (len(extra), name)
    return load_model(best[1]) if best else None


@cache
def _version_index() -> tuple[tuple[str, dict[str, str]], ...]:
    index = []
    for name in _model_texts():
        for ids in load_model(name).get("versionIds", []):
            index.append((name, {k: str(v).lower() for k, v in ids.items()}))
    return tuple(index)


def field_specs(name: str) -> dict[str, dict[str, Any]]:
    """The fields of a model or profile: defaults for a device's field mapping."""
    fields: dict[str, dict[str, Any]] = load_profile(name)["fields"]
    return fields


@cache
def _codec_text(file: str) -> str:
    return _files().joinpath(CODECS).joinpath(file).read_text(encoding="utf-8")


def codec_source(name: str) -> str | None:
    """The JavaScript codec of a model, or None when the model has none."""
    file = load_model(name).get("codec")
    return _codec_text(file) if file else None
