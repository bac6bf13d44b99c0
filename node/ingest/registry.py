"""The device registry: which device feeds which dataset, and how its fields map.

Mappings are rebuilt from the stored profile JSON with `DeviceMapping.from_profile`, so the
same profile file describes a device here, in events and in the operator's CLI. A cache
keeps ingest from reading the table per request; every registry change clears it.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from connectors.model import DeviceMapping, canonical_device_id
from connectors.sosa import sensor_description_quads
from node.ingest.graphs import sensor_graph, to_ntriples
from node.ingest.models import Device
from node.runtime import Node
from vocab.devices import list_profiles, load_profile

REGISTERED = "de.allmende.device.registered"
REMOVED = "de.allmende.device.removed"


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


class Registry:
    """Mappings by canonical device id, cached until the next registry change."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._cache: dict[str, DeviceMapping] | None = None
        self._lock = threading.Lock()

    def mappings(self) -> dict[str, DeviceMapping]:
        with self._lock:
            if self._cache is None:
                with Session(self.node.engine) as session:
                    devices = session.exec(select(Device)).all()
                self._cache = {d.id: mapping_of(self.node, d) for d in devices}
            return self._cache

    def clear(self) -> None:
        with self._lock:
            self._cache = None


def dataset_exists(node: Node, dataset_id: str) -> bool:
    """Devices feed datasets of the catalog; the one place that is checked."""
    from node.catalog.models import is_published

    with Session(node.engine) as session:
        return is_published(session, dataset_id)


def prepare_device(node: Node, body: Any) -> tuple[Device, dict[str, Any]]:
    """Check a registration request; return the row and its event (nothing written yet)."""
    if not isinstance(body, dict):
        raise RegistryError("(body)", "must be a JSON object")
    raw_id = body.get("device")
    if not isinstance(raw_id, str) or not 1 <= len(raw_id) <= 128:
        raise RegistryError(
            "device", "a device id (DevEUI or network server device id) is required"
        )
    device_id = canonical_device_id(raw_id)
    dataset_id = body.get("dataset")
    if not isinstance(dataset_id, str) or not dataset_exists(node, dataset_id):
        raise RegistryError("dataset", f"there is no published dataset {dataset_id!r}")
    profile = body.get("profile")
    if isinstance(profile, str):
        if profile not in list_profiles():
            raise RegistryError(
                "profile", f"unknown profile {profile!r}; known: {', '.join(list_profiles())}"
            )
        profile = load_profile(profile)
    if not isinstance(profile, dict):
        raise RegistryError("profile", "give a profile name or a profile object")
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
        mapping = mapping_of(node, row)
    except (ValueError, KeyError, TypeError) as exc:
        raise RegistryError("profile", f"the device cannot be mapped: {exc}") from exc
    graph = sensor_graph(node.base_url, dataset_id, device_id)
    event = node.event(
        REGISTERED,
        {
            "device": device_id,
            "dataset": dataset_id,
            "profile": profile.get("name"),
            "label": row.label,
            "lat": row.lat,
            "lon": row.lon,
            "graph": graph,
            "format": "application/n-triples",
            "content": to_ntriples(sensor_description_quads(mapping, node.base_url)),
        },
        subject=dataset_id,
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


async def remove(node: Node, registry: Registry, device_id: str) -> Device | None:
    device_id = canonical_device_id(device_id)
    found: list[Device] = []

    def delete(session: Session) -> None:
        existing = session.get(Device, device_id)
        if existing is None:
            return
        found.append(existing)
        session.delete(existing)

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
