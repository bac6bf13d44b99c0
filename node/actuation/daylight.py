"""Is it dark at the segment? The sun's elevation at its place (astral), not a fixed clock.

Civil twilight ends at -6°: below it street lighting is needed, above it a switching
request only burns energy."""

from __future__ import annotations

from datetime import datetime

from astral import Observer
from astral.sun import elevation

TWILIGHT = -6.0


def is_light(lat: float, lon: float, when: datetime) -> bool:
    return float(elevation(Observer(latitude=lat, longitude=lon), when)) > TWILIGHT
