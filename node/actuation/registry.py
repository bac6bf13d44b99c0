"""Controllers and segments in the registry, the policy, and what the public may see of them."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import jsonschema
from sqlmodel import Session, col, select

from allmende.connectors.downlink import codecs
from allmende.node import db
from allmende.node.actuation import sosa
from allmende.node.actuation.models import ActuationPolicy, Controller, Segment, Switching
from allmende.node.actuation.policy import PolicyRefused, SwitchPolicy, dumps, sign
from allmende.node.catalog import service as catalog
from allmende.node.http.problems import Problem
from allmende.node.messages import say
from allmende.node.runtime import Node

ID = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}
CLOCK = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
CONTROLLER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "dev_eui", "network", "server", "credential", "class", "codec"],
    "properties": {
        "id": ID,
        "dev_eui": {"type": "string", "pattern": "^[0-9A-Fa-f]{16}$"},
        "network": {"enum": ["tts", "chirpstack"]},
        "server": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 500},
        "application_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "device_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "webhook_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "credential": {
            "type": "string",
            "minLength": 1,
            "maxLength": 2000,
            "description": "TTS downlink API key or ChirpStack API token; never shown again",
        },
        "class": {"enum": ["A", "C"]},
        "uplink_interval": {"type": "integer", "minimum": 10, "maximum": 86400},
        "codec": {
            "description": f"a ready codec ({', '.join(sorted(codecs.READY))}) or a codec object",
            "oneOf": [{"type": "string", "maxLength": 64}, {"type": "object"}],
        },
        "confirmed": {"type": "boolean"},
        "label": {"type": "string", "maxLength": 200},
    },
}
SEGMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "name",
        "controller",
        "geometry",
        "lamps",
        "watts",
        "dark_from",
        "dark_until",
    ],
    "properties": {
        "id": ID,
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "controller": ID,
        "kind": {"enum": ["lamps", "segment", "circuit"]},
        "geometry": {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {
                "type": {"enum": ["Point", "MultiPoint", "LineString", "MultiLineString"]},
                "coordinates": {"type": "array", "minItems": 1, "maxItems": 10000},
            },
        },
        "lamps": {"type": "integer", "minimum": 1, "maximum": 10000},
        "watts": {"type": "number", "exclusiveMinimum": 0, "maximum": 10000},
        "duration": {"type": "integer", "minimum": 60, "maximum": 3600},
        "dark_from": CLOCK,
        "dark_until": CLOCK,
        "timezone": {"type": "string", "maxLength": 64},
    },
}
LOCK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["locked"],
    "properties": {"locked": {"type": "boolean"}, "reason": {"type": "string", "maxLength": 300}},
}


def validate(body: Any, schema: dict[str, Any]) -> dict[str, Any]:
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.path)
    )
    if errors:
        problems = [
            {"field": "/".join(str(p) for p in e.path) or "(body)", "message": e.message[:300]}
            for e in errors[:20]
        ]
        raise Problem(422, "Unprocessable Content", problems[0]["message"], errors=problems)
    return dict(body)


def _points(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    found: list[tuple[float, float]] = []

    def walk(value: Any) -> None:
        if (
            isinstance(value, list)
            and len(value) in (2, 3)
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            found.append((float(value[0]), float(value[1])))
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    try:
        walk(geometry["coordinates"])
    except RecursionError:
        raise Problem(422, "Unprocessable Content", say("geometry: nested too deeply")) from None
    if not found or not all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in found):
        raise Problem(422, "Unprocessable Content", say("geometry: WGS84 coordinates [lon, lat]"))
    return found


async def add_controller(node: Node, body: Any) -> Controller:
    data = validate(body, CONTROLLER_SCHEMA)
    try:
        codec = codecs.resolve(data["codec"])
        codecs.check(codec)
    except codecs.CodecError as exc:
        raise Problem(422, "Unprocessable Content", say("codec: %(exc)s", exc=exc)) from None
    if data["network"] == "tts":
        missing = [k for k in ("application_id", "device_id", "webhook_id") if k not in data]
        if missing:
            raise Problem(
                422, "Unprocessable Content", say("tts needs %(value)s", value=", ".join(missing))
            )
    row = Controller(
        id=data["id"],
        dev_eui=data["dev_eui"].lower(),
        network=data["network"],
        server=data["server"],
        application_id=data.get("application_id"),
        device_id=data.get("device_id") or data["dev_eui"].lower(),
        webhook_id=data.get("webhook_id"),
        credential=data["credential"],
        lorawan_class=data["class"],
        uplink_interval=data.get("uplink_interval", 600),
        codec=json.dumps(data["codec"]),
        confirmed=data.get("confirmed", True),
        label=data.get("label"),
        registered=datetime.now(UTC),
    )

    def write() -> None:
        with db.transaction(node.engine) as session:
            if session.get(Controller, row.id) is not None:
                raise Problem(
                    409, "Conflict", say("controller %(id)s exists already", id=repr(row.id))
                )
            session.add(row)

    await node.write(write)
    return row


async def ensure_dataset(node: Node) -> None:
    """The public dataset of switchings, published once (the operator may edit it later)."""
    body = {**sosa.DATASET_BODY, "contact": {"email": f"daten@{_host(node)}"}}
    with contextlib.suppress(catalog.Conflict):
        await catalog.create(node, body)


def _host(node: Node) -> str:
    host = node.base_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host if "." in host else "gemeinde.example"


async def add_segment(node: Node, body: Any) -> Segment:
    data = validate(body, SEGMENT_SCHEMA)
    points = _points(data["geometry"])
    lon = sum(p[0] for p in points) / len(points)
    lat = sum(p[1] for p in points) / len(points)
    zone = data.get("timezone", "Europe/Berlin")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        raise Problem(
            422, "Unprocessable Content", say("timezone: unknown zone %(zone)s", zone=repr(zone))
        ) from None
    if data["dark_from"] == data["dark_until"]:
        raise Problem(422, "Unprocessable Content", say("dark_from and dark_until must differ"))
    row = Segment(
        id=data["id"],
        name=data["name"],
        controller_id=data["controller"],
        kind=data.get("kind", "segment"),
        geometry=json.dumps(data["geometry"]),
        lat=lat,
        lon=lon,
        lamps=data["lamps"],
        watts=data["watts"],
        duration=data.get("duration", 900),
        dark_from=data["dark_from"],
        dark_until=data["dark_until"],
        timezone=zone,
        registered=datetime.now(UTC),
    )
    with Session(node.engine) as session:
        if session.get(Controller, row.controller_id) is None:
            raise Problem(
                422,
                "Unprocessable Content",
                say("controller: no %(controller_id)s", controller_id=repr(row.controller_id)),
            )
    await ensure_dataset(node)

    def write() -> None:
        with db.transaction(node.engine) as session:
            controller = session.get(Controller, row.controller_id)
            if controller is None:
                raise Problem(
                    422,
                    "Unprocessable Content",
                    say("controller: no %(controller_id)s", controller_id=repr(row.controller_id)),
                )
            try:
                codec = codecs.resolve(json.loads(controller.codec))
                codecs.encode(codec, row.duration)
            except codecs.CodecError as exc:
                raise Problem(
                    422, "Unprocessable Content", say("duration: %(exc)s", exc=exc)
                ) from None
            if session.get(Segment, row.id) is not None:
                raise Problem(
                    409, "Conflict", say("segment %(id)s exists already", id=repr(row.id))
                )
            session.add(row)
            session.flush()
            segments = session.exec(
                select(Segment).where(Segment.controller_id == controller.id)
            ).all()
            event = node.event(
                sosa.RECORDED,
                sosa.actuator_event_data(node.base_url, controller, segments),
                subject=sosa.DATASET,
            )
            node.log.append(session, [event])

    await node.write(write)
    node.project_soon()
    return row


async def lock(node: Node, segment_id: str, body: Any) -> Segment:
    data = validate(body, LOCK_SCHEMA)

    def write() -> Segment:
        with db.transaction(node.engine) as session:
            row = session.get(Segment, segment_id)
            if row is None:
                raise Problem(
                    404, "Not Found", say("no segment %(segment_id)s", segment_id=repr(segment_id))
                )
            row.locked = data["locked"]
            row.lock_reason = data.get("reason") if data["locked"] else None
            session.add(row)
            return row

    return await node.write(write)


async def install_policy(node: Node, body: Any) -> dict[str, Any]:
    """Check the policy, sign it with the municipality's key, keep it."""
    if not isinstance(body, dict):
        raise Problem(422, "Unprocessable Content", say("the policy must be a JSON-LD object"))
    try:
        signed = sign(body, node.key.private, node.key.kid)
        SwitchPolicy.read(signed["policy"])
    except PolicyRefused as exc:
        raise Problem(422, "Unprocessable Content", say("policy: %(exc)s", exc=exc)) from None
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise Problem(422, "Unprocessable Content", f"policy: {exc}"[:500]) from None

    def write() -> None:
        with db.transaction(node.engine) as session:
            row = session.get(ActuationPolicy, 1) or ActuationPolicy(
                document="", installed=datetime.now(UTC)
            )
            row.document, row.installed = dumps(signed), datetime.now(UTC)
            session.add(row)

    await node.write(write)
    return signed


