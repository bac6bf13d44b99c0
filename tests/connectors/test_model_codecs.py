"""Each codec of the device library decodes a payload built from its vendor's documented
byte layout into the documented values (the corpus, tests/data/uplinks/, adds the
vendors' own examples end to end)."""

from __future__ import annotations

from typing import Any

import pytest

from allmende.connectors.codecs import Codec, CodecFailed, CodecRunner
from allmende.connectors.model import parse_time
from allmende.vocab.devices import codec_source, load_model, models

AT = parse_time("2024-05-14T08:00:00Z")
RUNNER = CodecRunner()

# model, fPort, payload (hex, as laid out in the vendor's document), expected members
CASES: list[tuple[str, int, str, dict[str, Any]]] = [
    # BAT 0x0CE4 = 3300 mV | DS18B20 0x00F5 = 24.5 | moisture 0x0A12 = 25.78 % |
    # soil temperature 0x04B0 = 12.00 | conductivity 0x0140 = 320 uS/cm | flags 0x80
    (
        "dragino-lse01",
        2,
        "0CE400F50A1204B0014080",
        {
            "Bat": 3.3,
            "TempC_DS18B20": 24.5,
            "water_SOIL": 25.78,
            "temp_SOIL": 12,
            "conduct_SOIL": 320,
        },
    ),
    # BAT 0x0D4A = 3402 mV | distance 0x0431 = 1073 mm | interrupt 0 | temp 0x0105 = 26.1 | flag 1
    (
        "dragino-ldds75",
        2,
        "0D4A0431000105" + "01",
        {
            "Bat": 3.402,
            "Distance": 1073,
            "Interrupt_flag": 0,
            "TempC_DS18B20": 26.1,
            "Sensor_flag": 1,
        },
    ),
    # bit 15 door open, BAT 0x0BB8 = 3000 mV | MOD 1 | 12 openings | last open 3 min | no alarm
    (
        "dragino-lds02",
        10,
        "8BB8" + "01" + "00000C" + "000003" + "00",
        {"DOOR_OPEN_STATUS": 1, "BAT_V": 3.0, "DOOR_OPEN_TIMES": 12, "LAST_DOOR_OPEN_DURATION": 3},
    ),
    # latitude 54646123e-6 = 0x0341D56B | longitude 8965432e-6 = 0x0088CD38 | BAT 3900 mV
    (
        "dragino-lgt92",
        2,
        "0341D56B" + "0088CD38" + "0F3C" + "40",
        {"latitude": 54.646123, "longitude": 8.965432, "BatV": 3.9, "ALARM_status": "FALSE"},
    ),
    # 01 temperature 0x00D2 = 21.0 | 02 humidity 40 | 15 sound peak 68, average 45 | 07 VDD 3600
    (
        "elsys-ers-sound",
        5,
        "0100D2" + "0228" + "15442D" + "070E10",
        {"temperature": 21.0, "humidity": 40, "soundPeak": 68, "soundAvg": 45, "vdd": 3600},
    ),
    # 0C external 0x003D = 6.1 | 0E distance 0x05F0 = 1520 mm | 14 pressure 0x000F7602 = 1013.25
    (
        "elsys-elt-2",
        5,
        "0C003D" + "0E05F0" + "14000F7602",
        {"externalTemperature": 6.1, "distance": 1520, "pressure": 1013.25},
    ),
    # 0D digital 1 | 0B pulse absolute 0x00000011 = 17 | 0F acc motion 2
    (
        "elsys-ems-door",
        5,
        "0D01" + "0B00000011" + "0F02",
        {"digital": 1, "pulseAbs": 17, "accMotion": 2},
    ),
    # battery 100 | button short press
    ("milesight-ws101", 85, "017564" + "FF2E01", {"battery": 100, "press": "short"}),
    # battery 100 | magnet open | installed
    (
        "milesight-ws301",
        85,
        "017564" + "030001" + "040000",
        {"battery": 100, "magnet_status": "open", "tamper_status": "installed"},
    ),
    # battery 100 | temperature 27 01 -> 0x0127 = 29.5 | distance 0E 01 -> 270 mm | normal
    (
        "milesight-em400-mud",
        85,
        "017564" + "03672701" + "04820E01" + "050000",
        {"battery": 100, "temperature": 29.5, "distance": 270, "position": "normal"},
    ),
    # temperature B8 00 -> 184 = 18.4 | moisture 0x3F = 63 x 0.5 = 31.5 | EC 09 01 -> 265
    (
        "milesight-em500-smtc",
        85,
        "0367B800" + "04683F" + "057F0901",
        {"temperature": 18.4, "humidity": 31.5, "conductivity": 265},
    ),
    # 12 people counted, 4 regions
    ("milesight-vs121", 85, "04C90C040000", {"people_counter_all": 12, "region_count": 4}),
    # 229.7 V | 120 W | power factor 98 % | 5321 Wh | 540 mA | switch 1 on, others off
    (
        "milesight-ws558",
        85,
        "0374F908" + "048078000000" + "058162" + "0683C9140000" + "07C91C02" + "08310001",
        {
            "voltage": 229.7,
            "active_power": 120,
            "power_factor": 98,
            "power_consumption": 5321,
            "total_current": 540,
            "switch_1": "on",
            "switch_2": "off",
            "switch_8": "off",
        },
    ),
    # version 2, device 0x0102 = 258, flags 0x0003 | distance 1000 mm, 9 samples | 3000 mV
    (
        "decentlab-dl-mbx",
        1,
        "02" + "0102" + "0003" + "03E8" + "0009" + "0BB8",
        {
            "device_id": 258,
            "distance": {"value": 1000},
            "number_of_valid_samples": {"value": 9},
            "battery_voltage": {"value": 3.0},
        },
    ),
    # status 1 | battery (25 + 11) / 10 | board 0x37 - 32 = 23 | humidity 43 | eCO2 0x026C = 620
    # (little-endian) | VOC 0x0078 = 120 | IAQ 0x0036 = 54 | temperature 0x37 - 32 = 23
    (
        "browan-tbhv110",
        103,
        "010B372B6C02780036" + "00" + "37",
        {
            "status": 1,
            "battery": 3.6,
            "temperatureBoard": 23,
            "humidity": 43,
            "eco2": 620,
            "voc": 120,
            "iaq": 54,
            "temperature": 23,
        },
    ),
    # occupied | 3.6 V | board 0x36 - 32 = 22 | 5 min since motion | 142 motions (little-endian)
    (
        "browan-tbms100",
        102,
        "010B3605008E0000",
        {"status": 1, "battery": 3.6, "temperatureBoard": 22, "time": 5, "count": 142},
    ),
    # version 1, R311A (0x02), report 1 | 0x1E = 3.0 V | contact open
    ("netvox-r311a", 6, "0102011E01000000000000", {"Volt": 3.0, "OnOff": 1}),
    # sequence 1 | 01 battery 100 % | 02 temperature 0x00D5 = 21.3 | 06 humidity 0x59 / 2 = 44.5
    # | 07 lux 0x0078 = 120
    (
        "sensative-strips-comfort",
        1,
        "0001" + "0164" + "0200D5" + "0659" + "070078",
        {
            "battery": 100,
            "temperature": {"value": 21.3},
            "humidity": {"value": 44.5},
            "lux": {"value": 120},
        },
    ),
    # sequence 2 | 09 door closed (1) | 11 (17) door count 4
    (
        "sensative-strips-guard",
        1,
        "0002" + "0901" + "110004",
        {"door": {"value": True}, "doorCount": {"value": 4}},
    ),
    # parking status: bit 7 occupied, previous state lasted 45 min
    ("nwave-nps405", 1, "AD", {"occupied": True, "previous_state_duration": 45}),
    # heartbeat: occupied | 2500 + 250 x 4 mV = 3.5 V | 5 / 2 + 10 = 12.5 degC
    (
        "nwave-nps405",
        2,
        "80FA05",
        {"occupied": True, "battery_voltage": 3.5, "temperature": 12.5},
    ),
    # 03 67 temperature 0x0126 = 29.4 degC | 04 68 humidity 0x33 / 2 = 25.5 % |
    # 00 BA battery 0x0BD1 = 3025 mV (Tektelic's published example)
    (
        "tektelic-comfort",
        10,
        "0367012604683300BA0BD1",
        {"ambient_temperature": 29.4, "relative_humidity": 25.5, "battery_voltage": 3.025},
    ),
]


