"""Controlled vocabularies of DCAT-AP.de that a catalog entry uses, and how to name their terms.

Operators type short names ("dl-de/by-2-0", "ENVI", "DAILY", "CSV"); the catalog must say
the official IRIs. The code lists below are taken from the official tables (EU Publications
Office authority tables, dcat-ap.de licence list, ADMS) so that a typo is refused at once
instead of producing a catalog GovData rejects. `concept_facts` gives the few triples a
harvester without the vocabularies loaded needs to validate a term (`skos:inScheme` etc.).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from allmende.vocab.messages import N_, say
from allmende.vocab.namespaces import DCT, RDF, SKOS, SPDX

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
THEME_SCHEME = EU_AUTHORITY + "data-theme"
FREQUENCY_SCHEME = EU_AUTHORITY + "frequency"
FILE_TYPE_SCHEME = EU_AUTHORITY + "file-type"
ACCESS_RIGHT_SCHEME = EU_AUTHORITY + "access-right"
LANGUAGE_SCHEME = EU_AUTHORITY + "language"
DISTRIBUTION_STATUS_SCHEME = EU_AUTHORITY + "distribution-status"
LICENCE_SCHEME = "http://dcat-ap.de/def/licenses"
PUBLISHER_TYPE_SCHEME = "http://purl.org/adms/publishertype/1.0"
GEOCODING_LEVEL_SCHEME = "http://dcat-ap.de/def/politicalGeocoding/Level"
GEOCODING = "http://dcat-ap.de/def/politicalGeocoding/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
SHA256 = str(SPDX.checksumAlgorithm_sha256)


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Licence:
    code: str
    label: str
    open: bool

    @property
    def iri(self) -> str:
        return f"{LICENCE_SCHEME}/{self.code}"


_LICENCES = [
    ("apache", "Freie Softwarelizenz der Apache Software Foundation", True),
    ("bsd", "BSD Lizenz", True),
    ("cc-by", "Creative Commons Namensnennung (CC-BY)", True),
    ("cc-by-de/3.0", "Creative Commons Namensnennung 3.0 Deutschland (CC BY 3.0 DE)", True),
    ("cc-by-nc", "Creative Commons Namensnennung - Nicht kommerziell (CC BY-NC)", False),
    ("cc-by-nc-de/3.0", "Creative Commons Namensnennung-Nicht kommerziell 3.0 Deutschland", False),
    ("cc-by-nc/4.0", "Creative Commons Namensnennung - Nicht kommerziell 4.0 International", False),
    ("cc-by-nd", "Creative Commons Namensnennung - Keine Bearbeitung (CC BY-ND)", False),
    ("cc-by-nd/3.0", "Creative Commons Namensnennung - Keine Bearbeitung 3.0 Unported", False),
    ("cc-by-nd/4.0", "Creative Commons Namensnennung - Keine Bearbeitung 4.0 International", False),
    ("cc-by-sa", "Creative Commons Namensnennung - Weitergabe unter gleichen Bedingungen", True),
    ("cc-by-sa-de/3.0", "Creative Commons Namensnennung - Weitergabe u. g. B. 3.0 DE", True),
    (
        "cc-by-sa/4.0",
        "Creative Commons Namensnennung - Weitergabe u. g. B. 4.0 International",
        True,
    ),
    ("cc-by/4.0", "Creative Commons Namensnennung – 4.0 International (CC BY 4.0)", True),
    ("cc-zero", "Creative Commons CC Zero License (cc-zero)", True),
    ("ccpdm/1.0", "Public Domain Mark 1.0 (PDM)", True),
    ("dl-by-de/1.0", "Datenlizenz Deutschland Namensnennung 1.0", True),
    ("dl-by-de/2.0", "Datenlizenz Deutschland Namensnennung 2.0", True),
    ("dl-by-nc-de/1.0", "Datenlizenz Deutschland Namensnennung nicht-kommerziell 1.0", False),
    ("dl-zero-de/2.0", "Datenlizenz Deutschland – Zero – Version 2.0", True),
    ("geoNutz/20131001", "Nutzungsbestimmungen für Geodaten des Landes Berlin", True),
    (
        "geonutz/20130319",
        "Nutzungsbestimmungen für die Bereitstellung von Geodaten des Bundes",
        True,
    ),
    ("gfdl", "GNU Free Documentation License (GFDL)", True),
    ("gpl/3.0", "GNU General Public License version 3.0 (GPLv3)", True),
    ("mozilla", "Mozilla Public License 2.0 (MPL)", True),
    ("odbl", "Open Data Commons Open Database License (ODbL)", True),
    ("odby", "Open Data Commons Attribution License (ODC-BY 1.0)", True),
    ("odcpddl", "Open Data Commons Public Domain Dedication and Licence (ODC PDDL)", True),
    ("officialWork", "Amtliches Werk, lizenzfrei nach §5 Abs. 1 UrhG", True),
    ("other-closed", "Andere geschlossene Lizenz", False),
    ("other-commercial", "Andere kommerzielle Lizenz", False),
    ("other-freeware", "Andere Freeware Lizenz", False),
    ("other-open", "Andere offene Lizenz", True),
    ("other-opensource", "Andere Open Source Lizenz", True),
]
LICENCES: dict[str, Licence] = {code: Licence(code, label, free) for code, label, free in _LICENCES}
LICENCES_BY_IRI: dict[str, Licence] = {licence.iri: licence for licence in LICENCES.values()}

# The names people actually write (the licences' own sites, SPDX ids) -> dcat-ap.de code.
_LICENCE_ALIASES = {
    "dl-de/by-2-0": "dl-by-de/2.0",
    "dl-de-by-2.0": "dl-by-de/2.0",
    "https://www.govdata.de/dl-de/by-2-0": "dl-by-de/2.0",
    "dl-de/zero-2-0": "dl-zero-de/2.0",
    "dl-de-zero-2.0": "dl-zero-de/2.0",
    "https://www.govdata.de/dl-de/zero-2-0": "dl-zero-de/2.0",
    "cc-by-4.0": "cc-by/4.0",
    "cc by 4.0": "cc-by/4.0",
    "https://creativecommons.org/licenses/by/4.0/": "cc-by/4.0",
    "cc-by-sa-4.0": "cc-by-sa/4.0",
    "https://creativecommons.org/licenses/by-sa/4.0/": "cc-by-sa/4.0",
    "cc0": "cc-zero",
    "cc0-1.0": "cc-zero",
    "https://creativecommons.org/publicdomain/zero/1.0/": "cc-zero",
    "odbl-1.0": "odbl",
}

THEMES: dict[str, tuple[str, str]] = {
    "AGRI": ("Landwirtschaft, Fischerei, Forstwirtschaft und Nahrungsmittel", "Agriculture"),
    "ECON": ("Wirtschaft und Finanzen", "Economy and finance"),
    "EDUC": ("Bildung, Kultur und Sport", "Education, culture and sport"),
    "ENER": ("Energie", "Energy"),
    "ENVI": ("Umwelt", "Environment"),
    "GOVE": ("Regierung und öffentlicher Sektor", "Government and public sector"),
    "HEAL": ("Gesundheit", "Health"),
    "INTR": ("Internationale Themen", "International issues"),
    "JUST": ("Justiz, Rechtssystem und öffentliche Sicherheit", "Justice and public safety"),
    "OP_DATPRO": ("Vorläufige Daten", "Provisional data"),
    "REGI": ("Regionen und Städte", "Regions and cities"),
    "SOCI": ("Bevölkerung und Gesellschaft", "Population and society"),
    "TECH": ("Wissenschaft und Technologie", "Science and technology"),
    "TRAN": ("Verkehr", "Transport"),
}

FREQUENCIES = _codes(
    "OTHER 10MIN 12HRS 15MIN 1MIN 30MIN 5MIN ANNUAL ANNUAL_2 ANNUAL_3 AS_NEEDED BIDECENNIAL "
    "BIENNIAL BIHOURLY BIMONTHLY BIWEEKLY CONT DAILY DAILY_2 DECENNIAL HOURLY IRREG MONTHLY "
    "MONTHLY_2 MONTHLY_3 NEVER NOT_PLANNED OP_DATPRO QUADRENNIAL QUARTERLY QUINQUENNIAL "
    "SEXENNIAL TRIDECENNIAL TRIENNIAL TRIHOURLY UNKNOWN UPDATE_CONT WEEKLY WEEKLY_2 WEEKLY_3 "
    "WEEKLY_5"
)

FILE_TYPES = _codes(
    "XML SKOS_XML RDF PDF XLSX 7Z AAB AAC AKN4EU AKN4EU_LEG AKN4EU_ZIP APK APPX ARC ARCINFO_COV "
    "ARC_GZ ARFF ARJ ARROW_FILE ARROW_STREAM ATOM AZW BIN BITS BMP BWF BZIP2 CSS CSV DAPK DBF DCR "
    "DEB DGN DMG DMP DOC DOCX DTD_SGML DTD_XML DWCA DWG DXF E00 EAR ECW EFORMS_XML EPS EPUB "
    "ETSI_TSL ETSI_XML EXE FMX2 FMX3 FMX4 FMX4_ZIP GDB GEOJSON GEOTIFF GIF GML GMZ GPKG GPX GRID "
    "GRID_ASCII GTFS GZIP HDF HDT HTML HTML5 HTML_SIMPL ICS IMMC_XML INDD IPA ISO ISO_ZIP JAR JATS "
    "JPEG JPEG2000 JS JSON JSON_LD KML KMZ LAS LAZ LEG LEGALHTML LHA LPK LZIP LZMA LZO MAP_PRVW "
    "MAP_SRVC MARKDOWN MATHML MATLAB_MAT MBOX MDB METS METS_ZIP MHTML MIF_MID MOBI MOP MOV MP3 "
    "MPEG2 MPEG4 MPEG4_AVC MRSID MSG_HTTP MSI MXD N3 NETCDF OAPK OCTET ODB ODC ODF ODG ODP ODS ODT "
    "OP_DATPRO OVF OWL PARQUET PDF1X PDFA1A PDFA1B PDFA2A PDFA2B PDFA3 PDFA3A PDFA3B PDFA3U PDFUA "
    "PDFX PDFX1A PDFX2A PDFX4 PL PNG PPS PPSX PPT PPTX PS PSD PWP QGS RAR RDATA RDFA RDF_N_QUADS "
    "RDF_N_TRIPLES RDF_THRIFT RDF_TRIG RDF_TRIX RDF_TURTLE RDF_XML REST RPM RSS RTF SAS SB3 SCH "
    "SCHEMA_XML SDMX SGML SHP SPARQLQ SPARQLQRES SPSS_SAV SQL STATA_DTA STL SVG SWM TAB TAB_RSTR "
    "TAR TAR_GZ TAR_XZ THRIFT_BINARY THRIFT_COMPACT THRIFT_JSON TIFF TIFF_FX TMX TSV TXT UNGEN VCF "
    "WAR WARC WARC_GZ WAV WCS_SRVC WEBP WFS_SRVC WIM WMS_SRVC WMTS_SRVC WORLD XHTML XHTML5 "
    "XHTML_SIMPL XLIFF XLS XLSB XLSM XSLFO XSLT XYZ XZ YAML Z ZIP"
)

# File type <-> IANA media type for the formats a village publishes; either one implies the other.
MEDIA_TYPES: dict[str, str] = {
    "CSV": "text/csv",
    "TSV": "text/tab-separated-values",
    "JSON": "application/json",
    "GEOJSON": "application/geo+json",
    "JSON_LD": "application/ld+json",
    "RDF_TURTLE": "text/turtle",
    "RDF_XML": "application/rdf+xml",
    "RDF_N_TRIPLES": "application/n-triples",
    "RDF_N_QUADS": "application/n-quads",
    "RDF_TRIG": "application/trig",
    "XML": "application/xml",
    "PDF": "application/pdf",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ODS": "application/vnd.oasis.opendocument.spreadsheet",
    "ZIP": "application/zip",
    "TXT": "text/plain",
    "HTML": "text/html",
    "PARQUET": "application/vnd.apache.parquet",
    "SPARQLQRES": "application/sparql-results+json",
}
FILE_TYPE_BY_MEDIA_TYPE = {media: code for code, media in MEDIA_TYPES.items()}

ACCESS_RIGHTS = _codes("PUBLIC RESTRICTED NON_PUBLIC CONFIDENTIAL NORMAL SENSITIVE OP_DATPRO")
DISTRIBUTION_STATUSES = _codes(
    "COMPLETED DEPRECATED DEVELOP ONGOING WITHDRAWN ARCHIVE PLANNED REQUIRED OP_DATPRO"
)
PUBLISHER_TYPES = _codes(
    "Academia-ScientificOrganisation Company IndustryConsortium LocalAuthority NationalAuthority "
    "NonGovernmentalOrganisation NonProfitOrganisation PrivateIndividual(s) RegionalAuthority "
    "StandardisationBody SupraNationalAuthority"
)
LANGUAGE_CODES = {"de": "DEU", "en": "ENG", "da": "DAN", "fr": "FRA", "nl": "NLD", "pl": "POL"}

# Amtlicher Gemeindeschlüssel length -> (dcat-ap.de key vocabulary, geocoding level)
_AGS_LEVELS = {
    2: ("stateKey", "state"),
    3: ("governmentDistrictKey", None),
    5: ("districtKey", "administrativeDistrict"),
    8: ("municipalityKey", "municipality"),
    12: ("regionalKey", "municipality"),
}

_CODE = re.compile(r"^[A-Za-z0-9_()-]{1,40}$")


class TermError(ValueError):
    """A value that names no term of the vocabulary; the message lists what would."""


def _from_list(value: str, scheme: str, codes: Collection[str], refusal: str) -> str:
    """The IRI of a code of the list; else TermError with `refusal` (a message id with
    %(value)s and %(scheme)s)."""
    text = value.strip()
    code = text.removeprefix(scheme + "/")
    if code in codes:
        return f"{scheme}/{code}"
    upper = code.upper()
    if upper in codes:
        return f"{scheme}/{upper}"
    raise TermError(say(refusal, value=repr(value), scheme=scheme))


def licence_iri(value: str) -> str:
    """The dcat-ap.de licence IRI for a code, an alias or an IRI of the list."""
    text = value.strip()
    if text in LICENCES_BY_IRI:
        return text
    code = text.removeprefix(LICENCE_SCHEME + "/").removeprefix("https://dcat-ap.de/def/licenses/")
    if code in LICENCES:
        return LICENCES[code].iri
    lowered = {key.lower(): key for key in LICENCES}
    alias = _LICENCE_ALIASES.get(code.lower()) or _LICENCE_ALIASES.get(code.lower() + "/")
    if alias is None and code.lower() in lowered:
        alias = lowered[code.lower()]
    if alias is None:
        known = ", ".join(sorted(["dl-de/by-2-0", "dl-de/zero-2-0", "cc-by/4.0", "cc-zero"]))
        raise TermError(
            say(
                "%(value)s is not a licence of the dcat-ap.de list (e.g. %(known)s)",
                value=repr(value),
                known=known,
            )
        )
    return LICENCES[alias].iri


def is_open_licence(iri: str) -> bool:
    licence = LICENCES_BY_IRI.get(iri)
    return licence is not None and licence.open


def theme_iri(value: str) -> str:
    return _from_list(
        value,
        THEME_SCHEME,
        THEMES,
        N_("%(value)s is not a data theme (expected a code of %(scheme)s)"),
    )


def frequency_iri(value: str) -> str:
    return _from_list(
        value,
        FREQUENCY_SCHEME,
        FREQUENCIES,
        N_("%(value)s is not a frequency (expected a code of %(scheme)s)"),
    )


def file_type_iri(value: str) -> str:
    return _from_list(
        value,
        FILE_TYPE_SCHEME,
        FILE_TYPES,
        N_("%(value)s is not a file type (expected a code of %(scheme)s)"),
    )


def access_right_iri(value: str) -> str:
    return _from_list(
        value,
        ACCESS_RIGHT_SCHEME,
        ACCESS_RIGHTS,
        N_("%(value)s is not an access right (expected a code of %(scheme)s)"),
    )


def distribution_status_iri(value: str) -> str:
    return _from_list(
        value,
        DISTRIBUTION_STATUS_SCHEME,
        DISTRIBUTION_STATUSES,
        N_("%(value)s is not a status (expected a code of %(scheme)s)"),
    )


def publisher_type_iri(value: str) -> str:
    text = value.strip().removeprefix("http://purl.org/adms/publishertype/")
    for code in PUBLISHER_TYPES:
        if code.lower() == text.lower():
            return f"http://purl.org/adms/publishertype/{code}"
    raise TermError(
        say("%(value)s is not an ADMS publisher type (e.g. LocalAuthority)", value=repr(value))
    )


def language_iri(value: str) -> str:
    text = value.strip().removeprefix(LANGUAGE_SCHEME + "/")
    code = LANGUAGE_CODES.get(text.lower(), text.upper())
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise TermError(
            say("%(value)s is not a language (a code like DEU or de)", value=repr(value))
        )
    return f"{LANGUAGE_SCHEME}/{code}"


def media_type_iri(media_type: str) -> str:
    return IANA_MEDIA_TYPES + media_type


def code_of(iri: str) -> str:
    """The last path segment: the code a person reads ("ENVI", "DAILY", "CSV")."""
    return iri.rstrip("/").rsplit("/", 1)[-1]


def geocoding_for_ags(ags: str) -> tuple[str, str | None]:
    """`dcatde:politicalGeocodingURI` and its level for an Amtlicher Gemeindeschlüssel."""
    if not ags.isdigit() or len(ags) not in _AGS_LEVELS:
        raise TermError(
            say(
                "%(value)s is not an AGS of 2, 3, 5 or 8 digits (or a 12-digit RS)", value=repr(ags)
            )
        )
    vocabulary, level = _AGS_LEVELS[len(ags)]
    return f"{GEOCODING}{vocabulary}/{ags}", (
        f"{GEOCODING_LEVEL_SCHEME}/{level}" if level else None
    )


def valid_code(value: str) -> bool:
    return bool(_CODE.match(value))


# Which scheme (and which extra class) a term IRI belongs to, by its namespace.
_SCHEMES: list[tuple[str, str, tuple[str, ...]]] = [
    (THEME_SCHEME + "/", THEME_SCHEME, ()),
    (FREQUENCY_SCHEME + "/", FREQUENCY_SCHEME, (str(DCT.Frequency),)),
    (FILE_TYPE_SCHEME + "/", FILE_TYPE_SCHEME, (str(DCT.MediaTypeOrExtent),)),
    (ACCESS_RIGHT_SCHEME + "/", ACCESS_RIGHT_SCHEME, (str(DCT.RightsStatement),)),
    (LANGUAGE_SCHEME + "/", LANGUAGE_SCHEME, (str(DCT.LinguisticSystem),)),
    (DISTRIBUTION_STATUS_SCHEME + "/", DISTRIBUTION_STATUS_SCHEME, ()),
    (LICENCE_SCHEME + "/", LICENCE_SCHEME, (str(DCT.LicenseDocument),)),
    ("http://purl.org/adms/publishertype/", PUBLISHER_TYPE_SCHEME, ()),
    (GEOCODING_LEVEL_SCHEME + "/", GEOCODING_LEVEL_SCHEME, ()),
]


LANGUAGE_NAMES: dict[str, tuple[str, str]] = {
    "DEU": ("Deutsch", "German"),
    "ENG": ("Englisch", "English"),
    "DAN": ("Dänisch", "Danish"),
    "FRA": ("Französisch", "French"),
    "NLD": ("Niederländisch", "Dutch"),
    "POL": ("Polnisch", "Polish"),
}
ACCESS_RIGHT_NAMES: dict[str, tuple[str, str]] = {
    "PUBLIC": ("öffentlich", "public"),
    "RESTRICTED": ("eingeschränkt", "restricted"),
    "NON_PUBLIC": ("nicht öffentlich", "non-public"),
}


def concept_labels(iri: str) -> list[tuple[str, str | None]]:
    """`(text, language)` of a controlled term's preferred label, for a catalog without the
    vocabularies loaded: DCAT-AP requires one on every `skos:Concept`, which `concept_facts`
    makes the term. German and English where we know the term's name, else its code."""
    if not any(iri.startswith(prefix) for prefix, _scheme, _classes in _SCHEMES):
        return []
    code = code_of(iri)
    named: tuple[str, str] | None = None
    if iri.startswith(THEME_SCHEME + "/"):
        named = THEMES.get(code)
    elif iri.startswith(LANGUAGE_SCHEME + "/"):
        named = LANGUAGE_NAMES.get(code)
    elif iri.startswith(ACCESS_RIGHT_SCHEME + "/"):
        named = ACCESS_RIGHT_NAMES.get(code)
    elif iri in LICENCES_BY_IRI:
        return [(LICENCES_BY_IRI[iri].label, "de")]
    if named is not None:
        return [(named[0], "de"), (named[1], "en")]
    return [(code, None)]


def concept_facts(iri: str) -> list[tuple[str, str, str]]:
    """`(s, p, o)` IRIs stating what a harvester must know about a controlled term."""
    for prefix, scheme, classes in _SCHEMES:
        if iri.startswith(prefix):
            facts = [(iri, str(RDF.type), str(SKOS.Concept)), (iri, str(SKOS.inScheme), scheme)]
            facts += [(iri, str(RDF.type), cls) for cls in classes]
            return facts
    if iri.startswith(IANA_MEDIA_TYPES):
        return [(iri, str(RDF.type), str(DCT.MediaType))]
    if iri.startswith(str(SPDX)):
        return [(iri, str(RDF.type), str(SPDX.ChecksumAlgorithm))]
    return []