def signed_policy(node: Node) -> dict[str, Any] | None:
    with Session(node.engine) as session:
        row = session.get(ActuationPolicy, 1)
    return json.loads(row.document) if row is not None else None


def controllers(node: Node) -> list[dict[str, Any]]:
    """What the operator sees of controllers: never the credential."""
    with Session(node.engine) as session:
        rows = session.exec(select(Controller).order_by(col(Controller.id))).all()
    return [
        {
            "id": c.id,
            "dev_eui": c.dev_eui,
            "network": c.network,
            "server": c.server,
            "application_id": c.application_id,
            "device_id": c.device_id,
            "webhook_id": c.webhook_id,
            "class": c.lorawan_class,
            "uplink_interval": c.uplink_interval,
            "codec": json.loads(c.codec),
            "confirmed": c.confirmed,
            "label": c.label,
        }
        for c in rows
    ]


def segment_json(segment: Segment, controller: Controller | None, now: datetime) -> dict[str, Any]:
    from allmende.node.actuation.service import utc

    on_until = utc(segment.on_until) if segment.on_until is not None else None
    lit = on_until is not None and on_until > now
    latency = (
        {"class": "C", "expected_seconds": 10}
        if controller is None or controller.lorawan_class == "C"
        else {"class": "A", "expected_seconds": controller.uplink_interval}
    )
    return {
        "id": segment.id,
        "name": segment.name,
        "kind": segment.kind,
        "geometry": json.loads(segment.geometry),
        "lamps": segment.lamps,
        "duration_seconds": segment.duration,
        "on_demand_hours": f"{segment.dark_from}–{segment.dark_until}",
        "state": "on" if lit else "off",
        "on_until": on_until.isoformat() if lit and on_until else None,
        "extension_pending": bool(lit and segment.extend_pending),
        "locked": segment.locked,
        "lock_reason": segment.lock_reason if segment.locked else None,
        "latency": latency,
        "switch": f"/actuation/segments/{segment.id}/switch",
    }