@pytest.mark.parametrize(("model", "port", "payload", "expected"), CASES)
def test_codec_decodes_the_documented_layout(
    model: str, port: int, payload: str, expected: dict[str, Any]
) -> None:
    source = codec_source(model)
    assert source is not None
    data = RUNNER.decode(Codec(model, source), bytes.fromhex(payload), port, AT).data
    for name, value in expected.items():
        wanted = pytest.approx(value) if isinstance(value, float) else value
        assert data[name] == wanted, name


def test_dl_sht35_applies_the_documented_conversion() -> None:
    source = codec_source("decentlab-dl-sht35")
    assert source is not None
    # x0 = 0x6666: 175 * 26214 / 65535 - 45; x1 = 0x8000: 100 * 32768 / 65535; 2982 mV
    data = RUNNER.decode(
        Codec("dl-sht35", source), bytes.fromhex("0201020003" + "6666" + "8000" + "0BA6"), 1, AT
    ).data
    assert data["air_temperature"]["value"] == pytest.approx(175 * 26214 / 65535 - 45)
    assert data["air_humidity"]["value"] == pytest.approx(100 * 32768 / 65535)
    assert data["battery_voltage"]["value"] == pytest.approx(2.982)


def test_every_codec_file_is_exercised() -> None:
    tested = {case[0] for case in CASES} | {"decentlab-dl-sht35"}
    tested |= {"dragino-lht65", "elsys-ers-co2", "milesight-em300-th", "netvox-r718ab"}  # corpus
    tested |= {"adeunis-comfort2"}  # test_sample_lists, vendor examples
    files = {load_model(m["name"])["codec"] for m in models()}
    assert files == {load_model(name)["codec"] for name in tested}


@pytest.mark.parametrize(
    ("model", "port", "payload"),
    [
        ("dragino-lht65", 3, "CBF60ABB025C010ADD7FFF"),
        ("dragino-lse01", 2, "0CE4"),
        ("elsys-ers", 5, "0100"),
        ("milesight-em300-th", 85, "0367"),
        ("decentlab-dl-mbx", 1, "01010200"),
        ("browan-tbms100", 103, "010B3605008E0000"),
        ("sensative-strips-comfort", 1, "000102"),
    ],
)
def test_malformed_payloads_are_reported_not_guessed(model: str, port: int, payload: str) -> None:
    source = codec_source(model)
    assert source is not None
    with pytest.raises(CodecFailed) as failed:
        RUNNER.decode(Codec(model, source), bytes.fromhex(payload), port, AT)
    assert failed.value.code == "codec-errors"
