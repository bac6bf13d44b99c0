"""The few types every connector shares: what came in, what was wrong, and how it maps.

A connector turns one network server's payload into `Observation`s, source-neutral and
still free of RDF; `connectors.sosa` turns them into SOSA/QUDT quads using a
`DeviceMapping`. Problems are `Rejection`s: a payload that fails its JSON Schema raises
`PayloadRejected` (the node answers 4xx and writes nothing); problems with single values
(a field outside the mapping, a missing decoder result) travel in the `ConnectorResult`
next to the observations that were fine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any, Literal, get_args
from urllib.parse import quote

import pyoxigraph as ox

Scalar = float | int | bool | str
Datatype = Literal["decimal", "integer", "boolean", "string"]
DATATYPES: frozenset[str] = frozenset(get_args(Datatype))
MAX_STRING_VALUE = 1024
MAX_INTEGER = 2**63 - 1

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})\Z"
)
_EUI64 = re.compile(r"[0-9A-Fa-f]{16}\Z")
_DATASET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")


def parse_time(value: str) -> datetime:
    """An RFC 3339 timestamp with offset as an aware UTC datetime (nanoseconds truncated).

    Stricter than `datetime.fromisoformat`, which also takes dates and local times: a
    measurement without an offset is ambiguous, and we do not guess its zone.
    """
    if len(value) > 40 or not _RFC3339.match(value):
        raise ValueError("not an RFC 3339 timestamp with offset")
    return datetime.fromisoformat(value).astimezone(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: one spelling per instant, for IRIs and events."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_device_id(device_id: str) -> str:
    """Lower-case an EUI-64 (TTN writes DevEUIs upper-case, ChirpStack lower-case)."""
    return device_id.lower() if _EUI64.match(device_id) else device_id


def value_problem(value: Any) -> str | None:
    """Why a decoded value cannot be an observation's result, or None if it can."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if -MAX_INTEGER <= value <= MAX_INTEGER else "integer out of range"
    if isinstance(value, str):
        if len(value) > MAX_STRING_VALUE:
            return f"string value longer than {MAX_STRING_VALUE} characters"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "number is not finite"
    if value is None:
        return "null value: no reading"
    if isinstance(value, list):
        return "array value: map the scalar members instead"
    return f"unsupported value of type {type(value).__name__}"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an observation came from; shared by all observations of one uplink.

    `rssi` and `snr` are those of the best-receiving gateway (highest RSSI).
    """

    network_server: str | None = None
    application_id: str | None = None
    device_name: str | None = None
    uplink_id: str | None = None
    gateway_ids: tuple[str, ...] = ()
    rssi: float | None = None
    snr: float | None = None
    f_port: int | None = None
    f_cnt: int | None = None
    simulated: bool = False

    def to_json(self) -> dict[str, Any]:
        """Only what is known, so that events stay small."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if value is None or value == () or value is False:
                continue
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Provenance:
        known = {k: v for k, v in data.items() if k in cls.__slots__}
        if "gateway_ids" in known:
            known["gateway_ids"] = tuple(known["gateway_ids"])
        return cls(**known)


NO_PROVENANCE = Provenance()


