"""The shared connector types: times, device ids, JSON round trips, mapping checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from connector_support import BASE, mapping_for

from allmende.connectors.model import (
    DeviceMapping,
    FieldMapping,
    Observation,
    PayloadRejected,
    Provenance,
    Rejection,
    canonical_device_id,
    format_time,
    parse_time,
)


def test_parse_time_takes_rfc3339_with_offset_and_nanoseconds() -> None:
    assert parse_time("2024-05-14T08:15:02.334512998Z") == datetime(
        2024, 5, 14, 8, 15, 2, 334512, tzinfo=UTC
    )
    assert parse_time("2024-05-14T10:15:02+02:00") == datetime(2024, 5, 14, 8, 15, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["2024-05-14", "2024-05-14T08:15:02", "14.05.2024 08:15", "2024-13-14T08:15:02Z", "x" * 100],
)
def test_parse_time_refuses_what_is_not_an_instant(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_format_time_is_one_spelling_per_instant() -> None:
    assert format_time(parse_time("2024-05-14T10:15:02+02:00")) == "2024-05-14T08:15:02.000000Z"


def test_canonical_device_id_lowercases_only_euis() -> None:
    assert canonical_device_id("70B3D57ED00AB001") == "70b3d57ed00ab001"
    assert canonical_device_id("Sample-Pegel-01") == "Sample-Pegel-01"


def test_observation_json_round_trip() -> None:
    observation = Observation(
        device_id="70b3d57ed00ab001",
        field="temperature",
        value=21.4,
        result_time=parse_time("2024-05-14T08:15:02.334512Z"),
        source="ttn",
        phenomenon_time=parse_time("2024-05-14T08:15:00Z"),
        provenance=Provenance(
            network_server="eu1.cloud.thethings.network",
            gateway_ids=("b827ebfffe5a0001",),
            rssi=-97,
            f_cnt=1834,
        ),
        path="/uplink_message/decoded_payload/temperature",
    )
    data = observation.to_json()
    assert data == {
        "device": "70b3d57ed00ab001",
        "field": "temperature",
        "value": 21.4,
        "resultTime": "2024-05-14T08:15:02.334512Z",
        "source": "ttn",
        "phenomenonTime": "2024-05-14T08:15:00.000000Z",
        "provenance": {
            "network_server": "eu1.cloud.thethings.network",
            "gateway_ids": ["b827ebfffe5a0001"],
            "rssi": -97,
            "f_cnt": 1834,
        },
    }
    assert Observation.from_json(data) == observation


def test_payload_rejected_names_the_first_problem() -> None:
    error = PayloadRejected([Rejection("/a/b", "is required", "schema")])
    assert str(error) == "/a/b: is required"
    assert error.rejections[0].to_json() == {
        "path": "/a/b",
        "reason": "is required",
        "code": "schema",
    }


def test_from_profile_builds_iris_under_base() -> None:
    mapping = mapping_for("room-climate", "70B3D57ED00AB001", "raumklima", lat=54.6345, lon=9.1987)
    assert mapping.device_id == "70b3d57ed00ab001"
    assert mapping.sensor == f"{BASE}/sensors/70b3d57ed00ab001"
    assert mapping.platform == f"{BASE}/platforms/70b3d57ed00ab001"
    assert mapping.profile == "room-climate"
    temperature = mapping.fields["temperature"]
    assert temperature.feature_of_interest == f"{BASE}/features/70b3d57ed00ab001"
    assert temperature.unit == "http://qudt.org/vocab/unit/DEG_C"
    assert temperature.datatype == "decimal"
    # the battery is a property of the device itself
    assert mapping.fields["battery"].feature_of_interest == mapping.platform


def test_from_profile_percent_encodes_device_ids_and_takes_a_feature() -> None:
    mapping = mapping_for(
        "water-level",
        "Pegel Mühlenau/1",
        "pegel",
        feature_of_interest=f"{BASE}/gewaesser/muehlenau",
    )
    assert mapping.sensor == f"{BASE}/sensors/Pegel%20M%C3%BChlenau%2F1"
    assert mapping.fields["water_level"].feature_of_interest == f"{BASE}/gewaesser/muehlenau"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lat": 54.6}, "both lat and lon"),
        ({"lat": 91.0, "lon": 9.0}, "lat must be"),
        ({"lat": 54.0, "lon": 181.0}, "lon must be"),
        ({"dataset_id": "../etc"}, "dataset id"),
        ({"sensor": "not an iri"}, "IRI"),
        ({"platform": "relative/path"}, "IRI"),
    ],
)
def test_device_mapping_refuses_impossible_values(changes: dict[str, object], message: str) -> None:
    fields = {
        "temperature": FieldMapping(
            observable_property="http://vocab.nerc.ac.uk/standard_name/air_temperature/",
            datatype="decimal",
            feature_of_interest=f"{BASE}/features/x",
            unit="http://qudt.org/vocab/unit/DEG_C",
        )
    }
    arguments: dict[str, object] = {
        "device_id": "x",
        "dataset_id": "raumklima",
        "sensor": f"{BASE}/sensors/x",
        "platform": f"{BASE}/platforms/x",
        "fields": fields,
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        DeviceMapping(**arguments)  # type: ignore[arg-type]


def test_field_mapping_refuses_unknown_datatypes() -> None:
    with pytest.raises(ValueError, match="datatype"):
        FieldMapping(
            observable_property=f"{BASE}/p",
            datatype="float",  # type: ignore[arg-type]
            feature_of_interest=f"{BASE}/f",
        )
