"""The device registry: which device feeds which dataset, and how its fields map.

Mappings are rebuilt from the stored profile JSON with `DeviceMapping.from_profile`, so the
same profile file describes a device here, in events and in the operator's CLI. A cache
keeps ingest from reading the table per request; every registry change clears it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

import orjson
from sqlmodel import Session, col, delete, select

from allmende.connectors.model import DeviceMapping, canonical_device_id
from allmende.connectors.positions import Position
from allmende.connectors.sosa import sensor_description_quads
from allmende.node.ingest.graphs import sensor_graph, to_ntriples
from allmende.node.ingest.mapping import FLAG, Check, MappingError, changed_profile, checks_of
from allmende.node.ingest.models import Device, UnmappedField
from allmende.node.messages import say
from allmende.node.runtime import Node
from allmende.vocab.devices import (
    list_profiles,
    load_model,
    load_profile,
    model_for_version_ids,
    models,
)

REGISTERED = "de.allmende.device.registered"
REMOVED = "de.allmende.device.removed"
MAPPED = "de.allmende.device.mapped"
_EUI_AS_TYPED = re.compile(r"[0-9A-Fa-f]{2}(?:[-:. ]?[0-9A-Fa-f]{2}){7}\Z")
_SEPARATORS = re.compile(r"[-:. ]")


def registry_id(raw: str) -> str:
    """The stored form of a device id as people copy it from labels and consoles: a DevEUI
    without separators in lower case (`70-B3-D5-7E-D0-00-0B-BB` -> `70b3d57ed0000bbb`), any
    other id in lower case (`Keller-Sensor` -> `keller-sensor`, as The Things Stack spells
    its device ids). Ingest looks devices up the same way, so the two always meet."""
    text = raw.strip()
    if _EUI_AS_TYPED.match(text):
        return _SEPARATORS.sub("", text).lower()
    return canonical_device_id(text).lower()


class RegistryError(ValueError):
    """A device that cannot be registered; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def mapping_of(node: Node, device: Device) -> DeviceMapping:
    return DeviceMapping.from_profile(
        json.loads(device.profile),
        device_id=device.id,
        dataset_id=device.dataset_id,
        base=node.base_url,
        lat=device.lat,
        lon=device.lon,
        label=device.label,
    )


@dataclass(frozen=True)
class Known:
    """What ingest needs of the registered devices, built once per registry change."""

    mappings: dict[str, DeviceMapping]
    ids: dict[str, str]
    """Each stored id by its `registry_id`, so that `Keller-Sensor` finds `keller-sensor`
    (and devices registered before ids were stored in lower case keep theirs)."""
    checks: dict[str, dict[str, Check]]
    refusing: frozenset[str]
    """Devices whose implausible readings are refused instead of flagged."""
    adoptable: frozenset[str] = frozenset()
    """Devices registered without a device model that have not adopted one (see
    `adopt_model`), so the check costs nothing for the rest."""
    datasets: dict[str, str] = field(default_factory=dict)
    """Each device's dataset, for the latest values written with every commit."""
    unplaced: frozenset[str] = frozenset()
    """Devices registered without a position (see `locate`): while there are none, the
    positions an uplink reports need not even be read."""