@dataclass(frozen=True, slots=True)
class Observation:
    """One decoded value of one device at one time, before any mapping to linked data.

    `path` says where in the payload the value was found (for messages only; it is not
    part of the observation's identity or of its JSON form).
    """

    device_id: str
    field: str
    value: Scalar
    result_time: datetime
    source: str
    phenomenon_time: datetime | None = None
    provenance: Provenance = NO_PROVENANCE
    path: str = dataclass_field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON form carried in events (see `from_json`)."""
        out: dict[str, Any] = {
            "device": self.device_id,
            "field": self.field,
            "value": self.value,
            "resultTime": format_time(self.result_time),
            "source": self.source,
        }
        if self.phenomenon_time is not None:
            out["phenomenonTime"] = format_time(self.phenomenon_time)
        provenance = self.provenance.to_json()
        if provenance:
            out["provenance"] = provenance
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Observation:
        phenomenon = data.get("phenomenonTime")
        return cls(
            device_id=data["device"],
            field=data["field"],
            value=data["value"],
            result_time=parse_time(data["resultTime"]),
            source=data["source"],
            phenomenon_time=parse_time(phenomenon) if phenomenon else None,
            provenance=Provenance.from_json(data.get("provenance", {})),
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """What was wrong and where: `path` is a JSON pointer (`/uplink_message/f_port`) or,
    for CSV, `/rows/<row number>/<column>`; `code` is a short machine-readable reason."""

    path: str
    reason: str
    code: str = "invalid"

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason, "code": self.code}


@dataclass(frozen=True, slots=True)
class ConnectorResult:
    """The outcome of one payload: observations, problems, or an acknowledged no-op.

    `ignored` is set for messages that are valid but carry no observations (a ChirpStack
    `join`, a TTN join-accept): the sender gets 2xx and nothing is written.
    """

    observations: tuple[Observation, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    ignored: bool = False
    reason: str | None = None

    @classmethod
    def ignore(cls, reason: str) -> ConnectorResult:
        return cls(ignored=True, reason=reason)


class PayloadRejected(ValueError):
    """The payload as a whole is refused (schema, size, unknown event type): nothing of it
    may be written. Carries the first few `Rejection`s for the problem body."""

    def __init__(self, rejections: list[Rejection] | tuple[Rejection, ...]) -> None:
        self.rejections = tuple(rejections)
        first = self.rejections[0] if self.rejections else Rejection("", "rejected")
        super().__init__(f"{first.path or '/'}: {first.reason}")


def check_iri(iri: str) -> str:
    """Refuse what is not an absolute IRI now rather than when the quads are built."""
    try:
        ox.NamedNode(iri)
    except ValueError as error:
        raise ValueError(f"not an absolute IRI: {iri[:200]!r}") from error
    return iri


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """How one decoded field becomes linked data: property, unit, datatype, feature."""

    observable_property: str
    datatype: Datatype
    feature_of_interest: str
    unit: str | None = None
    quantity_kind: str | None = None

    def __post_init__(self) -> None:
        if self.datatype not in DATATYPES:
            raise ValueError(f"datatype must be one of {sorted(DATATYPES)}")
        for iri in (self.observable_property, self.feature_of_interest):
            check_iri(iri)
        for optional in (self.unit, self.quantity_kind):
            if optional is not None:
                check_iri(optional)


@dataclass(frozen=True)
class DeviceMapping:
    """One registered device: its identity, where it stands, its dataset, its fields.

    `device_id` is canonical (see `canonical_device_id`): a DevEUI, or the device id the
    source uses when there is none. Fields not in `fields` are reported, never guessed.
    """

    device_id: str
    dataset_id: str
    sensor: str
    platform: str
    fields: Mapping[str, FieldMapping]
    lat: float | None = None
    lon: float | None = None
    label: str | None = None
    profile: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "device_id", canonical_device_id(self.device_id))
        if not _DATASET_ID.match(self.dataset_id):
            raise ValueError("dataset id must be 1-128 characters of [A-Za-z0-9._-]")
        check_iri(self.sensor)
        check_iri(self.platform)
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.lat is not None and not -90.0 <= self.lat <= 90.0:
            raise ValueError("lat must be within [-90, 90] (WGS84 degrees)")
        if self.lon is not None and not -180.0 <= self.lon <= 180.0:
            raise ValueError("lon must be within [-180, 180] (WGS84 degrees)")

    @classmethod
    def from_profile(
        cls,
        profile: Mapping[str, Any],
        *,
        device_id: str,
        dataset_id: str,
        base: str,
        lat: float | None = None,
        lon: float | None = None,
        label: str | None = None,
        feature_of_interest: str | None = None,
    ) -> DeviceMapping:
        """Combine a device profile (see `vocab.devices`) with one device's particulars.

        Default IRIs under `base`: sensor `{base}/sensors/{device}`, platform
        `{base}/platforms/{device}`, observed feature `{base}/features/{device}`. A
        profile field whose `featureOfInterest` is `"device"` (battery voltage, say)
        observes the platform itself; `"environment"` fields observe the feature.
        """
        root = base_iri(base)
        device = canonical_device_id(device_id)
        segment = quote(device, safe="")
        platform = f"{root}/platforms/{segment}"
        environment = feature_of_interest or f"{root}/features/{segment}"
        fields = {
            name: FieldMapping(
                observable_property=spec["observableProperty"],
                datatype=spec["datatype"],
                feature_of_interest=platform
                if spec.get("featureOfInterest") == "device"
                else environment,
                unit=spec.get("unit"),
                quantity_kind=spec.get("quantityKind"),
            )
            for name, spec in profile["fields"].items()
        }
        return cls(
            device_id=device,
            dataset_id=dataset_id,
            sensor=f"{root}/sensors/{segment}",
            platform=platform,
            fields=fields,
            lat=lat,
            lon=lon,
            label=label,
            profile=profile.get("name"),
        )


def base_iri(base: str) -> str:
    """The node's base IRI without a trailing slash; it must be http(s)."""
    root = base.rstrip("/")
    if not root.startswith(("https://", "http://")):
        raise ValueError("base must be an http(s) IRI")
    check_iri(root + "/")
    return root
