"""The citizen portal: home, sensor map, sensor pages with charts, datasets, usage.

Every page reads through `node.access.scope`: what the request may see is decided once,
the same way SPARQL and the JSON API decide it."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from allmende.node import access
from allmende.node.http.openapi import describe, query_param
from allmende.node.http.problems import Problem
from allmende.node.messages import say
from allmende.node.runtime import Node
from allmende.node.web import data, dataset_page, i18n, labels

DEVICE = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")
RANGES = {"day": 1, "week": 7, "month": 30, "year": 365}


@describe("Portal home: what the village measures and its latest readings", tags=["portal"])
@aiohttp_jinja2.template("home.html")
async def home(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    language = i18n.negotiate(request)
    scope = await access.scope(request)
    readings, sensors, datasets, names = await asyncio.gather(
        asyncio.to_thread(data.latest_readings, node, scope),
        asyncio.to_thread(data.sensors, node, scope),
        asyncio.to_thread(data.datasets, node, scope, language),
        asyncio.to_thread(data.property_labels, node, language),
    )

    texts = i18n.texts(language)

    def label(iri: str) -> str:
        return labels.observable_property(texts, iri, names)

    return {
        "readings": readings,
        "measured": sorted({label(reading.property) for reading in readings}),
        "sensor_names": {sensor.iri: sensor.label for sensor in sensors},
        "sensor_urls": {sensor.iri: sensor.url for sensor in sensors},
        "sensor_villages": {s.iri: s.village.name for s in sensors if s.village is not None},
        "own_count": sum(1 for sensor in sensors if sensor.own),
        "pooled_count": sum(1 for sensor in sensors if sensor.village is not None),
        "dataset_count": len(datasets),
        "label": label,
    }


@describe("Sensor map (markers from the device registry)", tags=["portal"])
@aiohttp_jinja2.template("map.html")
async def sensor_map(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    sensors = await asyncio.to_thread(data.sensors, node, await access.scope(request))
    return {
        "sensors": sensors,
        "tiles": request.app["web_tiles"],
        "has_pooled": any(sensor.village is not None for sensor in sensors),
    }


@describe("Sensor positions and latest readings as GeoJSON", tags=["portal"])
async def sensor_geojson(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    texts = i18n.texts(i18n.negotiate(request))
    scope = await access.scope(request)
    sensors, readings = await asyncio.gather(
        asyncio.to_thread(data.sensors, node, scope),
        asyncio.to_thread(data.latest_readings, node, scope),
    )
    latest: dict[str, list[dict[str, str]]] = {}
    for reading in readings:
        latest.setdefault(reading.sensor, []).append(
            {
                "property": labels.observable_property(texts, reading.property),
                "value": reading.value,
                "unit": reading.unit,
                "time": reading.time,
                # the reading as the page's language writes it, for the map's pop-ups
                "text": f"{texts.reading(reading.value)} {reading.unit}".strip(),
                "when": texts.datetime_text(reading.time),
            }
        )
    features = [
        {
            "type": "Feature",
            "id": sensor.device,
            "geometry": {"type": "Point", "coordinates": [sensor.lon, sensor.lat]},
            "properties": {
                "name": sensor.label,
                "url": sensor.url,
                "village": sensor.village.name if sensor.village is not None else None,
                "origin": sensor.village.id if sensor.village is not None else node.id,
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
        raise Problem(404, "Not Found", say("no such sensor"))
    iri = f"{node.base_url}/sensors/{device}"
    chosen = request.query.get("range", "week")
    if chosen not in RANGES:
        raise Problem(
            400, "Bad Request", say("range must be one of %(value)s", value=", ".join(RANGES))
        )
    scope = await access.scope(request)
    sensors = [s for s in await asyncio.to_thread(data.sensors, node, scope) if s.iri == iri]
    if not sensors:
        raise Problem(
            404,
            "Not Found",
            say("no sensor '%(device)s' in this node's registry", device=device),
        )
    language = i18n.negotiate(request)
    dataset, recent = await asyncio.gather(
        asyncio.to_thread(data.sensor_dataset, node, scope, iri),
        asyncio.to_thread(data.recent_readings, node, scope, iri),
    )
    titles = await asyncio.to_thread(data.datasets, node, scope, language) if dataset else []
    texts = i18n.texts(language)
    return {
        "sensor": sensors[0],
        "dataset": dataset,
        "dataset_title": next(
            (row["title"] for row in titles if str(row["dataset"]).endswith(f"/{dataset}")), None
        ),
        "recent": recent,
        "ranges": RANGES,
        "chosen": chosen,
        "days": RANGES[chosen],
        "label": lambda iri: labels.observable_property(texts, iri),
    }


def _in_language(value: Any, language: str) -> str:
    """A catalog text ({"de": …, "en": …}) in the page's language, German if missing."""
    if isinstance(value, dict):
        return str(value.get(language) or value.get("de") or next(iter(value.values()), ""))
    return str(value or "")


