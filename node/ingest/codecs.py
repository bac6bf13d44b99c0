"""Raw uplinks decoded on the node: the device's codec chosen, run in the sandbox, uploaded.

When a network server sends only the raw payload (no payload formatter configured), the
connectors call `Decoders` (a `connectors.lorawan.Decoder`). The codec is, in order: the
one the operator uploaded for the device; the codec of the device model it is registered
with (`vocab.devices`); the codec of the model The Things Stack's `version_ids` name. It
runs in `connectors.codecs.CodecRunner` (QuickJS, time and memory limits per call).

Uploaded codecs live in the control plane (`ingest_device_codec`): they steer how this
node reads its own devices and are nothing a peer needs. Routes:
`PUT|GET|DELETE /admin/devices/{device}/codec`, and `GET /admin/device-models` (the
library, to offer models by name). CLI: `allmende device codec DIR --device ID FILE`.

A codec's `warnings` (an unknown channel it skipped, a reading it could not make sense
of) mean the device sent more than was stored: they are kept per device
(`ingest_codec_warning`, the newest uplink that had any) and shown with the device
(`GET /admin/devices/{device}`, `allmende device show`, the console's device page) until
an uplink decodes cleanly, and removed with the device.
So are the warnings of The Things Stack's payload formatter
(`uplink_message.decoded_payload_warnings`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from aiohttp import web
from sqlmodel import Field, Session, SQLModel, select

from allmende.connectors.codecs import MAX_SOURCE, Codec, CodecFailed, CodecRunner
from allmende.connectors.lorawan import RawUplink
from allmende.node.http.openapi import TEXT, describe, json_request
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.ingest.commands import DIRECTORY, device
from allmende.node.runtime import Node
from allmende.vocab.devices import codec_source, model_for_version_ids, models

NO_CONTENT = {"204": {"description": "removed"}, "404": {"description": "no codec uploaded"}}


class DeviceCodec(SQLModel, table=True):
    """A codec the operator uploaded for one device; it wins over the model's."""

    __tablename__ = "ingest_device_codec"

    device_id: str = Field(primary_key=True, max_length=128)
    source: str
    sha256: str = Field(max_length=64)
    uploaded: datetime


WARNINGS_KEPT = 10
"""Warnings kept per uplink (a codec may repeat one per record)."""
WARNING_LENGTH = 300
REWRITE_AFTER = 60.0
"""Seconds before the same warnings of the same device are written again (with their
newer time): a device that warns on every uplink costs one write a minute, not one each."""


class CodecWarning(SQLModel, table=True):
    """The warnings a device's codec gave for the newest uplink that had any."""

    __tablename__ = "ingest_codec_warning"

    device_id: str = Field(primary_key=True, max_length=128)
    time: datetime
    codec: str = Field(max_length=128)
    warnings: str  # JSON array of strings


def codec_warnings(session: Session, device_id: str) -> dict[str, Any] | None:
    """What the device page and API show: the codec's warnings and when, or None."""
    row = session.get(CodecWarning, device_id)
    if row is None:
        return None
    return {"time": row.time.isoformat(), "codec": row.codec, "warnings": json.loads(row.warnings)}


