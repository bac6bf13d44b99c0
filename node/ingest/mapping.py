"""Per-device field mapping: what each decoded field of one device means, and how its
readings are checked before they become observations.

A device's mapping is its stored profile (`Device.profile`): the ready-made profile or
device model it was registered with (`vocab.devices`: a model's field specs are the
device's default mapping), changed field by field by the operator. Each field names its
observable property, QUDT unit, datatype and observed feature, and optionally a scale and
offset (`value * scale + offset`: a decoder's 2150 hundredths of a degree become 21.5 °C)
and a plausible `range` (`min`, `max`), in the same form as the device library's. A reading outside the range (or outside what the unit and
property allow, see `node.ingest.properties`) is stored with a quality flag, or refused
when the device's `implausible` setting says so; it is never stored silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from allmende.connectors.model import DATATYPES, Observation, check_iri
from allmende.node.ingest import properties as known
from allmende.node.messages import Number, say

FLAG, REFUSE = "flag", "refuse"
POLICIES = (FLAG, REFUSE)
FEATURES = ("environment", "device")
NUMERIC = ("decimal", "integer")
MAX_FIELD = 64
MAX_FIELDS = 64
INPUT_KEYS = frozenset(
    {"property", "unit", "datatype", "feature", "scale", "offset", "min", "max", "label"}
)


class MappingError(ValueError):
    """A mapping that cannot be stored; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _number(where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MappingError(where, "must be a finite number")
    return float(value)


def _text(where: str, value: Any, limit: int = 512) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= limit:
        raise MappingError(where, f"must be text of 1 to {limit} characters")
    return value.strip()


def field_spec(name: str, body: Any) -> dict[str, Any]:
    """A field mapping as the operator gives it (`property`, `unit`, `datatype`, `feature`,
    `scale`, `offset`, `min`, `max`, `label`) in the stored profile form. Short names are
    expanded (`air_temperature`, `DEG_C`); what the node knows of the property fills the
    rest; a unit that cannot measure the property is refused."""
    at = f"fields/{name}"
    if not isinstance(body, Mapping):
        raise MappingError(at, "a field mapping is a JSON object")
    unknown = sorted(set(body) - INPUT_KEYS)
    if unknown:
        raise MappingError(
            f"{at}/{unknown[0][:40]}", f"unknown member; known: {sorted(INPUT_KEYS)}"
        )
    given = _text(f"{at}/property", body.get("property"))
    if given is None:
        raise MappingError(f"{at}/property", "name the observable property (IRI or short name)")
    prop = known.property_iri(given)
    try:
        check_iri(prop)
    except ValueError as exc:
        raise MappingError(f"{at}/property", str(exc)) from None
    about = known.BY_IRI.get(prop)
    datatype = _text(f"{at}/datatype", body.get("datatype")) or (
        about.datatype if about else "decimal"
    )
    if datatype not in DATATYPES:
        raise MappingError(f"{at}/datatype", f"must be one of {sorted(DATATYPES)}")
    feature = _text(f"{at}/feature", body.get("feature")) or (
        about.feature if about else "environment"
    )
    if feature not in FEATURES:
        raise MappingError(f"{at}/feature", f"must be one of {list(FEATURES)}")
    spec: dict[str, Any] = {
        "observableProperty": prop,
        "datatype": datatype,
        "featureOfInterest": feature,
    }
    unit_text = _text(f"{at}/unit", body.get("unit"))
    numbers = {k: _number(f"{at}/{k}", body.get(k)) for k in ("scale", "offset", "min", "max")}
    if datatype in NUMERIC:
        unit_text = unit_text or (about.default_unit if about else None)
        if unit_text is None:
            raise MappingError(f"{at}/unit", "a number needs its QUDT unit, e.g. DEG_C or PERCENT")
        unit = known.unit_iri(unit_text)
        try:
            check_iri(unit)
        except ValueError as exc:
            raise MappingError(f"{at}/unit", str(exc)) from None
        problem = known.unit_problem(prop, unit)
        if problem is not None:
            raise MappingError(f"{at}/unit", problem)
        spec["unit"] = unit
        if about is not None and about.quantity_kind:
            spec["quantityKind"] = about.quantity_kind
        if numbers["scale"] == 0:
            raise MappingError(f"{at}/scale", "a scale of 0 would make every reading 0")
        low, high = numbers["min"], numbers["max"]
        if low is not None and high is not None and low > high:
            raise MappingError(f"{at}/min", "min lies above max")
        spec.update({k: numbers[k] for k in ("scale", "offset") if numbers[k] is not None})
        bounds = {k: numbers[k] for k in ("min", "max") if numbers[k] is not None}
        if bounds:
            spec["range"] = bounds
    else:
        if unit_text is not None:
            raise MappingError(f"{at}/unit", f"a {datatype} value has no unit")
        taken = [k for k, v in numbers.items() if v is not None]
        if taken:
            raise MappingError(f"{at}/{taken[0]}", f"only numbers have a {taken[0]}")
    label = body.get("label")
    if isinstance(label, str):
        label = {"de": label, "en": label}
    if label is None and about is not None:
        label = {"de": about.de, "en": about.en}
    if label is not None:
        if not (
            isinstance(label, Mapping)
            and set(label) <= {"de", "en"}
            and all(isinstance(v, str) and 1 <= len(v) <= 200 for v in label.values())
            and label
        ):
            raise MappingError(f"{at}/label", "a label is text, or {'de': ..., 'en': ...}")
        spec["label"] = dict(label)
    return spec


def changed_profile(profile: Mapping[str, Any], body: Any) -> dict[str, Any]:
    """The device's profile after a mapping change: `fields` maps a decoded field name to
    its mapping, or to null to unmap it; `implausible` is `flag` or `refuse`, or null to
    follow the node's setting (`ingest.implausible`)."""
    if not isinstance(body, Mapping):
        raise MappingError("(body)", "must be a JSON object")
    unknown = sorted(set(body) - {"fields", "implausible"})
    if unknown:
        raise MappingError(unknown[0][:40], "unknown member; known: fields, implausible")
    fields = dict(profile.get("fields", {}))
    changes = body.get("fields", {})
    if not isinstance(changes, Mapping):
        raise MappingError("fields", "must be an object of field name -> mapping (or null)")
    for name, spec in changes.items():
        if not 1 <= len(name) <= MAX_FIELD:
            raise MappingError("fields", f"a field name has 1 to {MAX_FIELD} characters")
        if spec is None:
            fields.pop(name, None)
        else:
            fields[name] = field_spec(name, spec)
    if len(fields) > MAX_FIELDS:
        raise MappingError("fields", f"a device has at most {MAX_FIELDS} mapped fields")
    policy = body.get("implausible", profile.get("implausible"))
    if policy is not None and policy not in POLICIES:
        raise MappingError("implausible", f"must be one of {list(POLICIES)}, or null")
    if not changes and "implausible" not in body:
        raise MappingError("(body)", "give fields to map or unmap, or implausible")
    changed = {k: v for k, v in profile.items() if k != "implausible"}
    changed["fields"] = fields
    if policy is not None:
        changed["implausible"] = policy
    return changed


@dataclass(frozen=True, slots=True)
class Check:
    """How one mapped field's readings are adjusted and checked at ingest."""

    scale: Decimal | None
    offset: Decimal | None
    low: float | None
    high: float | None
    integer: bool
    unit: str | None

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> Check | None:
        """None for fields with nothing to do (not numbers)."""
        if spec.get("datatype") not in NUMERIC:
            return None
        unit = spec.get("unit")
        low, high = known.plausible_range(spec["observableProperty"], unit)
        floor, ceiling = known.PHYSICAL.get(known.unit_code(unit) or "", (None, None))
        given = spec.get("range") or {}
        low = given.get("min", low)
        high = given.get("max", high)
        if floor is not None and (low is None or low < floor):
            low = floor
        if ceiling is not None and (high is None or high > ceiling):
            high = ceiling
        scale, offset = spec.get("scale"), spec.get("offset")
        return cls(
            Decimal(repr(scale)) if scale is not None else None,
            Decimal(repr(offset)) if offset is not None else None,
            low,
            high,
            spec.get("datatype") == "integer",
            unit,
        )

    def apply(self, observation: Observation) -> tuple[Observation, str | None]:
        """The reading scaled, and why it is implausible (None if it is not). A value that
        is not a number is passed on unchanged: the datatype check reports it."""
        value = observation.value
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return observation, None
        try:
            number = Decimal(value.strip() if isinstance(value, str) else repr(value))
        except InvalidOperation:
            return observation, None
        if not number.is_finite():
            return observation, None
        if self.scale is not None or self.offset is not None:
            number = number * (self.scale or 1) + (self.offset or 0)
            text = format(number.normalize(), "f")
            if self.integer and number == number.to_integral_value():
                text = str(int(number))
            observation = _with_value(observation, text)
        reading = float(number)
        if (self.low is not None and reading < self.low) or (
            self.high is not None and reading > self.high
        ):
            shown = Number(format(number.normalize(), "f"))
            unit = known.symbol(self.unit)
            low, high = _bound(self.low), _bound(self.high)
            if not unit:
                return observation, say(
                    "%(value)s is not plausible here (expected %(low)s to %(high)s)",
                    value=shown,
                    low=low,
                    high=high,
                )
            return observation, say(
                "%(value)s %(unit)s is not plausible here (expected %(low)s to %(high)s %(unit)s)",
                value=shown,
                unit=unit,
                low=low,
                high=high,
            )
        return observation, None


def _bound(value: float | None) -> str:
    if value is None:
        return "…"
    return Number(format(Decimal(repr(value)).normalize(), "f"))


def _with_value(observation: Observation, value: str) -> Observation:
    return Observation(
        device_id=observation.device_id,
        field=observation.field,
        value=value,
        result_time=observation.result_time,
        source=observation.source,
        phenomenon_time=observation.phenomenon_time,
        provenance=observation.provenance,
        path=observation.path,
    )


def checks_of(profile: Mapping[str, Any]) -> dict[str, Check]:
    found = {}
    for name, spec in profile.get("fields", {}).items():
        check = Check.of(spec)
        if check is not None:
            found[name] = check
    return found
