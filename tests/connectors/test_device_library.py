"""The device library: real models with their vendors' field names, codecs and sources."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources

import pytest
from connector_support import BASE

from allmende.connectors.codecs import Codec, CodecRunner
from allmende.connectors.model import DeviceMapping, Observation, parse_time
from allmende.connectors.sosa import map_observations
from allmende.vocab.devices import (
    codec_source,
    field_specs,
    find_model,
    load_model,
    load_profile,
    model_for_version_ids,
    models,
)

NAMES = [m["name"] for m in models()]
AT = parse_time("2024-05-14T08:00:00Z")


def test_at_least_25_models_of_many_brands_and_kinds() -> None:
    assert len(NAMES) >= 25
    brands = Counter(m["brand"] for m in models())
    assert len(brands) >= 7, brands
    kinds = {m["category"] for m in models()}
    assert {
        "climate",
        "co2",
        "door-window",
        "distance",
        "water-level",
        "soil",
        "parking",
        "people-counting",
        "street-light",
        "meter",
        "tracker",
    } <= kinds


@pytest.mark.parametrize("name", NAMES)
def test_model_is_a_complete_profile(name: str) -> None:
    model = load_model(name)
    assert load_profile(name) == model  # a model registers like any profile
    assert model["source"]["licence"] and model["source"]["url"].startswith("http")
    assert model["versionIds"], "The Things Stack names each model"
    mapping = DeviceMapping.from_profile(
        model, device_id=f"sample-{name}", dataset_id="beispiel", base=BASE
    )
    observations = [
        Observation(mapping.device_id, field, value, AT, "json")
        for field, value in model["example"].items()
    ]
    batch = map_observations(observations, {mapping.device_id: mapping}, BASE)
    assert batch.rejections == []
    assert batch.count == len(observations)


@pytest.mark.parametrize("name", NAMES)
def test_numbers_carry_units_and_plausible_ranges(name: str) -> None:
    for field, spec in field_specs(name).items():
        if spec["datatype"] in ("decimal", "integer"):
            assert spec["unit"].startswith("http://qudt.org/vocab/unit/"), field
            bounds = spec["range"]
            assert bounds["min"] < bounds["max"], field


@pytest.mark.parametrize("name", NAMES)
def test_codec_compiles_in_the_sandbox(name: str) -> None:
    source = codec_source(name)
    assert source is not None, f"{name} has no codec"
    assert re.search(r"Licence: EUPL-1\.2", source), "our codecs say their licence"
    CodecRunner().check(Codec(name, source))


def test_every_codec_file_belongs_to_a_model() -> None:
    files = {
        entry.name
        for entry in resources.files("allmende.vocab.devices").joinpath("codecs").iterdir()
        if entry.name.endswith(".js")
    }
    assert files == {load_model(name)["codec"] for name in NAMES}


@pytest.mark.parametrize(
    ("brand", "model", "expected"),
    [
        ("Dragino", "LHT65", "dragino-lht65"),
        ("elsys", "ERS CO2", "elsys-ers-co2"),
        ("ELSYS", "ers-co2", "elsys-ers-co2"),
        ("Milesight", "EM400 MUD", "milesight-em400-mud"),
        ("Decentlab", "dl mbx", "decentlab-dl-mbx"),
    ],
)
def test_models_are_found_as_people_write_them(brand: str, model: str, expected: str) -> None:
    found = find_model(brand, model)
    assert found is not None and found["name"] == expected


def test_unknown_models() -> None:
    assert find_model("Dragino", "LHT99") is None
    assert find_model("Nobody", "LHT65") is None
    with pytest.raises(KeyError):
        load_model("room-climate")  # a generic profile, not a model
    with pytest.raises(KeyError):
        load_model("../codecs/elsys")


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ({"brand_id": "dragino", "model_id": "lht65", "firmware_version": "1.8"}, "dragino-lht65"),
        (
            {"brand_id": "elsys", "model_id": "ers-co2-lite", "band_id": "EU_863_870"},
            "elsys-ers-co2",
        ),
        ({"brand_id": "milesight-iot", "model_id": "am103"}, "milesight-am103"),
        ({"brand_id": "sensative", "model_id": "strips"}, "sensative-strips-comfort"),
        ({"brand_id": "dragino", "model_id": "nope"}, None),
        ({"brand_id": "dragino"}, None),
        (None, None),
    ],
)
def test_models_are_chosen_by_version_ids(ids: dict[str, str] | None, expected: str | None) -> None:
    found = model_for_version_ids(ids)
    assert (found["name"] if found else None) == expected


def test_models_are_fresh_copies() -> None:
    load_model("dragino-lht65")["fields"].clear()
    assert field_specs("dragino-lht65")


def test_the_library_readme_lists_every_model() -> None:
    readme = (
        resources.files("allmende.vocab.devices").joinpath("README.md").read_text(encoding="utf-8")
    )
    for name in NAMES:
        assert f"| `{name}` |" in readme, name
