"""Sample boundaries of the three demo villages: drawn by hand around their demo coordinates,
NOT the official municipal borders (those come from BKG VG250 or OpenStreetMap).

They share their borders, so that a spot belongs to exactly one of them, as real
neighbouring municipalities do: Lütjenholm north, Bredstedt in the middle, Struckum south.
"""

from __future__ import annotations

from typing import Any

SOURCE = "Beispieldaten der Allmende-Demo (keine amtlichen Grenzen) / sample data, not official"

# shared border lines (longitude, latitude), west to east
_NORTH = [(8.90, 54.69), (8.96, 54.695), (9.03, 54.69)]
_LB = [(8.90, 54.633), (8.95, 54.635), (8.98, 54.632), (9.03, 54.633)]  # Lütjenholm|Bredstedt
_BS = [(8.90, 54.600), (8.96, 54.602), (9.03, 54.600)]  # Bredstedt|Struckum
_SOUTH = [(8.90, 54.55), (8.98, 54.548), (9.05, 54.55)]


def _between(north: list[tuple[float, float]], south: list[tuple[float, float]]) -> list[Any]:
    ring = [*south, *reversed(north), south[0]]
    return [[list(point) for point in ring]]


AREAS: dict[str, list[Any]] = {
    "luetjenholm": _between(_NORTH, _LB),
    "bredstedt": _between(_LB, _BS),
    "struckum": _between(_BS, _SOUTH),
}


def sample_feature(slug: str, name: str) -> dict[str, Any]:
    """A demo village's sample boundary as a GeoJSON Feature, marked as sample data."""
    return {
        "type": "Feature",
        "properties": {"GEN": name, "sample": True, "source": SOURCE},
        "geometry": {"type": "Polygon", "coordinates": AREAS[slug]},
    }
