"""Ingest endpoints (webhooks, generic JSON, CSV), the device registry API, and time series."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlmodel import Session, col, delete, select

from allmende.connectors import chirpstack, chirpstack_v3, csv_table, generic, ttn
from allmende.connectors.csv_table import CsvMapping, iter_csv_observations
from allmende.connectors.model import (
    ConnectorResult,
    PayloadRejected,
    canonical_device_id,
    parse_time,
)
from allmende.connectors.positions import chirpstack_positions, tts_positions
from allmende.connectors.validation import load_schema
from allmende.node import access, db
from allmende.node.events import jsontext
from allmende.node.http.admin import int_param
from allmende.node.http.forms import parts
from allmende.node.http.openapi import (
    FILE,
    TEXT,
    component,
    describe,
    json_request,
    multipart_body,
    query_param,
)
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.ingest import codecs as raw_codecs
from allmende.node.ingest import registry as devices
from allmende.node.ingest import sources, timeseries
from allmende.node.ingest.access import authorize_observations
from allmende.node.ingest.committer import Committer
from allmende.node.ingest.intake import (
    Prepared,
    ingest,
    latest_rows,
    prepare,
    prepare_in_steps,
    refuse,
)
from allmende.node.ingest.latest import upsert, write_device_state
from allmende.node.ingest.models import (
    Device,
    DevicePayload,
    ImplausibleReading,
    IngestProblem,
    LatestValue,
    UnmappedField,
)
from allmende.node.runtime import Node
from allmende.vocab.messages import restored, stored

log = logging.getLogger(__name__)
JSON_LIMIT = 4 * 1024 * 1024
CSV_LIMIT = 2 * 1024 * 1024 * 1024
PROBLEMS_KEPT = 500
IMPLAUSIBLE_LISTED = 50
PROBLEM = {"$ref": "#/components/responses/Problem"}
WEBHOOK = {
    "200": {"description": "acknowledged (ignored event type)"},
    "202": {"description": "committed to the event log"},
    "401": {"$ref": "#/components/responses/Problem"},
    "422": {"$ref": "#/components/responses/Problem"},
}


async def read_json(request: web.Request) -> Any:
    """The payload, read by orjson as events are (jsontext: integers beyond 64 bits stay
    exact): the standard library's reader took a tenth of a single-reading uplink's time on
    the event loop. JSON without NaN or Infinity, in UTF-8 without lone surrogates, no
    number beyond a double's range and nested at most 1024 deep, or a 400."""
    if request.content_type != "application/json":
        raise Problem(415, "Unsupported Media Type", "send the payload as application/json")
    if request.content_length is not None and request.content_length > JSON_LIMIT:
        raise Problem(413, "Content Too Large", f"a payload may have at most {JSON_LIMIT} bytes")
    body = await request.read()
    if len(body) > JSON_LIMIT:
        raise Problem(413, "Content Too Large", f"a payload may have at most {JSON_LIMIT} bytes")
    try:
        return jsontext.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "Bad Request", f"the body is not valid JSON: {str(exc)[:200]}") from None


async def record_problem(
    request: web.Request,
    source: str,
    problem: Problem,
    excerpt: bytes,
    prepared: Prepared | None = None,
) -> None:
    """Keep the refusal for the operator console; the secret is never part of it. What the
    refused payload showed of registered devices (their fields, implausible readings) is
    kept for their device pages, so the operator can map what was refused."""
    node: Node = request.app["node"]
    row = IngestProblem(
        time=datetime.now(UTC),
        source=source,
        status=problem.status_code,
        reason=stored(problem.body_json.get("detail") or problem.body_json["title"], 2000),
        excerpt=excerpt[:600].decode("utf-8", "replace"),
    )

    def write() -> None:
        with Session(node.engine) as session:
            session.add(row)
            if prepared is not None:
                write_device_state(
                    session, prepared.payloads, prepared.implausible, prepared.unmapped
                )
            session.commit()
            if (row.id or 0) % 50 == 0:
                newest = session.exec(
                    select(IngestProblem.id)
                    .order_by(col(IngestProblem.id).desc())
                    .offset(PROBLEMS_KEPT)
                ).first()
                if newest is not None:
                    session.exec(delete(IngestProblem).where(col(IngestProblem.id) <= newest))
                    session.commit()

    await node.write(write)