class Registry:
    """Mappings by canonical device id, cached until the next registry change."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._cache: Known | None = None
        self._lock = threading.Lock()

    def known(self) -> Known:
        cached = self._cache
        if cached is not None:  # read once per request and more: no lock while it holds
            return cached
        with self._lock:
            if self._cache is None:
                with Session(self.node.engine) as session:
                    devices = session.exec(select(Device)).all()
                profiles = {d.id: json.loads(d.profile) for d in devices}
                default = self.node.settings.ingest.implausible
                self._cache = Known(
                    mappings={d.id: mapping_of(self.node, d) for d in devices},
                    ids={registry_id(d.id): d.id for d in devices},
                    checks={d: checks_of(p) for d, p in profiles.items()},
                    refusing=frozenset(
                        d for d, p in profiles.items() if p.get("implausible", default) != FLAG
                    ),
                    adoptable=frozenset(
                        d
                        for d, p in profiles.items()
                        if p.get("name") not in _model_names() and not p.get("adoptedModel")
                    ),
                    datasets={d.id: d.dataset_id for d in devices},
                    unplaced=frozenset(d.id for d in devices if d.lat is None),
                )
            return self._cache

    def mappings(self) -> dict[str, DeviceMapping]:
        return self.known().mappings

    def resolve(self, device_id: str, *aliases: str | None) -> str | None:
        """The stored id of a device as a network server names it: by DevEUI, or by its
        device id or name (The Things Stack sends both; it may be registered by either)."""
        known = self.known()
        if device_id in known.mappings:
            return device_id
        for name in (device_id, *aliases):
            if name:
                found = known.ids.get(registry_id(name))
                if found is not None:
                    return found
        return None

    def clear(self) -> None:
        with self._lock:
            self._cache = None


def dataset_exists(node: Node, dataset_id: str) -> bool:
    """Devices feed datasets of the catalog; the one place that is checked."""
    from allmende.node.catalog.models import is_published

    with Session(node.engine) as session:
        return is_published(session, dataset_id)


def prepare_device(node: Node, body: Any) -> tuple[Device, dict[str, Any]]:
    """Check a registration request; return the row and its event (nothing written yet)."""
    if not isinstance(body, dict):
        raise RegistryError("(body)", say("must be a JSON object"))
    raw_id = body.get("device")
    if not isinstance(raw_id, str) or not 1 <= len(raw_id) <= 128:
        raise RegistryError(
            "device", say("a device id (DevEUI or network server device id) is required")
        )
    device_id = registry_id(raw_id)
    if not device_id:
        raise RegistryError("device", say("the device id is empty"))
    dataset_id = body.get("dataset")
    if not isinstance(dataset_id, str) or not dataset_exists(node, dataset_id):
        raise RegistryError(
            "dataset", say("there is no published dataset '%(dataset)s'", dataset=dataset_id)
        )
    profile = body.get("profile")
    if isinstance(profile, str):
        if profile not in list_profiles():
            raise RegistryError(
                "profile", f"unknown profile {profile!r}; known: {', '.join(list_profiles())}"
            )
        profile = load_profile(profile)
    if not isinstance(profile, dict):
        raise RegistryError("profile", say("give a profile name or a profile object"))
    lat, lon, label = body.get("lat"), body.get("lon"), body.get("label")
    row = Device(
        id=device_id,
        dataset_id=dataset_id,
        profile=json.dumps(profile, ensure_ascii=False),
        label=label if isinstance(label, str) else None,
        lat=float(lat) if isinstance(lat, int | float) else None,
        lon=float(lon) if isinstance(lon, int | float) else None,
        registered=datetime.now(UTC),
    )
    try:
        mapping_of(node, row)
    except (ValueError, KeyError, TypeError) as exc:
        raise RegistryError("profile", f"the device cannot be mapped: {exc}") from exc
    event = sensor_event(
        node,
        REGISTERED,
        row,
        {"profile": profile.get("name"), "label": row.label, "lat": row.lat, "lon": row.lon},
    )
    return row, event


async def register(node: Node, registry: Registry, body: Any) -> Device:
    row, event = prepare_device(node, body)

    def replace_existing(session: Session) -> None:
        existing = session.get(Device, row.id)
        if existing is not None:
            session.delete(existing)
            session.flush()

    await node.publish([event], [row], before=replace_existing)
    registry.clear()
    return row


def stored_id(node: Node, device_id: str) -> str:
    """The id a device is stored under, however the operator typed it."""
    wanted = registry_id(device_id)
    with Session(node.engine) as session:
        if session.get(Device, device_id) is not None:
            return device_id
        if session.get(Device, wanted) is not None:
            return wanted
        for stored in session.exec(select(Device.id)).all():
            if registry_id(stored) == wanted:
                return stored
    return wanted


def sensor_event(node: Node, event_type: str, row: Device, extra: dict[str, Any]) -> dict[str, Any]:
    """A device event carrying the sensor's new description, for this node's store and peers'."""
    mapping = mapping_of(node, row)
    return node.event(
        event_type,
        {
            "device": row.id,
            "dataset": row.dataset_id,
            **extra,
            "graph": sensor_graph(node.base_url, row.dataset_id, row.id),
            "format": "application/n-triples",
            "content": to_ntriples(sensor_description_quads(mapping, node.base_url)),
        },
        subject=row.dataset_id,
    )


async def remap(node: Node, registry: Registry, device_id: str, body: Any) -> Device | None:
    """Change how a device's fields map (and whether implausible readings are refused): one
    signed event with the new mapping and sensor description, committed with the row."""
    device_id = stored_id(node, device_id)
    with Session(node.engine) as session:
        row = session.get(Device, device_id)
    if row is None:
        return None
    try:
        profile = changed_profile(json.loads(row.profile), body)
    except MappingError as exc:
        raise RegistryError(exc.field, str(exc)) from None
    return await _publish_mapping(node, registry, row, profile, {})


async def _publish_mapping(
    node: Node, registry: Registry, row: Device, profile: dict[str, Any], extra: dict[str, Any]
) -> Device:
    changed = Device(**{**row.model_dump(), "profile": json.dumps(profile, ensure_ascii=False)})
    try:
        mapping_of(node, changed)
    except (ValueError, KeyError, TypeError) as exc:
        raise RegistryError("fields", f"the device cannot be mapped: {exc}") from exc
    event = sensor_event(
        node,
        MAPPED,
        changed,
        {"fields": profile["fields"], "implausible": profile.get("implausible"), **extra},
    )

    def replace(session: Session) -> None:
        current = session.get(Device, row.id)
        if current is not None:
            current.profile = changed.profile
            session.add(current)
        mapped = list(profile["fields"])
        if mapped:
            session.exec(
                delete(UnmappedField).where(
                    col(UnmappedField.device_id) == row.id, col(UnmappedField.field).in_(mapped)
                )
            )

    await node.publish([event], before=replace)
    registry.clear()
    return changed


