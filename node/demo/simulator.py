"""Simulated LoRaWAN sensors: uplinks in The Things Stack v3 webhook format, as a network
server would post them, with values that drift the way real rooms and car parks do."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import Any

from allmende.node.demo.villages import Sensor


def _decoded(sensor: Sensor, moment: datetime, rng: random.Random) -> dict[str, Any]:
    hour = moment.hour + moment.minute / 60
    if sensor.profile == "room-climate":
        return {
            "temperature": round(
                14 + 3 * math.sin((hour - 9) / 24 * 2 * math.pi) + rng.gauss(0, 0.2), 1
            ),
            "humidity": round(
                min(99.0, 62 + 8 * math.cos(hour / 24 * 2 * math.pi) + rng.gauss(0, 1)), 1
            ),
            "battery": round(3.6 - rng.random() * 0.05, 2),
        }
    if sensor.profile == "parking-occupancy":
        busy = 0.7 if 8 <= hour <= 18 else 0.2
        return {"occupied": rng.random() < busy, "battery": round(3.5 - rng.random() * 0.05, 2)}
    if sensor.profile == "street-light":
        dark = hour >= 17 or hour < 7
        on = dark and rng.random() < 0.6
        return {"lamp_on": on, "dim_level": 80 if on else 0, "power": 24.5 if on else 0.4}
    raise ValueError(f"no simulation for profile {sensor.profile!r}")


def uplink(
    sensor: Sensor, counter: int, rng: random.Random, moment: datetime | None = None
) -> dict[str, Any]:
    """One TTN v3 uplink message of `sensor`, frame counter `counter`."""
    moment = moment or datetime.now(UTC)
    stamp = moment.isoformat().replace("+00:00", "Z")
    return {
        "end_device_ids": {
            "device_id": sensor.device_id,
            "application_ids": {"application_id": "sample-allmende-demo"},
        },
        "received_at": stamp,
        "uplink_message": {
            "f_port": 2,
            "f_cnt": counter,
            "decoded_payload": _decoded(sensor, moment, rng),
            "rx_metadata": [
                {
                    "gateway_ids": {"gateway_id": "sample-demo-gw-01"},
                    "rssi": -90 - rng.randint(0, 20),
                    "snr": round(rng.uniform(-5, 9), 2),
                    "received_at": stamp,
                }
            ],
            "received_at": stamp,
            "locations": {
                "user": {
                    "latitude": sensor.lat,
                    "longitude": sensor.lon,
                    "source": "SOURCE_REGISTRY",
                }
            },
        },
    }