class Decoders:
    """The node's `Decoder`: finds a raw uplink's codec and runs it in the sandbox."""

    def __init__(self, node: Node, registry: Any, runner: CodecRunner | None = None) -> None:
        self.node = node
        self.registry = registry
        self.runner = runner or CodecRunner()
        self._uploaded: dict[str, Codec] | None = None
        self._lock = threading.Lock()
        self._warned: dict[str, tuple[tuple[str, ...], float]] | None = None
        self._warned_for: object = None

    def uploaded(self) -> dict[str, Codec]:
        with self._lock:
            if self._uploaded is None:
                with Session(self.node.engine) as session:
                    rows = session.exec(select(DeviceCodec)).all()
                self._uploaded = {r.device_id: Codec(r.device_id, r.source) for r in rows}
            return self._uploaded

    def clear(self) -> None:
        with self._lock:
            self._uploaded = None

    def codec_for(self, raw: RawUplink) -> Codec | None:
        """The device's codec: uploaded, else its registered model's, else the model
        `version_ids` name; None when there is none."""
        mappings = self.registry.mappings()
        stored = self.registry.resolve(raw.device_id, raw.device_name)
        uploaded = self.uploaded()
        if stored is not None and stored in uploaded:
            return uploaded[stored]
        if raw.device_id in uploaded:
            return uploaded[raw.device_id]
        name = mappings[stored].profile if stored is not None else None
        if name:
            try:
                source = codec_source(name)
            except KeyError:
                source = None  # a generic profile, not a device model
            if source is not None:
                return Codec(name, source)
        chosen = model_for_version_ids(raw.version_ids)
        if chosen is not None and chosen.get("codec"):
            source = codec_source(chosen["name"])
            return Codec(chosen["name"], source) if source else None
        return None

    def __call__(self, raw: RawUplink) -> Mapping[str, Any] | None:
        codec = self.codec_for(raw)
        if codec is None:
            return None
        decoded = self.runner.decode(codec, raw.payload, raw.f_port, raw.received)
        self.keep_warnings(
            raw.device_id, raw.device_name, raw.received, codec.name, decoded.warnings
        )
        return decoded.data

    def settled(self, device: str, alias: str | None, warnings: Sequence[str]) -> bool:
        """Whether `keep_warnings` would write nothing, known without the database: a
        device that is not registered, or one without warnings before and now. Ingest then
        skips the trip to a thread for it (nearly every uplink)."""
        if warnings:
            return False
        known = self.registry.known()
        device_id = self.registry.resolve(device, alias)
        if device_id is None:
            return True
        with self._lock:
            return (
                self._warned is not None
                and self._warned_for is known
                and device_id not in self._warned
            )

    def keep_warnings(
        self,
        device: str,
        alias: str | None,
        received: datetime,
        codec: str,
        warnings: Sequence[str],
    ) -> None:
        """Store a registered device's codec warnings (`codec` names who decoded: a model,
        the device, or the network server's formatter); forget them after a clean decode."""
        device_id = self.registry.resolve(device, alias)
        if device_id is None:
            return
        kept = tuple(str(w)[:WARNING_LENGTH] for w in warnings[:WARNINGS_KEPT])
        now = time.monotonic()
        known = self.registry.known()
        with self._lock:
            if self._warned is None or self._warned_for is not known:
                # read anew after any registry change: removing a device deletes its
                # warnings, and one registered again under its id must get its own
                self._warned_for = known
                with Session(self.node.engine) as session:
                    rows = session.exec(select(CodecWarning)).all()
                self._warned = {
                    r.device_id: (tuple(json.loads(r.warnings)), -math.inf) for r in rows
                }
            seen = self._warned.get(device_id)
            if not kept and seen is None:
                return
            if kept and seen is not None and seen[0] == kept and now - seen[1] < REWRITE_AFTER:
                return
            if kept:
                self._warned[device_id] = (kept, now)
            else:
                del self._warned[device_id]
        with Session(self.node.engine) as session:
            row = session.get(CodecWarning, device_id)
            if not kept:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(
                    CodecWarning(
                        device_id=device_id,
                        time=received,
                        codec=codec[:128],
                        warnings=json.dumps(list(kept), ensure_ascii=False),
                    )
                )
            else:
                row.time = received
                row.codec = codec[:128]
                row.warnings = json.dumps(list(kept), ensure_ascii=False)
                session.add(row)
            session.commit()


def _room(request: web.Request) -> dict[str, Any]:
    room: dict[str, Any] = request.app["ingest"]
    return room


def _known_device(request: web.Request) -> str:
    device_id = request.match_info["device"]
    stored: str | None = _room(request)["registry"].resolve(device_id)
    if stored is None:
        raise Problem(404, "Not Found", f"no registered device {device_id[:64]!r}")
    return stored


def store_codec(node: Node, runner: CodecRunner, device_id: str, source: str) -> DeviceCodec:
    """Check a codec in the sandbox (compiles, defines decodeUplink) and store it."""
    runner.check(Codec(device_id, source))
    row = DeviceCodec(
        device_id=device_id,
        source=source,
        sha256=hashlib.sha256(source.encode()).hexdigest(),
        uploaded=datetime.now(UTC),
    )
    with Session(node.engine) as session:
        existing = session.get(DeviceCodec, device_id)
        if existing is not None:
            session.delete(existing)
            session.flush()
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


def _codec_json(row: DeviceCodec) -> dict[str, Any]:
    return {
        "device": row.device_id,
        "sha256": row.sha256,
        "bytes": len(row.source.encode()),
        "uploaded": row.uploaded.isoformat(),
    }