def webhook(source: str, parse: Any, positions: Any = None) -> Any:
    """A JSON webhook handler: authenticate, parse, map, commit, acknowledge; then give
    devices registered without a position the one the message reports (`positions`)."""

    async def handle(request: web.Request) -> web.Response:
        room = request.app["ingest"]
        payload: Any = None
        prepared: Prepared | None = None
        # Outside the recording block: an unauthenticated caller must not fill the
        # operator's problem log (and evict the real entries from its bounded history).
        sources.check(request, source, room["secrets"])
        try:
            payload = await read_json(request)
            async with room["turn"]:  # one payload parsed and mapped at a time
                try:
                    result: ConnectorResult = parse(request, payload)
                except PayloadRejected as exc:
                    raise refuse(exc.rejections) from None
                if result.ignored:
                    await _place(request, positions, payload)
                    return web.json_response({"ignored": result.reason}, status=200)
                await _adopt_model(request, payload)
                warned = _formatter_warnings(request, payload)
                if warned:
                    await asyncio.to_thread(_keep_warnings, request, warned)
                prepared = await prepare_in_steps(
                    request.app["node"], room["registry"], result, source
                )
            accepted = await ingest(room["registry"], room["committer"], prepared)
        except Problem as problem:
            await record_problem(request, source, problem, _excerpt(payload), prepared)
            raise
        if accepted.reported:
            refused = refuse(accepted.reported, status=202)
            await record_problem(request, source, refused, _excerpt(payload))
        await _place(request, positions, payload)
        return web.json_response(accepted.to_json(), status=202)

    return handle


FORMATTER = "the-things-stack-payload-formatter"
"""Who decoded, for warnings of The Things Stack's payload formatter."""


def _formatter_warnings(request: web.Request, payload: Any) -> list[Warned]:
    """The warnings The Things Stack's payload formatter gave with its decoded payload
    (`decoded_payload_warnings`), per message, to be kept like a codec's (a clean decode
    clears them); those that would change nothing are left out, so a clean uplink of a
    device without warnings costs no trip to a thread."""
    messages = payload if isinstance(payload, list) else [payload]
    decoders = request.app["ingest"].get("decoders")
    if decoders is None:
        return []
    found: list[Warned] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        up, ids = message.get("uplink_message"), message.get("end_device_ids")
        if not isinstance(up, dict) or not isinstance(ids, dict) or "decoded_payload" not in up:
            continue
        warnings = up.get("decoded_payload_warnings") or []
        if not isinstance(warnings, list):
            warnings = [warnings]
        eui, name = ids.get("dev_eui"), ids.get("device_id")
        alias = name if isinstance(name, str) else None
        device = eui if isinstance(eui, str) and eui else alias
        if device is None:
            continue
        device = canonical_device_id(device)
        texts = [str(w) for w in warnings]
        if decoders.settled(device, alias, texts):
            continue
        try:
            received = parse_time(str(up.get("received_at") or message.get("received_at")))
        except ValueError:
            received = datetime.now(UTC)
        found.append((device, alias, received, texts))
    return found


Warned = tuple[str, str | None, datetime, list[str]]
"""A device, its alias, when its uplink was received and the formatter's warnings."""


def _keep_warnings(request: web.Request, warned: list[Warned]) -> None:
    decoders = request.app["ingest"]["decoders"]
    for device, alias, received, texts in warned:
        decoders.keep_warnings(device, alias, received, FORMATTER, texts)


