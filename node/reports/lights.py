"""Broken street lights: a report of a category tied to the street-light registry names the
segment (lamps, street or circuit of node.actuation) it is about, so that the operator
knows which lamp to fix. The portal offers the segments near the place the resident gave;
Open311 apps find them as the `segment` attribute of the category's definition."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from allmende.node.actuation.models import Segment
from allmende.node.reports.models import Category
from allmende.node.reports.service import STREETLIGHT_LINK, metres

ATTRIBUTE = "segment"
NEAR = 150.0  # metres from the place to a segment's lamps or street
NONE = "-"  # the resident's answer "none of these / not sure"


def tied(category: Category) -> bool:
    """Whether reports of the category name a street-light segment."""
    return category.link == STREETLIGHT_LINK


def _distance(row: Segment, lat: float, long: float) -> float:
    from shapely.geometry import Point, shape  # with the module: slower start (reports.geo)
    from shapely.ops import nearest_points

    try:
        geometry = shape(json.loads(row.geometry))
        nearest = nearest_points(geometry, Point(long, lat))[0]
        return metres(lat, long, nearest.y, nearest.x)
    except (ValueError, TypeError, AttributeError):  # a geometry shapely cannot read
        return metres(lat, long, row.lat, row.lon)


def near(session: Session, lat: float, long: float, radius: float = NEAR) -> list[dict[str, Any]]:
    """The segments within `radius` metres, nearest first (at most five)."""
    found: list[dict[str, Any]] = []
    for row in session.exec(select(Segment).order_by(col(Segment.id))):
        distance = _distance(row, lat, long)
        if distance <= radius:
            found.append({"id": row.id, "name": row.name, "metres": round(distance)})
    return sorted(found, key=lambda s: s["metres"])[:5]


def attribute(session: Session) -> dict[str, Any]:
    """The Open311 attribute by which apps name the segment (optional: not every resident
    knows it)."""
    rows = session.exec(select(Segment).order_by(col(Segment.id)).limit(1000))
    return {
        "variable": True,
        "code": ATTRIBUTE,
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "the street-light segment of the village's registry",
        "order": 0,
        "description": "Welche Straßenlampe ist es? / Which street light is it?",
        "values": [{"key": r.id, "name": r.name} for r in rows],
    }


def known(session: Session, segment: str) -> bool:
    return session.get(Segment, segment) is not None


def names(session: Session, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.exec(select(Segment).where(col(Segment.id).in_(ids)))
    return {r.id: r.name for r in rows}