def segments(node: Node, now: datetime) -> list[dict[str, Any]]:
    with Session(node.engine) as session:
        rows = session.exec(select(Segment).order_by(col(Segment.id))).all()
        by_id = {c.id: c for c in session.exec(select(Controller)).all()}
    return [segment_json(s, by_id.get(s.controller_id), now) for s in rows]


def switchings(node: Node, limit: int = 200) -> list[dict[str, Any]]:
    """The console's audit list: pseudonyms, never a person."""
    with Session(node.engine) as session:
        rows = session.exec(
            select(Switching).order_by(col(Switching.created).desc()).limit(limit)
        ).all()
    return [switching_json(r, person=True) for r in rows]


def switching_json(row: Switching, *, person: bool = False) -> dict[str, Any]:
    from allmende.node.actuation.service import STATES_DE, utc

    shown = {"person": row.pseudonym} if person else {}
    return {
        **shown,
        "id": row.id,
        "segment": row.segment_id,
        "state": row.state,
        "state_de": STATES_DE.get(row.state, row.state),
        "reason": row.reason,
        "channel": row.channel,
        "created": utc(row.created).isoformat(),
        "updated": utc(row.updated).isoformat(),
        "expires": utc(row.expires).isoformat(),
        "attempts": row.attempts,
        "coalesced_into": row.coalesced_into,
        "events": f"/actuation/switchings/{row.id}/events",
    }


def energy(node: Node) -> list[dict[str, Any]]:
    with Session(node.engine) as session:
        segs = list(session.exec(select(Segment)).all())
        rows = list(
            session.exec(select(Switching).where(col(Switching.on_from).is_not(None))).all()
        )
    return sosa.monthly(segs, rows)
