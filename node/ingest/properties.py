"""What the node knows about common observable properties: their units and plausible values.

Used three ways: to expand the short names an operator types (`air_temperature`, `DEG_C`)
into IRIs, to suggest units for a decoded field in the console, and to check readings. A
property's units are the only ones it may be mapped with (a battery voltage in per cent is
refused when the mapping is made), and each unit has the range a reading of that property
can plausibly take (a battery voltage of 87 V is flagged when it arrives). Units alone have
physical bounds (nothing is colder than -273.15 °C), which hold for every property.

Property IRIs are CF standard names (NERC vocabulary server) where one fits and our own
namespace where none does, as in the device profiles; units are QUDT.
"""

from __future__ import annotations

from dataclasses import dataclass

CF = "http://vocab.nerc.ac.uk/standard_name/"
OWN = "https://w3id.org/allmende/ns#"
UNIT = "http://qudt.org/vocab/unit/"
KIND = "http://qudt.org/vocab/quantitykind/"

Range = tuple[float | None, float | None]


@dataclass(frozen=True)
class Property:
    """An observable property: IRI, names, and per QUDT unit code the plausible range."""

    name: str
    iri: str
    de: str
    en: str
    units: dict[str, Range]
    datatype: str = "decimal"
    feature: str = "environment"
    quantity_kind: str | None = None

    @property
    def default_unit(self) -> str | None:
        return next(iter(self.units), None)


def _p(
    name: str,
    iri: str,
    de: str,
    en: str,
    units: dict[str, Range],
    *,
    datatype: str = "decimal",
    feature: str = "environment",
    kind: str | None = None,
) -> Property:
    return Property(name, iri, de, en, units, datatype, feature, KIND + kind if kind else None)


PROPERTIES: dict[str, Property] = {
    p.name: p
    for p in (
        _p(
            "air_temperature",
            CF + "air_temperature/",
            "Lufttemperatur",
            "Air temperature",
            {"DEG_C": (-60, 70), "K": (213.15, 343.15), "DEG_F": (-76, 158)},
            kind="Temperature",
        ),
        _p(
            "relative_humidity",
            CF + "relative_humidity/",
            "Relative Luftfeuchte",
            "Relative humidity",
            {"PERCENT_RH": (0, 100), "PERCENT": (0, 100)},
            kind="RelativeHumidity",
        ),
        _p(
            "co2",
            CF + "mole_fraction_of_carbon_dioxide_in_air/",
            "CO2-Gehalt der Luft",
            "CO2 in air",
            {"PPM": (0, 40000)},
        ),
        _p(
            "air_pressure",
            CF + "air_pressure/",
            "Luftdruck",
            "Air pressure",
            {"HectoPA": (300, 1100), "PA": (30000, 110000), "KiloPA": (30, 110)},
            kind="Pressure",
        ),
        _p(
            "soil_temperature",
            CF + "soil_temperature/",
            "Bodentemperatur",
            "Soil temperature",
            {"DEG_C": (-40, 60), "K": (233.15, 333.15)},
            kind="Temperature",
        ),
        _p(
            "soil_moisture",
            CF + "volume_fraction_of_condensed_water_in_soil/",
            "Bodenfeuchte (volumetrisch)",
            "Soil moisture (volumetric)",
            {"PERCENT": (0, 100)},
            kind="VolumeFraction",
        ),
        _p(
            "water_level",
            CF + "water_surface_height_above_reference_datum/",
            "Wasserstand",
            "Water level",
            {"CentiM": (-5000, 100000), "M": (-50, 1000), "MilliM": (-50000, 1000000)},
            kind="Length",
        ),
        _p(
            "battery_voltage",
            OWN + "batteryVoltage",
            "Batteriespannung",
            "Battery voltage",
            {"V": (0, 15), "MilliV": (0, 15000)},
            feature="device",
            kind="Voltage",
        ),
        _p(
            "battery_level",
            OWN + "batteryLevel",
            "Batterieladung",
            "Battery level",
            {"PERCENT": (0, 100)},
            feature="device",
            kind="DimensionlessRatio",
        ),
        _p(
            "dim_level",
            OWN + "dimLevel",
            "Dimmstufe",
            "Dimming level",
            {"PERCENT": (0, 100)},
            datatype="integer",
            feature="device",
            kind="DimensionlessRatio",
        ),
        _p(
            "electric_power",
            OWN + "electricPower",
            "Elektrische Leistung",
            "Electric power",
            {"W": (0, 1_000_000), "KiloW": (0, 1000)},
            feature="device",
            kind="ActivePower",
        ),
        _p(
            "electric_energy",
            OWN + "electricEnergy",
            "Energiezählerstand",
            "Energy meter reading",
            {"KiloW-HR": (0, 1e9), "W-HR": (0, 1e12)},
            feature="device",
            kind="Energy",
        ),
        _p(
            "parking_space_occupied",
            OWN + "parkingSpaceOccupied",
            "Stellplatz belegt",
            "Parking space occupied",
            {},
            datatype="boolean",
        ),
        _p(
            "lamp_switched_on",
            OWN + "lampSwitchedOn",
            "Leuchte eingeschaltet",
            "Lamp switched on",
            {},
            datatype="boolean",
            feature="device",
        ),
    )
}
BY_IRI: dict[str, Property] = {p.iri: p for p in PROPERTIES.values()}