@describe(
    "A neighbouring village's pooled sensor: its readings, its chart, where it comes from "
    "and the terms of its data",
    tags=["portal"],
    parameters=[query_param("range", "day, week (default), month or year", {"enum": list(RANGES)})],
)
@aiohttp_jinja2.template("pooled_sensor.html")
async def pooled_sensor_page(request: web.Request) -> dict[str, Any]:
    """Shown only while `node.access` lets the caller see the neighbour's dataset: a pooled
    dataset that is not open (any more) answers 404 like a sensor that does not exist."""
    node: Node = request.app["node"]
    key, device = request.match_info["village"], request.match_info["device"]
    if not DEVICE.match(device):
        raise Problem(404, "Not Found", say("no such sensor"))
    chosen = request.query.get("range", "week")
    if chosen not in RANGES:
        raise Problem(
            400, "Bad Request", say("range must be one of %(value)s", value=", ".join(RANGES))
        )
    language = i18n.negotiate(request)
    known = await asyncio.to_thread(data.villages, node)
    village = next((v for v in known if v.key == key), None)
    if village is None:
        raise Problem(
            404, "Not Found", say("no neighbouring village '%(key)s' shares data here", key=key)
        )
    iri = f"{village.base}/sensors/{device}"
    scope = await access.scope(request)
    found = [s for s in await asyncio.to_thread(data.sensors, node, scope) if s.iri == iri]
    prefix = await asyncio.to_thread(data.sensor_graph_dataset, node, scope, iri)
    if not found or prefix is None:
        raise Problem(
            404,
            "Not Found",
            say("no open sensor '%(device)s' from %(name)s", device=device, name=village.name),
        )
    dataset_id = prefix.rsplit("/", 1)[-1]
    document = await asyncio.to_thread(data.pooled_dataset, node, village, dataset_id)
    if document is None or not access.is_open(document):
        raise Problem(
            404,
            "Not Found",
            say("no open sensor '%(device)s' from %(name)s", device=device, name=village.name),
        )
    since = (datetime.now(UTC) - timedelta(days=RANGES[chosen])).isoformat()
    recent, points = await asyncio.gather(
        asyncio.to_thread(data.recent_readings, node, scope, iri),
        asyncio.to_thread(data.series, node, scope, iri, since),
    )
    licence_label = labels.licence(i18n.texts(language), document.get("license", "")).name
    return {
        "sensor": found[0],
        "village": village,
        "dataset_title": _in_language(document.get("title"), language) or dataset_id,
        "dataset_iri": f"{village.base}/datasets/{dataset_id}",
        "licence": licence_label,
        "licence_iri": document.get("license", ""),
        "terms": dataset_page.policy_terms(node, document, language, licence_label),
        "policy": dataset_page.policy_sentences(document, language),
        "recent": recent,
        "points": points,
        "ranges": RANGES,
        "chosen": chosen,
        "label": lambda iri: labels.observable_property(i18n.texts(language), iri),
    }


@describe("The village's datasets with their licences", tags=["portal"])
@aiohttp_jinja2.template("data.html")
async def dataset_list(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    scope = await access.scope(request)
    rows = await asyncio.to_thread(data.datasets, node, scope, request.get("lang", "de"))
    return {"datasets": rows}


def setup(app: web.Application) -> None:
    node: Node = app["node"]
    app["web_tiles"] = node.settings.web.tiles
    app.router.add_get("/", home)
    app.router.add_get("/map", sensor_map)
    app.router.add_get("/map/sensors.geojson", sensor_geojson)
    app.router.add_get("/sensors/{device}", sensor_page)
    app.router.add_get("/villages/{village}/sensors/{device}", pooled_sensor_page)
    app.router.add_get("/data", dataset_list)