async def _adopt_model(request: web.Request, payload: Any) -> None:
    """The Things Stack names the device's model (`uplink_message.version_ids`): a device
    registered without one gets its field mappings before this uplink is mapped."""
    if isinstance(payload, list):
        for message in payload:
            await _adopt_model(request, message)
        return
    if not isinstance(payload, dict):
        return
    up, ids = payload.get("uplink_message"), payload.get("end_device_ids")
    if not isinstance(up, dict) or not isinstance(ids, dict):
        return
    eui, name = ids.get("dev_eui"), ids.get("device_id")
    alias = name if isinstance(name, str) else None
    device = eui if isinstance(eui, str) and eui else alias
    if device is None:
        return
    await devices.adopt_model(
        request.app["node"],
        request.app["ingest"]["registry"],
        canonical_device_id(device),
        alias,
        up.get("version_ids"),
    )


async def _place(request: web.Request, positions: Any, payload: Any) -> None:
    """Positions for unplaced devices; a failure here is logged, the readings stay."""
    if positions is None or not request.app["ingest"]["registry"].known().unplaced:
        return
    try:
        found = positions(request, payload)
        if found:
            await devices.locate(request.app["node"], request.app["ingest"]["registry"], found)
    except Exception:
        log.exception("could not place a device from its network server's position")


def _excerpt(payload: Any) -> bytes:
    """The start of a refused payload, serialised only when something is refused."""
    if payload is None or isinstance(payload, str | int):
        return b""
    return json.dumps(payload)[:600].encode()


ttn_uplink = describe(
    "The Things Stack v3 webhook: uplink messages (one or a batch)",
    tags=["ingest"],
    request_body=json_request(component("TtnUplink", load_schema(ttn.SCHEMA))),
    responses=WEBHOOK,
)(
    webhook(
        "ttn",
        lambda r, p: ttn.parse(p, decoder=r.app["ingest"]["decoders"]),
        lambda _r, p: tts_positions(p),
    )
)
TTS_MESSAGES = {
    "uplink": "uplink messages (the readings)",
    "join": "join-accept messages (acknowledged)",
    "location": "location-solved messages (acknowledged)",
    "service/data": "service data messages (acknowledged)",
    "downlink/queued": "downlink queued (acknowledged)",
    "downlink/sent": "downlink sent (acknowledged)",
    "downlink/ack": "downlink acknowledged by the device (acknowledged)",
    "downlink/nack": "downlink not acknowledged (acknowledged)",
    "downlink/failed": "downlink failed (acknowledged)",
}
"""The message-type paths The Things Stack appends to a webhook's base URL. Each is read
as the message it carries (an uplink posted to `/join` is still an uplink); only uplinks
hold readings, the others are acknowledged with 200."""


def _tts_path(message: str) -> Any:
    return describe(
        f"The Things Stack v3 webhook, base URL /ingest/ttn plus /{message}: {TTS_MESSAGES[message]}",
        tags=["ingest"],
        request_body=json_request(component("TtnUplink", load_schema(ttn.SCHEMA))),
        responses=WEBHOOK,
    )(_same_as_base())


def _same_as_base() -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await ttn_uplink(request)

    return handle


chirpstack_event = describe(
    "ChirpStack v4 (or v3, JSON marshaler) HTTP integration (?event=up; other event types "
    "are acknowledged and ignored)",
    tags=["ingest"],
    parameters=[query_param("event", "ChirpStack event type")],
    request_body=json_request(
        {
            "anyOf": [
                component("ChirpStackEvent", load_schema(chirpstack.SCHEMA)),
                component("ChirpStackV3Event", load_schema(chirpstack_v3.SCHEMA)),
            ]
        }
    ),
    responses=WEBHOOK,
)(
    webhook(
        "chirpstack",
        lambda r, p: chirpstack.parse(r.query.get("event"), p, decoder=r.app["ingest"]["decoders"]),
        lambda r, p: chirpstack_positions(r.query.get("event"), p),
    )
)
observation_batch = describe(
    "A generic JSON batch of observations",
    tags=["ingest"],
    request_body=json_request(component("ObservationBatch", load_schema(generic.SCHEMA))),
    responses=WEBHOOK,
)(webhook("observations", lambda _r, p: generic.parse(p)))