PHYSICAL: dict[str, Range] = {
    "DEG_C": (-273.15, None),
    "K": (0, None),
    "DEG_F": (-459.67, None),
    "PERCENT": (0, 100),
    "PERCENT_RH": (0, 100),
    "PPM": (0, 1_000_000),
    "PA": (0, None),
    "HectoPA": (0, None),
    "KiloPA": (0, None),
    "LUX": (0, None),
    "W-HR": (0, None),
    "KiloW-HR": (0, None),
}
"""Bounds a reading in the unit cannot cross, whatever the property."""

UNITS: dict[str, tuple[str, str]] = {
    "DEG_C": ("°C", "degree Celsius"),
    "K": ("K", "kelvin"),
    "DEG_F": ("°F", "degree Fahrenheit"),
    "PERCENT": ("%", "per cent"),
    "PERCENT_RH": ("% rF", "per cent relative humidity"),
    "PPM": ("ppm", "parts per million"),
    "PA": ("Pa", "pascal"),
    "HectoPA": ("hPa", "hectopascal"),
    "KiloPA": ("kPa", "kilopascal"),
    "M": ("m", "metre"),
    "CentiM": ("cm", "centimetre"),
    "MilliM": ("mm", "millimetre"),
    "V": ("V", "volt"),
    "MilliV": ("mV", "millivolt"),
    "W": ("W", "watt"),
    "KiloW": ("kW", "kilowatt"),
    "W-HR": ("Wh", "watt hour"),
    "KiloW-HR": ("kWh", "kilowatt hour"),
    "LUX": ("lx", "lux"),
    "NUM": ("", "number"),
}
"""QUDT unit codes the console offers, with their symbols."""


def unit_code(iri: str | None) -> str | None:
    """`http://qudt.org/vocab/unit/DEG_C` -> `DEG_C`; None for other IRIs."""
    if iri and iri.startswith(UNIT):
        return iri.removeprefix(UNIT)
    return None


def unit_iri(text: str) -> str:
    """A QUDT unit code or IRI as an IRI (`DEG_C` -> `http://qudt.org/vocab/unit/DEG_C`)."""
    return text if text.startswith(("http://", "https://")) else UNIT + text


def property_iri(text: str) -> str:
    """A known short name (`air_temperature`), a CF standard name or an IRI, as an IRI."""
    if text.startswith(("http://", "https://")):
        return text
    known = PROPERTIES.get(text)
    if known is not None:
        return known.iri
    return f"{CF}{text}/"


def symbol(unit: str | None) -> str:
    """How a unit is written after a number (`°C`), or its code when unknown."""
    code = unit_code(unit)
    if code is None:
        return unit or ""
    return UNITS.get(code, (code, code))[0]


def plausible_range(property_iri_: str, unit: str | None) -> Range:
    """The range a reading of this property in this unit can plausibly take: the property's
    range for the unit if the node knows one, otherwise the unit's physical bounds."""
    code = unit_code(unit)
    known = BY_IRI.get(property_iri_)
    if known is not None and code in known.units:
        return known.units[code]
    if code is not None and code in PHYSICAL:
        return PHYSICAL[code]
    return (None, None)


def unit_problem(property_iri_: str, unit: str | None) -> str | None:
    """Why this unit cannot measure this property (None if it can, or if unknown)."""
    known = BY_IRI.get(property_iri_)
    code = unit_code(unit)
    if known is None or not known.units:
        return None
    if code not in known.units:
        allowed = ", ".join(known.units)
        return f"{known.en.lower()} is measured in {allowed}, not {code or unit}"
    return None


_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("soil", "vwc", "moist"), "soil_moisture"),
    (("co2",), "co2"),
    (("hum", "rh"), "relative_humidity"),
    (("press", "baro"), "air_pressure"),
    (("temp", "tmp"), "air_temperature"),
    (("level", "water", "dist"), "water_level"),
    (("occup", "park", "car"), "parking_space_occupied"),
    (("lamp", "light_on"), "lamp_switched_on"),
    (("dim",), "dim_level"),
    (("energy", "kwh"), "electric_energy"),
    (("power", "watt"), "electric_power"),
)


def suggest(field: str, value: object) -> tuple[Property, str | None, float | None] | None:
    """A likely property, unit and scale for a decoded field, from its name and value, to
    fill the console's form (the operator confirms; nothing is mapped by guessing):
    `BatV` 3.05 -> battery voltage in V, `BatV` 3050 -> in mV, `bat` 87 -> battery level in
    per cent, `TempC_SHT` -> air temperature in °C."""
    name = field.lower()
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    )
    if "bat" in name or name in {"vdd", "vbat", "volt"}:
        if number is not None and number > 100:
            return PROPERTIES["battery_voltage"], "MilliV", None
        if "v" in name.replace("bat", "") or name == "vdd" or (number is not None and number < 5):
            return PROPERTIES["battery_voltage"], "V", None
        return PROPERTIES["battery_level"], "PERCENT", None
    for words, key in _HINTS:
        if any(word in name for word in words):
            found = PROPERTIES[key]
            unit = found.default_unit
            if key == "water_level" and ("mm" in name or "dist" in name):
                unit = "MilliM"
            if key == "air_temperature" and number is not None and abs(number) > 200:
                return found, unit, 0.01
            return found, unit, None
    return None
