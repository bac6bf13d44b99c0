"""Words for the codes the node keeps: licences, update frequencies, observable properties,
device profiles, states and decisions, so that no page shows a raw code to a person.

Each table maps a code to its English text marked with `N_`; the catalogs translate it
(node/web/locales). Labels that already come in both languages with their data (device
profiles, policy terms) are taken from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from allmende.node.web.i18n import N_, Texts
from allmende.vocab.catalog import LICENCE_SCHEME, LICENCES, LICENCES_BY_IRI
from allmende.vocab.devices import list_profiles, load_profile

LICENCE_NAMES: dict[str, str] = {
    "apache": N_("Apache Software Foundation free software licence"),
    "bsd": N_("BSD licence"),
    "cc-by": N_("Creative Commons Attribution (CC BY)"),
    "cc-by-de/3.0": N_("Creative Commons Attribution 3.0 Germany (CC BY 3.0 DE)"),
    "cc-by-nc": N_("Creative Commons Attribution – NonCommercial (CC BY-NC)"),
    "cc-by-nc-de/3.0": N_("Creative Commons Attribution – NonCommercial 3.0 Germany"),
    "cc-by-nc/4.0": N_("Creative Commons Attribution – NonCommercial 4.0 International"),
    "cc-by-nd": N_("Creative Commons Attribution – NoDerivatives (CC BY-ND)"),
    "cc-by-nd/3.0": N_("Creative Commons Attribution – NoDerivatives 3.0 Unported"),
    "cc-by-nd/4.0": N_("Creative Commons Attribution – NoDerivatives 4.0 International"),
    "cc-by-sa": N_("Creative Commons Attribution – ShareAlike (CC BY-SA)"),
    "cc-by-sa-de/3.0": N_("Creative Commons Attribution – ShareAlike 3.0 Germany"),
    "cc-by-sa/4.0": N_("Creative Commons Attribution – ShareAlike 4.0 International"),
    "cc-by/4.0": N_("Creative Commons Attribution 4.0 International (CC BY 4.0)"),
    "cc-zero": N_("Creative Commons Zero (CC0 1.0)"),
    "ccpdm/1.0": N_("Public Domain Mark 1.0"),
    "dl-by-de/1.0": N_("Data licence Germany – attribution – version 1.0"),
    "dl-by-de/2.0": N_("Data licence Germany – attribution – version 2.0"),
    "dl-by-nc-de/1.0": N_("Data licence Germany – attribution – non-commercial – version 1.0"),
    "dl-zero-de/2.0": N_("Data licence Germany – Zero – version 2.0"),
    "geoNutz/20131001": N_("Terms of use for geodata of the State of Berlin"),
    "geonutz/20130319": N_("Terms of use for the provision of federal geodata"),
    "gfdl": N_("GNU Free Documentation License (GFDL)"),
    "gpl/3.0": N_("GNU General Public License version 3.0 (GPLv3)"),
    "mozilla": N_("Mozilla Public License 2.0 (MPL)"),
    "odbl": N_("Open Data Commons Open Database License (ODbL)"),
    "odby": N_("Open Data Commons Attribution License (ODC-BY 1.0)"),
    "odcpddl": N_("Open Data Commons Public Domain Dedication and Licence (PDDL)"),
    "officialWork": N_("Official work, free of copyright under § 5 (1) UrhG"),
    "other-closed": N_("Other closed licence"),
    "other-commercial": N_("Other commercial licence"),
    "other-freeware": N_("Other freeware licence"),
    "other-open": N_("Other open licence"),
    "other-opensource": N_("Other open source licence"),
}

# Where people read the licence itself; the others link to their DCAT-AP.de entry.
LICENCE_TEXTS: dict[str, str] = {
    "dl-by-de/2.0": "https://www.govdata.de/dl-de/by-2-0",
    "dl-zero-de/2.0": "https://www.govdata.de/dl-de/zero-2-0",
    "dl-by-de/1.0": "https://www.govdata.de/dl-de/by-1-0",
    "dl-by-nc-de/1.0": "https://www.govdata.de/dl-de/by-nc-1-0",
    "cc-by/4.0": "https://creativecommons.org/licenses/by/4.0/",
    "cc-by-sa/4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "cc-by-nc/4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "cc-by-nd/4.0": "https://creativecommons.org/licenses/by-nd/4.0/",
    "cc-by-de/3.0": "https://creativecommons.org/licenses/by/3.0/de/",
    "cc-by-sa-de/3.0": "https://creativecommons.org/licenses/by-sa/3.0/de/",
    "cc-by-nc-de/3.0": "https://creativecommons.org/licenses/by-nc/3.0/de/",
    "cc-by-nd/3.0": "https://creativecommons.org/licenses/by-nd/3.0/",
    "cc-zero": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ccpdm/1.0": "https://creativecommons.org/publicdomain/mark/1.0/",
    "odbl": "https://opendatacommons.org/licenses/odbl/1-0/",
    "odby": "https://opendatacommons.org/licenses/by/1-0/",
    "odcpddl": "https://opendatacommons.org/licenses/pddl/1-0/",
    "gpl/3.0": "https://www.gnu.org/licenses/gpl-3.0.html",
    "gfdl": "https://www.gnu.org/licenses/fdl-1.3.html",
    "mozilla": "https://www.mozilla.org/MPL/2.0/",
    "apache": "https://www.apache.org/licenses/LICENSE-2.0",
    "officialWork": "https://www.gesetze-im-internet.de/urhg/__5.html",
}

FREQUENCIES: dict[str, str] = {
    "1MIN": N_("every minute"),
    "5MIN": N_("every five minutes"),
    "10MIN": N_("every ten minutes"),
    "15MIN": N_("every quarter of an hour"),
    "30MIN": N_("every half hour"),
    "HOURLY": N_("hourly"),
    "BIHOURLY": N_("every two hours"),
    "TRIHOURLY": N_("every three hours"),
    "12HRS": N_("every twelve hours"),
    "CONT": N_("continuously"),
    "UPDATE_CONT": N_("continuously updated"),
    "DAILY": N_("daily"),
    "DAILY_2": N_("twice a day"),
    "WEEKLY": N_("weekly"),
    "WEEKLY_2": N_("twice a week"),
    "WEEKLY_3": N_("three times a week"),
    "WEEKLY_5": N_("five times a week"),
    "BIWEEKLY": N_("every two weeks"),
    "MONTHLY": N_("monthly"),
    "MONTHLY_2": N_("twice a month"),
    "MONTHLY_3": N_("three times a month"),
    "BIMONTHLY": N_("every two months"),
    "QUARTERLY": N_("quarterly"),
    "ANNUAL": N_("annually"),
    "ANNUAL_2": N_("twice a year"),
    "ANNUAL_3": N_("three times a year"),
    "BIENNIAL": N_("every two years"),
    "TRIENNIAL": N_("every three years"),
    "QUADRENNIAL": N_("every four years"),
    "QUINQUENNIAL": N_("every five years"),
    "SEXENNIAL": N_("every six years"),
    "DECENNIAL": N_("every ten years"),
    "BIDECENNIAL": N_("every twenty years"),
    "TRIDECENNIAL": N_("every thirty years"),
    "AS_NEEDED": N_("as needed"),
    "IRREG": N_("irregularly"),
    "NEVER": N_("never"),
    "NOT_PLANNED": N_("not planned"),
    "OP_DATPRO": N_("provisional data"),
    "UNKNOWN": N_("unknown"),
    "OTHER": N_("other"),
}

# Observable properties the node's own namespace defines (the CF names come with the device
# profiles' labels).
PROPERTIES: dict[str, str] = {
    "https://w3id.org/allmende/ns#batteryVoltage": N_("Battery voltage"),
    "https://w3id.org/allmende/ns#dimLevel": N_("Dimming level"),
    "https://w3id.org/allmende/ns#electricEnergy": N_("Electric energy"),
    "https://w3id.org/allmende/ns#electricPower": N_("Electric power"),
    "https://w3id.org/allmende/ns#lampSwitchedOn": N_("Lamp switched on"),
    "https://w3id.org/allmende/ns#parkingSpaceOccupied": N_("Parking space occupied"),
    "http://vocab.nerc.ac.uk/standard_name/air_temperature/": N_("Air temperature"),
    "http://vocab.nerc.ac.uk/standard_name/relative_humidity/": N_("Relative humidity"),
    "http://vocab.nerc.ac.uk/standard_name/mole_fraction_of_carbon_dioxide_in_air/": N_(
        "Carbon dioxide in the air"
    ),
    "http://vocab.nerc.ac.uk/standard_name/soil_temperature/": N_("Soil temperature"),
    "http://vocab.nerc.ac.uk/standard_name/volume_fraction_of_condensed_water_in_soil/": N_(
        "Soil moisture"
    ),
    "http://vocab.nerc.ac.uk/standard_name/water_surface_height_above_reference_datum/": N_(
        "Water level"
    ),
}

# Dataspace Protocol states of negotiations and transfers.
DSP_STATES: dict[str, str] = {
    "REQUESTED": N_("requested"),
    "OFFERED": N_("offered"),
    "ACCEPTED": N_("accepted"),
    "AGREED": N_("agreed"),
    "VERIFIED": N_("verified"),
    "FINALIZED": N_("concluded"),
    "TERMINATED": N_("ended"),
    "STARTED": N_("running"),
    "SUSPENDED": N_("paused"),
    "COMPLETED": N_("completed"),
}

DATASET_STATUS: dict[str, str] = {"published": N_("published"), "retracted": N_("withdrawn")}
DECISIONS: dict[str, str] = {"permit": N_("permitted"), "deny": N_("refused")}
CHANNELS: dict[str, str] = {
    "download": N_("file download"),
    "observations": N_("readings API"),
    "sparql": N_("SPARQL query"),
    "transfer": N_("transfer (Dataspace Protocol)"),
}


# The SPARQL page's example queries (node.sparql.examples names them in English).
SPARQL_EXAMPLES = (
    N_("Description of the dataset"),
    N_("Latest reading per sensor and property"),
    N_("Daily averages"),
    N_("Datasets of the catalog"),
    N_("Triples per graph"),
)


@dataclass(frozen=True)
class LicenceLabel:
    name: str
    """The licence's name in the page's language."""
    url: str
    """Where its text is."""


def _licence_code(value: str) -> str | None:
    if value in LICENCES:
        return value
    licence = LICENCES_BY_IRI.get(value)
    if licence is not None:
        return licence.code
    if value.startswith(LICENCE_SCHEME + "/"):
        return value.removeprefix(LICENCE_SCHEME + "/")
    return None


def licence(texts: Texts, value: Any) -> LicenceLabel:
    """A licence IRI or DCAT-AP.de code as its name and the address of its text; an unknown
    licence keeps its IRI (a link to itself) and is named „other licence“."""
    text = str(value or "")
    code = _licence_code(text)
    if code is None or code not in LICENCE_NAMES:
        return LicenceLabel(texts.gettext("Other licence"), text)
    return LicenceLabel(
        texts.gettext(LICENCE_NAMES[code]),
        LICENCE_TEXTS.get(code, LICENCES[code].iri if code in LICENCES else text),
    )


@cache
def _profile_labels() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Device profiles' own labels in both languages: their properties', and their own."""
    properties: dict[str, dict[str, str]] = {}
    profiles: dict[str, dict[str, str]] = {}
    for name in list_profiles():
        profile = load_profile(name)
        profiles[name] = profile.get("label", {})
        for spec in profile.get("fields", {}).values():
            if spec.get("label"):
                properties.setdefault(spec["observableProperty"], spec["label"])
    return properties, profiles


def observable_property(texts: Texts, iri: str, registered: dict[str, str] | None = None) -> str:
    """What a property is called: our table, a registered device's profile, a shipped
    profile, and only then the last part of its IRI in words."""
    if iri in PROPERTIES:
        return texts.gettext(PROPERTIES[iri])
    if registered and registered.get(iri):
        return registered[iri]
    shipped = _profile_labels()[0].get(iri)
    if shipped:
        return shipped.get(texts.language) or shipped.get("de", "")
    name = iri.rstrip("/").replace("#", "/").rsplit("/", 1)[-1]
    spaced = "".join(" " + c.lower() if c.isupper() else c for c in name).replace("_", " ")
    return spaced.strip().capitalize()


def profile(texts: Texts, name: str) -> str:
    label = _profile_labels()[1].get(name)
    return (label.get(texts.language) or label.get("de") or name) if label else name


def frequency(texts: Texts, code: str) -> str:
    return texts.gettext(FREQUENCIES[code]) if code in FREQUENCIES else code


def code(texts: Texts, table: dict[str, str], value: str) -> str:
    """A state, decision or channel in words; an unknown one as it is."""
    return texts.gettext(table[value]) if value in table else value
