"""The citizen portal: home, sensor map, sensor pages with charts, datasets, usage.

Every page reads through `node.access.scope`: what the request may see is decided once,
the same way SPARQL and the JSON API decide it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from node import access
from node.http.openapi import describe, query_param
from node.http.problems import Problem
from node.runtime import Node
from node.web import data

DEVICE = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")
RANGES = {"day": 1, "week": 7, "month": 30, "year": 365}


@describe("Portal home: what the village measures and its latest readings", tags=["portal"])
@aiohttp_jinja2.template("home.html")
async def home(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    language = request.get("lang", "de")
    scope = await access.scope(request)
    readings, sensors, datasets, names = await asyncio.gather(
        asyncio.to_thread(data.latest_readings, node, scope),
        asyncio.to_thread(data.sensors, node, scope),
        asyncio.to_thread(data.datasets, node, scope, language),
        asyncio.to_thread(data.property_labels, node, language),
    )

    def label(iri: str) -> str:
        return names.get(iri) or data.property_label(iri)

    return {
        "readings": readings,
        "measured": sorted({label(reading.property) for reading in readings}),
        "sensor_names": {sensor.iri: sensor.label for sensor in sensors},
        "sensor_count": len(sensors),
        "dataset_count": len(datasets),
        "label": label,
        "shown": lambda value: data.shown_value(value, language),
    }


@describe("Sensor map (markers from the device registry)", tags=["portal"])
@aiohttp_jinja2.template("map.html")
async def sensor_map(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    sensors = await asyncio.to_thread(data.sensors, node, await access.scope(request))
    return {"sensors": sensors, "tiles": request.app["web_tiles"]}


@describe("Sensor positions and latest readings as GeoJSON", tags=["portal"])
async def sensor_geojson(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    scope = await access.scope(request)
    sensors, readings = await asyncio.gather(
        asyncio.to_thread(data.sensors, node, scope),
        asyncio.to_thread(data.latest_readings, node, scope),
    )
    latest: dict[str, list[dict[str, str]]] = {}
    for reading in readings:
        latest.setdefault(reading.sensor, []).append(
            {
                "property": data.property_label(reading.property),
                "value": reading.value,
                "unit": reading.unit,
                "time": reading.time,
            }
        )
    features = [
        {
            "type": "Feature",
            "id": sensor.device,
            "geometry": {"type": "Point", "coordinates": [sensor.lon, sensor.lat]},
            "properties": {
                "name": sensor.label,
                "url": f"/sensors/{sensor.device}",
                "latest": latest.get(sensor.iri, []),
            },
        }
        for sensor in sensors
        if sensor.lat is not None and sensor.lon is not None
    ]
    return web.json_response({"type": "FeatureCollection", "features": features})


@describe(
    "A sensor's page with its time-series chart",
    tags=["portal"],
    parameters=[query_param("range", "day, week (default), month or year", {"enum": list(RANGES)})],
)
@aiohttp_jinja2.template("sensor.html")
async def sensor_page(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    device = request.match_info["device"]
    if not DEVICE.match(device):
        raise Problem(404, "Not Found", "no such sensor")
    iri = f"{node.base_url}/sensors/{device}"
    chosen = request.query.get("range", "week")
    if chosen not in RANGES:
        raise Problem(400, "Bad Request", f"range must be one of {', '.join(RANGES)}")
    scope = await access.scope(request)
    sensors = [s for s in await asyncio.to_thread(data.sensors, node, scope) if s.iri == iri]
    if not sensors:
        raise Problem(404, "Not Found", f"no sensor {device!r} in this node's registry")
    dataset, recent = await asyncio.gather(
        asyncio.to_thread(data.sensor_dataset, node, scope, iri),
        asyncio.to_thread(data.recent_readings, node, scope, iri),
    )
    return {
        "sensor": sensors[0],
        "dataset": dataset,
        "recent": recent,
        "ranges": RANGES,
        "chosen": chosen,
        "days": RANGES[chosen],
        "label": data.property_label,
    }


@describe("The village's datasets with their licences", tags=["portal"])
@aiohttp_jinja2.template("data.html")
async def dataset_list(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    scope = await access.scope(request)
    rows = await asyncio.to_thread(data.datasets, node, scope, request.get("lang", "de"))
    return {"datasets": rows, "local_name": data.local_name}


def setup(app: web.Application) -> None:
    node: Node = app["node"]
    app["web_tiles"] = node.settings.web.tiles
    app.router.add_get("/", home)
    app.router.add_get("/map", sensor_map)
    app.router.add_get("/map/sensors.geojson", sensor_geojson)
    app.router.add_get("/sensors/{device}", sensor_page)
    app.router.add_get("/data", dataset_list)
