"""The ready-made device profiles: valid, complete, and usable as they are."""

from __future__ import annotations

import pytest
from connector_support import BASE

from allmende.connectors.model import DeviceMapping, Observation, parse_time
from allmende.connectors.sosa import map_observations
from allmende.vocab.devices import list_profiles, load_profile, models

EXPECTED = {
    "parking-occupancy",
    "room-climate",
    "soil-moisture",
    "street-light",
    "water-level",
    "water-level-m",
}


def test_the_common_municipal_sensors_are_there() -> None:
    """The generic profiles, and beside them the device library's models."""
    assert set(list_profiles()) == EXPECTED | {m["name"] for m in models()}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_example_maps_completely(name: str) -> None:
    profile = load_profile(name)
    assert profile["name"] == name
    assert set(profile["example"]) <= set(profile["fields"])
    mapping = DeviceMapping.from_profile(
        profile, device_id=f"sample-{name}", dataset_id="beispiel", base=BASE, lat=54.6, lon=9.2
    )
    at = parse_time("2024-05-14T08:00:00Z")
    observations = [
        Observation(mapping.device_id, field, value, at, "json")
        for field, value in profile["example"].items()
    ]
    batch = map_observations(observations, {mapping.device_id: mapping}, BASE)
    assert batch.rejections == []
    assert batch.count == len(observations)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_numbers_carry_qudt_units(name: str) -> None:
    for field in load_profile(name)["fields"].values():
        if field["datatype"] in ("decimal", "integer"):
            assert field["unit"].startswith("http://qudt.org/vocab/unit/")
        else:
            assert "unit" not in field


def test_profiles_are_fresh_copies() -> None:
    load_profile("room-climate")["fields"].clear()
    assert load_profile("room-climate")["fields"]


@pytest.mark.parametrize("name", ["nope", "../connectors/ttn.schema", "profile.schema", ""])
def test_unknown_profiles(name: str) -> None:
    with pytest.raises(KeyError):
        load_profile(name)
