"""The GeoReport v2 wire format: JSON arrays and the XML the spec requires, and its errors.

The spec maps XML mechanically to JSON; here it goes the other way: each answer is built as
plain lists and dicts and written as JSON, or as XML with ElementTree (lists become repeated
elements named by the singular of their key).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

SPEC = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ("json", "xml")
MEDIA = {"json": "application/json", "xml": "text/xml"}
SINGULAR = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "service_request_updates": "request_update",
    "areas": "area",
    "notes": "note",
}


class Open311Error(Exception):
    """An error the client sees in the spec's format: `errors[]` of {code, description}."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def w3c(moment: datetime | None) -> str | None:
    """W3C datetime with its zone, as the spec wants (always UTC here)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_w3c(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name} is not a W3C datetime, e.g. 2026-07-12T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone (Z or +01:00)")
    return moment


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), key, inner)
    elif isinstance(value, list | tuple):
        child = SINGULAR.get(name, "item")
        for inner in value:
            _fill(ET.SubElement(element, child), child, inner)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, root, value)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def respond(fmt: str, root: str, value: Any, *, status: int = 200) -> web.Response:
    """`value` as JSON (a list or object as given) or as XML under `root`."""
    if fmt == "xml":
        return web.Response(
            body=to_xml(root, value), status=status, content_type="text/xml", charset="utf-8"
        )
    return web.Response(
        text=json.dumps(value, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def error_response(fmt: str, errors: Sequence[Open311Error]) -> web.Response:
    status = errors[0].status
    body = [{"code": e.status, "description": e.description} for e in errors]
    return respond(fmt, "errors", body, status=status)
