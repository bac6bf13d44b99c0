"""Readings sent as lists of samples (Adeunis): the newest becomes the observation, at the
uplink's time, when the decoder says the list runs newest first; otherwise the list is
reported as before. And the Adeunis COMFORT 2 codec on frames besides the vendor's example."""

from __future__ import annotations

from typing import Any

from allmende.connectors.codecs import Codec, CodecFailed, CodecRunner
from allmende.connectors.lorawan import decoded_observations
from allmende.connectors.model import Provenance, parse_time
from allmende.vocab.devices import codec_source

AT = parse_time("2024-05-13T09:05:11Z")
RUNNER = CodecRunner()


def observe(decoded: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    found, refused = decoded_observations(
        decoded,
        device_id="0018b2000000ad01",
        result_time=AT,
        source="ttn",
        provenance=Provenance(),
        path="/decoded",
    )
    assert all(o.result_time == AT for o in found)
    return {o.field: (o.value, o.path) for o in found}, {r.path: r.code for r in refused}


def test_the_newest_sample_of_a_list_the_decoder_orders_is_the_reading() -> None:
    found, refused = observe(
        {
            "bytes": {
                "decodingInfo": "values: [t=0, t-1, t-2, ...]",
                "temperature": {"unit": "°C", "values": [-3.5, 19.9, 20]},
                "humidity": {"values": []},
            }
        }
    )
    assert found["bytes.temperature.values"] == (-3.5, "/decoded/bytes/temperature/values/0")
    assert "bytes.humidity.values" not in found
    assert refused == {"/decoded/bytes/humidity/values": "empty"}


def test_a_list_without_a_stated_order_is_reported() -> None:
    found, refused = observe({"temperature": {"values": [19.7, 19.9]}, "decodingInfo": "v1"})
    assert "temperature.values" not in found
    assert refused == {"/decoded/temperature/values": "bad-value"}


def decode(hexs: str) -> dict[str, Any]:
    source = codec_source("adeunis-comfort2")
    assert source is not None
    return RUNNER.decode(Codec("adeunis-comfort2", source), bytes.fromhex(hexs), 1, AT).data


def test_the_comfort2_codec_reads_frames_without_timestamp_and_below_zero() -> None:
    # status 0x20: frame counter 1, no timestamp; -12.3 degC (0xFF85), 87 %; 21.0 degC, 40 %
    data = decode("4C20FF855700D228")["bytes"]
    assert data["temperature"]["values"] == [-12.3, 21]
    assert data["humidity"]["values"] == [87, 40]
    assert "timestamp" not in data and data["status"]["frameCounter"] == 1


def test_the_comfort2_codec_refuses_a_broken_frame() -> None:
    try:
        decode("4C2000C5")
    except CodecFailed as failure:
        assert "groups of three bytes" in failure.reason
    else:
        raise AssertionError("a frame with a partial sample decoded")