async def adopt_model(
    node: Node,
    registry: Registry,
    device_id: str,
    alias: str | None,
    version_ids: Any,
) -> Device | None:
    """A device registered without a device model (a generic or hand-made profile) whose
    uplinks carry The Things Stack's `version_ids` naming a model in the library gets that
    model's field mappings for every field its own mapping lacks, once (`adoptedModel`
    in its profile): a mapping change like any other, so peers and `reindex` agree. The
    operator's own mappings stay; a field the operator unmapped later stays unmapped.
    Devices registered with a model keep it. None when nothing changed."""
    if not isinstance(version_ids, dict) or not registry.known().adoptable:
        return None
    stored = registry.resolve(device_id, alias)
    if stored is None or stored not in registry.known().adoptable:
        return None
    try:
        name = _model_named(orjson.dumps(version_ids, option=orjson.OPT_SORT_KEYS))
    except (TypeError, ValueError):  # not from JSON: no key, looked up as it is
        found = model_for_version_ids(version_ids)
        name = str(found["name"]) if found is not None else None
    if name is None:
        return None
    model = load_model(name)
    with Session(node.engine) as session:
        row = session.get(Device, stored)
    if row is None:
        return None
    profile = json.loads(row.profile)
    fields = dict(profile.get("fields", {}))
    missing = {name: spec for name, spec in model["fields"].items() if name not in fields}
    changed = {**profile, "fields": {**fields, **missing}, "adoptedModel": model["name"]}
    return await _publish_mapping(
        node, registry, row, changed, {"adoptedModel": model["name"], "adopted": sorted(missing)}
    )


@lru_cache(maxsize=1024)
def _model_named(key: bytes) -> str | None:
    """The name of the model the version ids (as sorted JSON) name: asked for every
    uplink of a device that may still adopt one, answered by a walk through the library
    once per version."""
    model = model_for_version_ids(json.loads(key))
    return str(model["name"]) if model is not None else None


@cache
def _model_names() -> frozenset[str]:
    return frozenset(m["name"] for m in models())


async def locate(node: Node, registry: Registry, positions: Sequence[Position]) -> list[str]:
    """Give devices registered without a position the one their network server reports
    (see `connectors.positions`): a registration event with the sensor's new description,
    naming where the position came from. Devices with a position keep theirs."""
    known = registry.known()
    wanted: dict[str, Position] = {}
    for position in positions:
        device = registry.resolve(position.device_id, position.alias)
        if device is not None and known.mappings[device].lat is None:
            seen = wanted.get(device)
            if seen is None or (seen.source == "gateway" and position.source == "device"):
                wanted[device] = position
    placed = []
    for device, position in wanted.items():
        with Session(node.engine) as session:
            row = session.get(Device, device)
        if row is None or row.lat is not None:
            continue
        changed = Device(**{**row.model_dump(), "lat": position.lat, "lon": position.lon})
        event = sensor_event(
            node,
            REGISTERED,
            changed,
            {
                "profile": json.loads(row.profile).get("name"),
                "label": row.label,
                "lat": position.lat,
                "lon": position.lon,
                "position": position.source,
            },
        )

        def place(session: Session, device: str = device, position: Position = position) -> None:
            current = session.get(Device, device)
            if current is not None and current.lat is None:
                current.lat, current.lon = position.lat, position.lon
                session.add(current)

        await node.publish([event], before=place)
        placed.append(device)
    if placed:
        registry.clear()
    return placed


async def remove(node: Node, registry: Registry, device_id: str) -> Device | None:
    device_id = stored_id(node, device_id)
    found: list[Device] = []

    def delete(session: Session) -> None:
        from allmende.node.ingest.codecs import CodecWarning  # codecs imports the CLI

        existing = session.get(Device, device_id)
        if existing is None:
            return
        found.append(existing)
        session.delete(existing)
        # its codec's warnings belong to the device: a device registered anew under the
        # same id starts without the old one's
        warned = session.get(CodecWarning, device_id)
        if warned is not None:
            session.delete(warned)

    with Session(node.engine) as session:
        current = session.get(Device, device_id)
    if current is None:
        return None
    event = node.event(
        REMOVED,
        {
            "device": device_id,
            "dataset": current.dataset_id,
            "graph": sensor_graph(node.base_url, current.dataset_id, device_id),
        },
        subject=current.dataset_id,
    )
    await node.publish([event], before=delete)
    registry.clear()
    return current