@describe(
    "Upload a codec for a device (JavaScript, The Things Network's decodeUplink format)",
    tags=["devices"],
    admin=True,
    request_body=json_request(
        {
            "type": "object",
            "required": ["codec"],
            "properties": {"codec": {**TEXT, "maxLength": MAX_SOURCE}},
        }
    ),
    responses={
        "200": {"description": "stored"},
        "400": {"$ref": "#/components/responses/Problem"},
        "404": {"$ref": "#/components/responses/Problem"},
    },
)
@admin_only
async def codec_put(request: web.Request) -> web.Response:
    from allmende.node.ingest.routes import read_json

    node: Node = request.app["node"]
    device_id = _known_device(request)
    body = await read_json(request)
    source = body.get("codec") if isinstance(body, dict) else None
    if not isinstance(source, str) or not source.strip():
        raise Problem(400, "Bad Request", "codec: give the JavaScript source as a string")
    decoders: Decoders = _room(request)["decoders"]
    try:
        row = await node.write(lambda: store_codec(node, decoders.runner, device_id, source))
    except CodecFailed as failure:
        raise Problem(
            400,
            "Bad Request",
            f"codec: {failure.reason}",
            errors=[{"field": "codec", "code": failure.code, "message": failure.reason}],
        ) from None
    decoders.clear()
    return web.json_response(_codec_json(row))


@describe("The codec uploaded for a device", tags=["devices"], admin=True)
@admin_only
async def codec_get(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    device_id = _known_device(request)

    def read() -> DeviceCodec | None:
        with Session(node.engine) as session:
            return session.get(DeviceCodec, device_id)

    row = await asyncio.to_thread(read)
    if row is None:
        raise Problem(404, "Not Found", f"no codec uploaded for {device_id!r}")
    return web.json_response({**_codec_json(row), "codec": row.source})


@describe(
    "Remove a device's uploaded codec (its model's codec applies again)",
    tags=["devices"],
    admin=True,
    responses=NO_CONTENT,
)
@admin_only
async def codec_delete(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    device_id = _known_device(request)

    def delete() -> bool:
        with Session(node.engine) as session:
            row = session.get(DeviceCodec, device_id)
            if row is None:
                return False
            session.delete(row)
            session.commit()
            return True

    if not await node.write(delete):
        raise Problem(404, "Not Found", f"no codec uploaded for {device_id!r}")
    _room(request)["decoders"].clear()
    return web.Response(status=204)


@describe(
    "The device library: real device models to register devices with",
    tags=["devices"],
    admin=True,
)
@admin_only
async def model_list(request: web.Request) -> web.Response:
    return web.json_response({"items": models()})


def setup(app: web.Application) -> None:
    """Add the decoder to the ingest room and the codec routes (after routes.setup)."""
    room = app["ingest"]
    room["decoders"] = Decoders(app["node"], room["registry"])
    app.router.add_put("/admin/devices/{device}/codec", codec_put)
    app.router.add_get("/admin/devices/{device}/codec", codec_get)
    app.router.add_delete("/admin/devices/{device}/codec", codec_delete)
    app.router.add_get("/admin/device-models", model_list)


@device.command("codec")
@DIRECTORY
@click.option("--device", "device_id", required=True, help="DevEUI or device id.")
@click.argument("codec_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def codec_command(directory: Path, device_id: str, codec_file: Path) -> None:
    """Upload a codec (JavaScript with decodeUplink) for a device's raw uplinks."""
    from urllib.parse import quote

    from allmende.node.catalog.commands import CommandError, _fail, _running_node

    source = codec_file.read_text(encoding="utf-8")
    try:
        remote = _running_node(directory)
        if remote is not None:
            path = f"/admin/devices/{quote(device_id, safe='')}/codec"
            result = remote.call("PUT", path, {"codec": source})
        else:
            result = _offline_store(directory, device_id, source)
    except CommandError as exc:
        _fail(exc)
    click.echo(
        f"codec {result['sha256'][:12]} ({result['bytes']} bytes) stored for {result['device']}"
    )


def _offline_store(directory: Path, device_id: str, source: str) -> dict[str, Any]:
    from allmende.node.catalog.commands import CommandError
    from allmende.node.ingest.registry import Registry

    node = Node.open(directory)
    try:
        stored = Registry(node).resolve(device_id)
        if stored is None:
            raise CommandError(f"there is no registered device {device_id!r}")
        try:
            return _codec_json(store_codec(node, CodecRunner(), stored, source))
        except CodecFailed as failure:
            raise CommandError(f"codec: {failure.reason}") from None
    finally:
        node.close()