async def _spool(request: web.Request, spooled: Any) -> Any:
    """Stream a multipart upload (`mapping` JSON + `file` CSV) to a temporary file."""
    mapping: Any = None
    size = 0
    async for part in parts(request, "parts 'mapping' and 'file'"):
        if part.name == "mapping":
            try:
                mapping = CsvMapping.from_json(json.loads(await part.text(JSON_LIMIT)))
            except (ValueError, PayloadRejected) as exc:
                raise Problem(400, "Bad Request", f"mapping: {exc}") from None
        elif part.name == "file":
            async for chunk in part.chunks(1 << 16):
                size += len(chunk)
                if size > CSV_LIMIT:
                    raise Problem(
                        413, "Content Too Large", f"a CSV file may have at most {CSV_LIMIT} bytes"
                    )
                await asyncio.to_thread(spooled.write, chunk)
    if mapping is None:
        raise Problem(400, "Bad Request", "the 'mapping' part is missing")
    spooled.seek(0)
    return mapping


@describe(
    "Upload a CSV table (multipart: 'mapping' JSON and 'file'); all rows or none",
    tags=["ingest"],
    request_body=multipart_body(
        {"mapping": {**TEXT, "description": csv_table.SCHEMA}, "file": FILE}, ["mapping", "file"]
    ),
    responses=WEBHOOK,
)
async def csv_upload(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    room = request.app["ingest"]
    dataset_id = request.match_info["dataset"]
    with tempfile.TemporaryFile() as spooled:
        sources.check(request, "csv", room["secrets"])  # only authenticated calls are recorded
        try:
            mapping = await _spool(request, spooled)
        except Problem as problem:
            await record_problem(request, "csv", problem, b"")
            raise
        try:
            await asyncio.to_thread(_each_chunk, node, room, dataset_id, mapping, spooled, None)
            spooled.seek(0)
            counts = await node.write(
                lambda: _commit_file(node, room, dataset_id, mapping, spooled)
            )
        except PayloadRejected as exc:
            raise refuse(exc.rejections) from None
    node.project_soon()
    return web.json_response({"accepted": counts[0], "events": counts[1]}, status=202)


def _each_chunk(
    node: Node,
    room: dict[str, Any],
    dataset_id: str,
    mapping: Any,
    spooled: Any,
    session: Session | None,
) -> tuple[int, int]:
    """Map the file chunk by chunk; with a session, also append each chunk's events to it.

    Run once without a session to check every row (refusing the whole file on the first
    problem), then once inside the transaction: the file is never held in memory.
    """
    observations = events = 0
    for chunk in iter_csv_observations(spooled, mapping):
        prepared = prepare(node, room["registry"], chunk, "csv")
        chunk_events, accepted, reported = prepared.events, prepared.accepted, prepared.reported
        if reported:
            raise refuse(reported)
        wrong = [e for e in chunk_events if e["subject"] != dataset_id]
        if wrong:
            raise Problem(
                422,
                "Unprocessable Content",
                f"rows belong to devices of another dataset ({wrong[0]['subject']})",
            )
        if session is not None and chunk_events:
            upsert(session, latest_rows(room["registry"], accepted))
            write_device_state(session, prepared.payloads, prepared.implausible, prepared.unmapped)
            node.log.append(session, chunk_events)
        observations += len(accepted)
        events += len(chunk_events)
    return observations, events


def _commit_file(
    node: Node, room: dict[str, Any], dataset_id: str, mapping: Any, spooled: Any
) -> tuple[int, int]:
    with db.transaction(node.engine) as session:
        return _each_chunk(node, room, dataset_id, mapping, spooled, session)


def _time_param(request: web.Request, name: str, default: datetime) -> datetime:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return parse_time(raw)
    except ValueError:
        raise Problem(
            400, "Bad Request", f"query parameter {name!r} must be an RFC 3339 time with offset"
        ) from None


@describe(
    "A sensor's observations in a dataset as JSON time series",
    tags=["data"],
    parameters=[
        query_param("sensor", "device id of the sensor"),
        query_param("from", "RFC 3339 start (default: 7 days ago)"),
        query_param("to", "RFC 3339 end (default: now)"),
        query_param(
            "limit", f"at most this many points (max {timeseries.MAX_POINTS})", {"type": "integer"}
        ),
    ],
)
async def observations(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    dataset_id = request.match_info["dataset"]
    await authorize_observations(request, dataset_id)
    sensor = request.query.get("sensor", "")
    if not 1 <= len(sensor) <= 128:
        raise Problem(400, "Bad Request", "query parameter 'sensor' (a device id) is required")
    now = datetime.now(UTC)
    start = _time_param(request, "from", now - timedelta(days=7))
    end = _time_param(request, "to", now)
    if end < start:
        raise Problem(400, "Bad Request", "'to' lies before 'from'")
    limit = int_param(request, "limit", 1000, 1, timeseries.MAX_POINTS)
    body = await asyncio.to_thread(timeseries.series, node, dataset_id, sensor, start, end, limit)
    return web.json_response(body)


def _device_json(device: Device) -> dict[str, Any]:
    profile = json.loads(device.profile)
    return {
        "device": device.id,
        "dataset": device.dataset_id,
        "profile": profile.get("name"),
        "fields": sorted(profile.get("fields", {})),
        "label": device.label,
        "lat": device.lat,
        "lon": device.lon,
        "registered": device.registered.isoformat(),
    }


@describe("Registered devices", tags=["devices"], admin=True)
@admin_only
async def device_list(request: web.Request) -> web.Response:
    node: Node = request.app["node"]

    def rows() -> list[dict[str, Any]]:
        with Session(node.engine) as session:
            return [_device_json(d) for d in session.exec(select(Device).order_by(col(Device.id)))]

    return web.json_response({"items": await asyncio.to_thread(rows)})


@describe(
    "Register (or move) a device: id, dataset, profile, position",
    tags=["devices"],
    admin=True,
    request_body=json_request(
        {
            "type": "object",
            "required": ["device", "dataset", "profile"],
            "properties": {
                "device": TEXT,
                "dataset": TEXT,
                "profile": TEXT,
                "label": TEXT,
                "lat": {"type": "number"},
                "lon": {"type": "number"},
            },
        }
    ),
)
@admin_only
async def device_add(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    body = await read_json(request)
    try:
        row = await devices.register(node, request.app["ingest"]["registry"], body)
    except devices.RegistryError as exc:
        raise Problem(
            400,
            "Bad Request",
            f"{exc.field}: {exc}",
            errors=[{"field": exc.field, "message": str(exc)}],
        ) from None
    return web.json_response(_device_json(row), status=201)


def device_detail(node: Node, device_id: str) -> dict[str, Any] | None:
    """A device with its mapping, its newest payload (fields as decoded, and those its
    mapping leaves out), its latest implausible readings and its codec's warnings: what the
    device page shows."""
    stored = devices.stored_id(node, device_id)
    with Session(node.engine) as session:
        device = session.get(Device, stored)
        if device is None:
            return None
        payload = session.get(DevicePayload, stored)
        unmapped_rows = session.exec(
            select(UnmappedField)
            .where(UnmappedField.device_id == stored)
            .order_by(col(UnmappedField.field))
        ).all()
        flagged = session.exec(
            select(ImplausibleReading)
            .where(ImplausibleReading.device_id == stored)
            .order_by(col(ImplausibleReading.id).desc())
            .limit(IMPLAUSIBLE_LISTED)
        ).all()
        warned = raw_codecs.codec_warnings(session, stored)
    profile = json.loads(device.profile)
    mapping = profile.get("fields", {})
    fields = json.loads(payload.fields) if payload is not None else {}
    return {
        **_device_json(device),
        "mapping": mapping,
        "implausible": profile.get("implausible") or node.settings.ingest.implausible,
        "implausibleSetBy": "device" if profile.get("implausible") else "node",
        "lastPayload": None
        if payload is None
        else {
            "time": payload.time.isoformat(),
            "source": payload.source,
            "fields": fields,
            "unmapped": sorted(name for name in fields if name not in mapping),
        },
        "unmappedFields": [
            {"field": r.field, "value": json.loads(r.value), "time": r.time.isoformat()}
            for r in unmapped_rows
            if r.field not in mapping
        ],
        "implausibleReadings": [
            {
                "field": r.field,
                "time": r.time.isoformat(),
                "value": r.value,
                "reason": restored(r.reason),
                "refused": r.refused,
            }
            for r in flagged
        ],
        "codecWarnings": warned,
    }


@describe(
    "A device: its mapping, newest payload, unmapped fields and implausible readings",
    tags=["devices"],
    admin=True,
    responses={"200": {"description": "the device"}, "404": PROBLEM},
)
@admin_only
async def device_show(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    found = await asyncio.to_thread(device_detail, node, request.match_info["device"])
    if found is None:
        raise Problem(404, "Not Found", "no such device")
    return web.json_response(found)


FIELD_MAPPING = {
    "type": "object",
    "description": "How one decoded field maps; null unmaps it",
    "properties": {
        "property": {**TEXT, "description": "observable property: IRI or short name"},
        "unit": {**TEXT, "description": "QUDT unit: IRI or code such as DEG_C"},
        "datatype": {"enum": ["decimal", "integer", "boolean", "string"]},
        "feature": {"enum": ["environment", "device"]},
        "scale": {"type": "number"},
        "offset": {"type": "number"},
        "min": {"type": "number", "description": "lowest plausible value (after scaling)"},
        "max": {"type": "number", "description": "highest plausible value (after scaling)"},
        "label": TEXT,
    },
    "required": ["property"],
}


@describe(
    "Change how a device's decoded fields map (property, unit, datatype, scale, offset, "
    "plausible range) and whether implausible readings are flagged or refused",
    tags=["devices"],
    admin=True,
    request_body=json_request(
        {
            "type": "object",
            "properties": {
                "fields": {
                    "type": "object",
                    "additionalProperties": {"anyOf": [FIELD_MAPPING, {"type": "null"}]},
                },
                "implausible": {
                    "enum": ["flag", "refuse", None],
                    "description": "null: as the node's ingest.implausible says",
                },
            },
        }
    ),
    responses={"200": {"description": "the device"}, "400": PROBLEM, "404": PROBLEM},
)
@admin_only
async def device_map(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    body = await read_json(request)
    try:
        changed = await devices.remap(
            node, request.app["ingest"]["registry"], request.match_info["device"], body
        )
    except devices.RegistryError as exc:
        raise Problem(
            400,
            "Bad Request",
            f"{exc.field}: {exc}",
            errors=[{"field": exc.field, "message": str(exc)}],
        ) from None
    if changed is None:
        raise Problem(404, "Not Found", "no such device")
    found = await asyncio.to_thread(device_detail, node, changed.id)
    return web.json_response(found)


@describe("Remove a device from the registry", tags=["devices"], admin=True)
@admin_only
async def device_remove(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    removed = await devices.remove(
        node, request.app["ingest"]["registry"], request.match_info["device"]
    )
    if removed is None:
        raise Problem(404, "Not Found", "no such device")
    return web.json_response(_device_json(removed))


@describe("The newest reading per device and field", tags=["devices"])
async def latest(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    scope = await access.scope(request, "observations")  # restricted values: token only

    def rows() -> list[dict[str, Any]]:
        with Session(node.engine) as session:
            found = session.exec(
                select(LatestValue).order_by(col(LatestValue.device_id), col(LatestValue.field))
            )
            return [
                {
                    "device": r.device_id,
                    "field": r.field,
                    "dataset": r.dataset_id,
                    "time": r.time.isoformat(),
                    "value": r.value,
                }
                for r in found
                if scope.shows(node.base_url, r.dataset_id)
            ]

    return web.json_response({"items": await asyncio.to_thread(rows)})


@describe(
    "The most recent refused payloads (reason, source, excerpt)",
    tags=["devices"],
    admin=True,
    parameters=[query_param("limit", "at most this many", {"type": "integer"})],
)
@admin_only
async def problems(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    limit = int_param(request, "limit", 50, 1, PROBLEMS_KEPT)

    def rows() -> list[dict[str, Any]]:
        with Session(node.engine) as session:
            found = session.exec(
                select(IngestProblem).order_by(col(IngestProblem.id).desc()).limit(limit)
            )
            return [
                {
                    "time": p.time.isoformat(),
                    "source": p.source,
                    "status": p.status,
                    "reason": restored(p.reason),
                    "excerpt": p.excerpt,
                }
                for p in found
            ]

    return web.json_response({"items": await asyncio.to_thread(rows)})


@describe("Create a new webhook secret for a source (shown once)", tags=["devices"], admin=True)
@admin_only
async def rotate_secret(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    source = request.match_info["source"]
    if source not in sources.SOURCES:
        raise Problem(404, "Not Found", f"unknown source {source!r}")
    secret = await node.write(lambda: sources.new_secret(node, source))
    request.app["ingest"]["secrets"] = await asyncio.to_thread(sources.stored_digests, node)
    return web.json_response(
        {"source": source, "secret": secret, "header": sources.HEADER}, status=201
    )


@describe(
    "Each ingest source and since when its webhook secret holds (never the secret)",
    tags=["devices"],
    admin=True,
)
@admin_only
async def secret_list(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    return web.json_response({"items": await asyncio.to_thread(sources.secret_status, node)})


@describe(
    "Revoke a source's webhook secret: its calls are refused until a new one is made",
    tags=["devices"],
    admin=True,
    responses={"204": {"description": "revoked"}, "404": {"description": "no secret"}},
)
@admin_only
async def revoke_secret(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    source = request.match_info["source"]
    if source not in sources.SOURCES:
        raise Problem(404, "Not Found", f"unknown source {source!r}")
    if not await node.write(lambda: sources.revoke_secret(node, source)):
        raise Problem(404, "Not Found", f"source {source!r} has no secret")
    request.app["ingest"]["secrets"] = await asyncio.to_thread(sources.stored_digests, node)
    return web.Response(status=204)


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    node: Node = app["node"]
    room = app["ingest"]
    room["secrets"] = await asyncio.to_thread(sources.stored_digests, node)
    room["committer"].start()
    yield
    await room["committer"].stop()


def setup(app: web.Application) -> None:
    node: Node = app["node"]
    app["ingest"] = {
        "registry": devices.Registry(node),
        "committer": Committer(node),
        "secrets": {},
        "turn": asyncio.Lock(),
    }
    app.cleanup_ctx.append(lifecycle)
    router = app.router
    router.add_post("/ingest/ttn", ttn_uplink)
    for message in TTS_MESSAGES:
        router.add_post(f"/ingest/ttn/{message}", _tts_path(message))
    router.add_post("/ingest/chirpstack", chirpstack_event)
    router.add_post("/ingest/observations", observation_batch)
    router.add_post("/ingest/csv/{dataset:[a-z0-9-]{1,64}}", csv_upload)
    router.add_get("/datasets/{dataset:[a-z0-9-]{1,64}}/observations", observations)
    router.add_get("/sensors/latest", latest)
    router.add_get("/admin/devices", device_list)
    router.add_post("/admin/devices", device_add)
    router.add_get("/admin/devices/{device}", device_show)
    router.add_post("/admin/devices/{device}/mapping", device_map)
    router.add_delete("/admin/devices/{device}", device_remove)
    router.add_get("/admin/ingest/problems", problems)
    router.add_get("/admin/ingest/sources", secret_list)
    router.add_post("/admin/ingest/sources/{source}/secret", rotate_secret)
    router.add_delete("/admin/ingest/sources/{source}/secret", revoke_secret)
    raw_codecs.setup(app)
