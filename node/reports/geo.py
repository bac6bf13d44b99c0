"""Village boundaries and which village a point belongs to (shapely's point-in-polygon).

A boundary is a GeoJSON Polygon or MultiPolygon in WGS 84 (from VG250, OSM or drawn by
hand); this node's own decides what it handles, its peers' (announced through the
federation) where a report made here has to go.

shapely (and numpy beneath it) is imported where it is used: imported with the module, it
added a quarter of a second to every `allmende` command and node start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from allmende.node.reports.models import Boundary

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

MAX_VERTICES = 200_000
METRES_PER_DEGREE = 111_320.0


class BadBoundary(ValueError):
    """A boundary that cannot serve for routing; the message says why."""


def geometry_of(document: Any) -> BaseGeometry:
    """The (Multi)Polygon of a GeoJSON geometry, Feature or one-feature FeatureCollection."""
    if not isinstance(document, dict):
        raise BadBoundary("a GeoJSON object is expected")
    if document.get("type") == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise BadBoundary("a FeatureCollection with exactly one feature is expected")
        document = features[0]
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = document.get("geometry")
    if not isinstance(document, dict) or document.get("type") not in ("Polygon", "MultiPolygon"):
        raise BadBoundary("the geometry must be a Polygon or MultiPolygon")
    from shapely.geometry import mapping, shape

    try:
        geometry = shape(document)
    except Exception as exc:  # shapely raises several kinds on malformed coordinates
        raise BadBoundary(f"unreadable coordinates: {str(exc)[:200]}") from None
    if geometry.is_empty or not geometry.is_valid:
        raise BadBoundary("the polygon is empty or not valid (crossing or open rings)")
    minx, miny, maxx, maxy = geometry.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise BadBoundary("coordinates must be WGS 84 longitude, latitude")
    if len(json.dumps(mapping(geometry))) > MAX_VERTICES * 40:
        raise BadBoundary("the boundary has too many vertices")
    return geometry


def feature_name(document: Any) -> tuple[str, str]:
    """(name, AGS) from a VG250 or OSM feature's properties, when it has them."""
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        features = document.get("features") or [{}]
        document = features[0]
    props = document.get("properties") if isinstance(document, dict) else None
    if not isinstance(props, dict):
        return "", ""
    name = props.get("GEN") or props.get("name") or ""
    ags = props.get("AGS") or props.get("de:amtlicher_gemeindeschluessel") or ""
    return str(name)[:200], str(ags)[:12]


def boundary_row(
    node: str, name: str, ags: str, geometry: BaseGeometry, *, sample: bool, source: str
) -> Boundary:
    from shapely.geometry import mapping

    return Boundary(
        node=node,
        ags=ags,
        name=name,
        geometry=json.dumps(mapping(geometry)),
        sample=sample,
        source=source,
        updated=datetime.now(UTC),
    )


@dataclass
class Area:
    node: str
    name: str
    geometry: BaseGeometry


def areas(session: Session) -> list[Area]:
    from shapely.geometry import shape

    return [
        Area(row.node, row.name, shape(json.loads(row.geometry)))
        for row in session.exec(select(Boundary))
    ]


def containing(known: list[Area], lat: float, long: float) -> list[Area]:
    from shapely.geometry import Point

    point = Point(long, lat)
    return [area for area in known if area.geometry.covers(point)]


def near_border(area: Area, lat: float, long: float, metres: float) -> bool:
    """Whether the point lies within `metres` of the area's border (ask the reporter)."""
    if metres <= 0:
        return False
    from shapely.geometry import Point

    degrees = metres / METRES_PER_DEGREE
    return bool(area.geometry.boundary.distance(Point(long, lat)) < degrees)


def candidates(known: list[Area], lat: float, long: float, metres: float) -> list[Area]:
    """The areas holding the point or within `metres` of it: more than one means the spot
    is near a border (the generalised VG250 lines are off by tens of metres)."""
    from shapely.geometry import Point

    point = Point(long, lat)
    degrees = metres / METRES_PER_DEGREE
    return [area for area in known if area.geometry.distance(point) <= degrees]
