"""Observations + device mappings -> SOSA/SSN, QUDT and PROV-O statements.

`map_observations` writes N-Triples text directly, the form events carry: an ingest request
spent more time building pyoxigraph terms and quads for it (each IRI parsed again) than on
anything else of its own; every IRI it writes is checked once, where it comes from (the
node's base, a registered mapping, hex digests). `MappedBatch.quads` and
`observation_quads` give the same statements as pyoxigraph quads.

IRI scheme (`base` is the node's base IRI, without trailing slash; `{device}` is the
percent-encoded canonical device id):

- observation   `{base}/datasets/{dataset}/observations/{h}` with
                `h = sha256("{device}|{field}|{resultTime}")[:32]` (hex; `resultTime` in
                UTC with microseconds, e.g. `2024-05-01T10:00:00.000000Z`). The same
                uplink ingested twice yields the same IRIs and triples: ingest is
                idempotent, and no blank node is ever minted.
- its result    `{observation}/result` (a `qudt:QuantityValue`, numbers only)
- its phenomenon time `{observation}/phenomenon-time` (a `time:Instant`, when known)
- the uplink    `{base}/datasets/{dataset}/uplinks/{u}` with
                `u = sha256("{source}|{device}|{uplink id or f_cnt|resultTime}")[:32]`
- gateways      `urn:dev:mac:{eui}` (RFC 9039) when the gateway id is an EUI-64,
                otherwise a plain literal
- geometry      `{base}/geometries/{device}` (GeoSPARQL, WKT in CRS84: `POINT(lon lat)`)
- default graph per dataset `{base}/datasets/{dataset}` (`dataset_graph`)

Sensors, platforms and features of interest come from the `DeviceMapping` (see
`DeviceMapping.from_profile` for their default IRIs).

Per observation: `sosa:madeBySensor`, `sosa:observedProperty`,
`sosa:hasFeatureOfInterest`, `sosa:hasSimpleResult` (typed literal), for numbers
`sosa:hasResult` -> `qudt:numericValue` + `qudt:unit`, `sosa:resultTime`,
`sosa:phenomenonTime` when known, and `prov:wasDerivedFrom` the uplink, which carries
the network server, application, gateways, signal and frame counter. Our own terms
(`allmende:`) are used only where PROV-O has nothing to say.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from urllib.parse import quote

import pyoxigraph as ox

from allmende.connectors.model import (
    DeviceMapping,
    FieldMapping,
    Observation,
    Rejection,
    Scalar,
    base_iri,
    format_time,
)
from allmende.vocab.messages import say
from allmende.vocab.namespaces import ALLMENDE, GEO, GSP, PROV, QUDT, RDF, RDFS, SOSA, TIME, XSD


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(str(iri))


A = _n(RDF.type)
LABEL = _n(RDFS.label)
SOSA_OBSERVATION = _n(SOSA.Observation)
SOSA_SENSOR = _n(SOSA.Sensor)
SOSA_PLATFORM = _n(SOSA.Platform)
SOSA_FOI = _n(SOSA.FeatureOfInterest)
SOSA_PROPERTY = _n(SOSA.ObservableProperty)
MADE_BY_SENSOR = _n(SOSA.madeBySensor)
OBSERVED_PROPERTY = _n(SOSA.observedProperty)
HAS_FOI = _n(SOSA.hasFeatureOfInterest)
HAS_SIMPLE_RESULT = _n(SOSA.hasSimpleResult)
HAS_RESULT = _n(SOSA.hasResult)
RESULT_TIME = _n(SOSA.resultTime)
PHENOMENON_TIME = _n(SOSA.phenomenonTime)
OBSERVES = _n(SOSA.observes)
HOSTS = _n(SOSA.hosts)
IS_HOSTED_BY = _n(SOSA.isHostedBy)
QUANTITY_VALUE = _n(QUDT.QuantityValue)
NUMERIC_VALUE = _n(QUDT.numericValue)
QUDT_UNIT = _n(QUDT.unit)
HAS_QUANTITY_KIND = _n(QUDT.hasQuantityKind)
TIME_INSTANT = _n(TIME.Instant)
IN_XSD_DATETIMESTAMP = _n(TIME.inXSDDateTimeStamp)
WAS_DERIVED_FROM = _n(PROV.wasDerivedFrom)
PROV_ENTITY = _n(PROV.Entity)
GENERATED_AT = _n(PROV.generatedAtTime)
GEO_LAT = _n(GEO.lat)
GEO_LONG = _n(GEO.long)
HAS_GEOMETRY = _n(GSP.hasGeometry)
AS_WKT = _n(GSP.asWKT)
GEOMETRY = _n(GSP.Geometry)
WKT_LITERAL = _n(GSP.wktLiteral)
UPLINK = _n(ALLMENDE.Uplink)
SOURCE = _n(ALLMENDE.source)
NETWORK_SERVER = _n(ALLMENDE.networkServer)
APPLICATION_ID = _n(ALLMENDE.applicationId)
UPLINK_ID = _n(ALLMENDE.uplinkId)
GATEWAY = _n(ALLMENDE.gateway)
RSSI = _n(ALLMENDE.rssi)
SNR = _n(ALLMENDE.snr)
F_PORT = _n(ALLMENDE.fPort)
FRAME_COUNTER = _n(ALLMENDE.frameCounter)
XSD_DECIMAL = _n(XSD.decimal)
XSD_INTEGER = _n(XSD.integer)
XSD_BOOLEAN = _n(XSD.boolean)
XSD_DATETIME = _n(XSD.dateTime)
XSD_DATETIMESTAMP = _n(XSD.dateTimeStamp)
# the same terms as N-Triples, for the statements map_observations writes as text
_A, _SOSA_OBSERVATION, _MADE_BY_SENSOR, _OBSERVED_PROPERTY, _HAS_FOI = map(
    str, (A, SOSA_OBSERVATION, MADE_BY_SENSOR, OBSERVED_PROPERTY, HAS_FOI)
)
_HAS_SIMPLE_RESULT, _HAS_RESULT, _RESULT_TIME, _PHENOMENON_TIME = map(
    str, (HAS_SIMPLE_RESULT, HAS_RESULT, RESULT_TIME, PHENOMENON_TIME)
)
_QUANTITY_VALUE, _NUMERIC_VALUE, _QUDT_UNIT, _TIME_INSTANT, _IN_XSD_DATETIMESTAMP = map(
    str, (QUANTITY_VALUE, NUMERIC_VALUE, QUDT_UNIT, TIME_INSTANT, IN_XSD_DATETIMESTAMP)
)
_WAS_DERIVED_FROM, _PROV_ENTITY, _GENERATED_AT, _UPLINK, _SOURCE = map(
    str, (WAS_DERIVED_FROM, PROV_ENTITY, GENERATED_AT, UPLINK, SOURCE)
)
_NETWORK_SERVER, _APPLICATION_ID, _UPLINK_ID, _GATEWAY, _RSSI, _SNR = map(
    str, (NETWORK_SERVER, APPLICATION_ID, UPLINK_ID, GATEWAY, RSSI, SNR)
)
_F_PORT, _FRAME_COUNTER = str(F_PORT), str(FRAME_COUNTER)
_XSD_DECIMAL, _XSD_INTEGER, _XSD_BOOLEAN = map(str, (XSD_DECIMAL, XSD_INTEGER, XSD_BOOLEAN))
_XSD_DATETIME, _XSD_DATETIMESTAMP = str(XSD_DATETIME), str(XSD_DATETIMESTAMP)
_EUI64 = re.compile(r"[0-9A-Fa-f]{16}\Z")
# xsd:decimal and xsd:integer lexical forms (no exponent: "1e999999" must not expand)
_DECIMAL = re.compile(r"[+-]?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})\Z", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d{1,19}\Z", re.ASCII)
_REPORTED_ONCE = frozenset({"unknown-device", "unmapped-field"})
"""Rejection codes `map_observations` gives once per device or field, not per reading."""
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
"""What an N-Triples string literal must escape; anything else may stand as it is."""


class UnmappedValue(ValueError):
    """The value does not fit the field's datatype (e.g. text for a decimal)."""


@dataclass
class MappedBatch:
    """Statements and accepted observations per dataset id, and what could not be mapped.

    `ntriples` holds each dataset's statements as N-Triples text, in pieces that each end
    with a newline; `graphs` the graph each dataset's statements belong to (None: the
    default graph, where events carry them)."""

    ntriples: dict[str, list[str]] = field(default_factory=dict)
    graphs: dict[str, str | None] = field(default_factory=dict)
    observations: dict[str, list[Observation]] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(found) for found in self.observations.values())

    def text(self, dataset: str) -> str:
        """A dataset's statements as one N-Triples document."""
        return "".join(self.ntriples[dataset])

    @property
    def quads(self) -> dict[str, list[ox.Quad]]:
        """The statements as pyoxigraph quads in their dataset's graph (parsed anew)."""
        return {
            dataset: _parsed(self.text(dataset), self.graphs.get(dataset))
            for dataset in self.ntriples
        }

    def extend(self, other: MappedBatch) -> None:
        """Add a batch mapped from later observations of other uplinks; an unknown device
        or a field outside a mapping is still reported once."""
        for dataset, pieces in other.ntriples.items():
            self.ntriples.setdefault(dataset, []).extend(pieces)
            self.graphs.setdefault(dataset, other.graphs.get(dataset))
            self.observations.setdefault(dataset, []).extend(other.observations[dataset])
        known = {(r.code, r.reason) for r in self.rejections if r.code in _REPORTED_ONCE}
        self.rejections.extend(r for r in other.rejections if (r.code, r.reason) not in known)


def _parsed(text: str, graph: str | None) -> list[ox.Quad]:
    g = _graph_node(graph)
    return [
        ox.Quad(quad.subject, quad.predicate, quad.object, g)
        for quad in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)
    ]


def dataset_graph(base: str, dataset_id: str) -> str:
    """The named graph a dataset's observations live in, unless the node says otherwise."""
    return f"{base_iri(base)}/datasets/{dataset_id}"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def observation_iri(base: str, dataset_id: str, observation: Observation) -> str:
    """See the module docstring: stable across re-ingests of the same uplink."""
    key = f"{observation.device_id}|{observation.field}|{format_time(observation.result_time)}"
    return f"{base_iri(base)}/datasets/{dataset_id}/observations/{_hash(key)}"


def uplink_iri(base: str, dataset_id: str, observation: Observation) -> str | None:
    """The uplink an observation was derived from, or None for non-LoRaWAN sources."""
    p = observation.provenance
    if p.uplink_id is None and p.f_cnt is None and not p.gateway_ids:
        return None
    ident = p.uplink_id or f"{p.f_cnt}|{format_time(observation.result_time)}"
    key = f"{observation.source}|{observation.device_id}|{ident}"
    return f"{base.rstrip('/')}/datasets/{dataset_id}/uplinks/{_hash(key)}"


def typed_literal(value: Scalar, datatype: str) -> ox.Literal:
    """The result as a literal of the field's datatype; raises `UnmappedValue` when the
    value does not fit (no guessing beyond 0/1 and "true"/"false" for booleans)."""
    if datatype == "decimal":
        return ox.Literal(_decimal_text(value), datatype=XSD_DECIMAL)
    if datatype == "integer":
        return ox.Literal(_integer_text(value), datatype=XSD_INTEGER)
    if datatype == "boolean":
        return ox.Literal(_boolean_text(value), datatype=XSD_BOOLEAN)
    if datatype == "string" and isinstance(value, str):
        return ox.Literal(value)
    raise UnmappedValue(f"{type(value).__name__} value for a {datatype} field")


def _decimal_text(value: Scalar) -> str:
    if isinstance(value, bool):
        raise UnmappedValue("boolean value for a decimal field")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnmappedValue("number is not finite")
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text else text
    text = value.strip()
    if not _DECIMAL.match(text):
        raise UnmappedValue("text that is not a decimal number for a decimal field")
    return text


def _integer_text(value: Scalar) -> str:
    if isinstance(value, bool):
        raise UnmappedValue("boolean value for an integer field")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return str(int(value.strip()))
    raise UnmappedValue("value is not a whole number")


def _boolean_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower() if isinstance(value, int | str) else ""
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    raise UnmappedValue("value is not a boolean (true/false, 1/0)")


def literal_text(value: Scalar, datatype: str) -> str:
    """`typed_literal` as N-Triples text; raises `UnmappedValue` alike."""
    if datatype == "decimal":
        return f'"{_decimal_text(value)}"^^{_XSD_DECIMAL}'
    if datatype == "integer":
        return f'"{_integer_text(value)}"^^{_XSD_INTEGER}'
    if datatype == "boolean":
        return f'"{_boolean_text(value)}"^^{_XSD_BOOLEAN}'
    if datatype == "string" and isinstance(value, str):
        return string_text(value)
    raise UnmappedValue(f"{type(value).__name__} value for a {datatype} field")


def string_text(value: str) -> str:
    """A plain string literal in N-Triples; raises `UnmappedValue` for text that is not
    Unicode throughout (a lone surrogate cannot be written as UTF-8)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UnmappedValue("text that is not valid Unicode") from None
    return '"' + value.translate(_ESCAPES) + '"'


Graph = ox.NamedNode | None


def _graph_node(graph: str | None) -> Graph:
    """None, not `DefaultGraph()`, for the default graph: pyoxigraph builds quads with it
    many times faster (a `DefaultGraph` argument goes through a slow conversion)."""
    return ox.NamedNode(graph) if graph else None


@dataclass(frozen=True, slots=True)
class _Terms:
    """The terms one (device, field) pair always uses, as N-Triples, from IRIs the mapping
    checked when it was made."""

    sensor: str
    prop: str
    feature: str
    unit: str | None
    numeric: bool

    @classmethod
    def of(cls, mapping: DeviceMapping, spec: FieldMapping) -> _Terms:
        return _terms(mapping.sensor, spec)


@lru_cache(maxsize=4096)
def _terms(sensor: str, spec: FieldMapping) -> _Terms:
    """Kept across requests: a single-reading uplink would build them for each one."""
    return _Terms(
        f"<{sensor}>",
        f"<{spec.observable_property}>",
        f"<{spec.feature_of_interest}>",
        f"<{spec.unit}>" if spec.unit else None,
        spec.datatype in ("decimal", "integer"),
    )


@lru_cache(maxsize=64)
def _root(base: str) -> str:
    """`base_iri`, checked once per base rather than once per request."""
    return base_iri(base)


def observation_quads(
    observation: Observation,
    mapping: DeviceMapping,
    base: str,
    graph: str | None = None,
) -> list[ox.Quad]:
    """The quads of one observation, its uplink included. Raises `KeyError` for a field
    outside the mapping and `UnmappedValue` for a value that does not fit its datatype."""
    spec = mapping.fields[observation.field]
    literal = literal_text(observation.value, spec.datatype)
    root = base_iri(base)
    uplink = uplink_iri(root, mapping.dataset_id, observation)
    text = _observation_text(
        observation, root, mapping.dataset_id, _Terms.of(mapping, spec), literal, uplink
    )
    if uplink is not None:
        text += _uplink_text(observation, uplink)
    return _parsed(text, graph)


def map_observations(
    observations: Iterable[Observation],
    mappings: Mapping[str, DeviceMapping] | Callable[[str], DeviceMapping | None],
    base: str,
    graph_for: Callable[[str], str | None] | None = None,
) -> MappedBatch:
    """Map a batch: statements per dataset (graph `graph_for(dataset id)`, by default
    `dataset_graph`), and one rejection per unknown device, per field outside a mapping
    and per value that does not fit. `mappings` is keyed by canonical device id."""
    lookup = mappings.get if isinstance(mappings, Mapping) else mappings
    root = _root(base)
    choose_graph = graph_for or (lambda dataset: f"{root}/datasets/{dataset}")
    batch = MappedBatch()
    uplinks: set[str] = set()
    reported: set[tuple[str, str]] = set()

    def reject(key: tuple[str, str], rejection: Rejection) -> None:
        if key not in reported:
            reported.add(key)
            batch.rejections.append(rejection)

    for observation in observations:
        device, name = observation.device_id, observation.field
        mapping = lookup(device)
        if mapping is None:
            reason = say("device '%(device)s' is not registered", device=device[:64])
            reject((device, ""), Rejection(observation.path, reason, "unknown-device"))
            continue
        spec = mapping.fields.get(name)
        if spec is None:
            reason = say(
                "field '%(field)s' is not in the mapping of device '%(device)s'",
                field=name[:64],
                device=device[:64],
            )
            reject((device, name), Rejection(observation.path, reason, "unmapped-field"))
            continue
        dataset = mapping.dataset_id
        uplink = uplink_iri(root, dataset, observation)
        term = _Terms.of(mapping, spec)
        try:
            text = _observation_text(
                observation,
                root,
                dataset,
                term,
                literal_text(observation.value, spec.datatype),
                uplink,
            )
            if uplink is not None and uplink not in uplinks:
                text += _uplink_text(observation, uplink)
                uplinks.add(uplink)
        except UnmappedValue as error:
            batch.rejections.append(Rejection(observation.path, str(error), "bad-value"))
            continue
        if dataset not in batch.ntriples:
            batch.graphs[dataset] = choose_graph(dataset)
            batch.ntriples[dataset] = []
            batch.observations[dataset] = []
        batch.ntriples[dataset].append(text)
        batch.observations[dataset].append(observation)
    return batch


def _observation_text(
    observation: Observation,
    root: str,
    dataset: str,
    terms: _Terms,
    literal: str,
    uplink: str | None,
) -> str:
    result_time = format_time(observation.result_time)
    key = f"{observation.device_id}|{observation.field}|{result_time}"
    iri = f"{root}/datasets/{dataset}/observations/{_hash(key)}"
    s = f"<{iri}>"
    text = (
        f"{s} {_A} {_SOSA_OBSERVATION} .\n"
        f"{s} {_MADE_BY_SENSOR} {terms.sensor} .\n"
        f"{s} {_OBSERVED_PROPERTY} {terms.prop} .\n"
        f"{s} {_HAS_FOI} {terms.feature} .\n"
        f"{s} {_HAS_SIMPLE_RESULT} {literal} .\n"
        f'{s} {_RESULT_TIME} "{result_time}"^^{_XSD_DATETIME} .\n'
    )
    if terms.numeric:
        result = f"<{iri}/result>"
        text += (
            f"{s} {_HAS_RESULT} {result} .\n"
            f"{result} {_A} {_QUANTITY_VALUE} .\n"
            f"{result} {_NUMERIC_VALUE} {literal} .\n"
        )
        if terms.unit is not None:
            text += f"{result} {_QUDT_UNIT} {terms.unit} .\n"
    if observation.phenomenon_time is not None:
        instant = f"<{iri}/phenomenon-time>"
        stamp = format_time(observation.phenomenon_time)
        text += (
            f"{s} {_PHENOMENON_TIME} {instant} .\n"
            f"{instant} {_A} {_TIME_INSTANT} .\n"
            f'{instant} {_IN_XSD_DATETIMESTAMP} "{stamp}"^^{_XSD_DATETIMESTAMP} .\n'
        )
    if uplink is not None:
        text += f"{s} {_WAS_DERIVED_FROM} <{uplink}> .\n"
    return text


def gateway_term(gateway: str) -> ox.NamedNode | ox.Literal:
    """An EUI-64 gateway (`0016c001f153a14c`, TTS's `eui-...`) as an RFC 9039 URN, any
    other gateway id (TTS ids, `packetbroker`) as a literal."""
    eui = gateway.removeprefix("eui-")
    if _EUI64.match(eui):
        return ox.NamedNode(f"urn:dev:mac:{eui.lower()}")
    return ox.Literal(gateway)


def _gateway_text(gateway: str) -> str:
    """`gateway_term` as N-Triples."""
    eui = gateway.removeprefix("eui-")
    if _EUI64.match(eui):
        return f"<urn:dev:mac:{eui.lower()}>"
    return string_text(gateway)


def _number(value: float) -> ox.Literal:
    return ox.Literal(_decimal_text(value), datatype=XSD_DECIMAL)


def _uplink_text(observation: Observation, uplink: str) -> str:
    p = observation.provenance
    u = f"<{uplink}>"
    text = (
        f"{u} {_A} {_PROV_ENTITY} .\n"
        f"{u} {_A} {_UPLINK} .\n"
        f"{u} {_SOURCE} {string_text(observation.source)} .\n"
        f'{u} {_GENERATED_AT} "{format_time(observation.result_time)}"^^{_XSD_DATETIME} .\n'
    )
    if p.network_server:
        text += f"{u} {_NETWORK_SERVER} {string_text(p.network_server)} .\n"
    if p.application_id:
        text += f"{u} {_APPLICATION_ID} {string_text(p.application_id)} .\n"
    if p.uplink_id:
        text += f"{u} {_UPLINK_ID} {string_text(p.uplink_id)} .\n"
    if p.rssi is not None:
        text += f'{u} {_RSSI} "{_decimal_text(p.rssi)}"^^{_XSD_DECIMAL} .\n'
    if p.snr is not None:
        text += f'{u} {_SNR} "{_decimal_text(p.snr)}"^^{_XSD_DECIMAL} .\n'
    if p.f_port is not None:
        text += f'{u} {_F_PORT} "{_integer_text(p.f_port)}"^^{_XSD_INTEGER} .\n'
    if p.f_cnt is not None:
        text += f'{u} {_FRAME_COUNTER} "{_integer_text(p.f_cnt)}"^^{_XSD_INTEGER} .\n'
    for gateway in p.gateway_ids:
        text += f"{u} {_GATEWAY} {_gateway_text(gateway)} .\n"
    return text


def sensor_description_quads(
    mapping: DeviceMapping, base: str, graph: str | None = None
) -> list[ox.Quad]:
    """The device as SOSA: `sosa:Sensor` hosted by a `sosa:Platform` that stands at
    `geo:lat`/`geo:long` with a GeoSPARQL point; what it observes, and of what."""
    root = base_iri(base)
    g = _graph_node(graph)
    sensor = ox.NamedNode(mapping.sensor)
    platform = ox.NamedNode(mapping.platform)
    quads = [
        ox.Quad(sensor, A, SOSA_SENSOR, g),
        ox.Quad(sensor, IS_HOSTED_BY, platform, g),
        ox.Quad(platform, A, SOSA_PLATFORM, g),
        ox.Quad(platform, HOSTS, sensor, g),
    ]
    if mapping.label:
        quads.append(ox.Quad(sensor, LABEL, ox.Literal(mapping.label), g))
    if mapping.lat is not None and mapping.lon is not None:
        geometry = ox.NamedNode(f"{root}/geometries/{quote(mapping.device_id, safe='')}")
        wkt = f"POINT({_decimal_text(mapping.lon)} {_decimal_text(mapping.lat)})"
        quads += [
            ox.Quad(platform, GEO_LAT, _number(mapping.lat), g),
            ox.Quad(platform, GEO_LONG, _number(mapping.lon), g),
            ox.Quad(platform, HAS_GEOMETRY, geometry, g),
            ox.Quad(geometry, A, GEOMETRY, g),
            ox.Quad(geometry, AS_WKT, ox.Literal(wkt, datatype=WKT_LITERAL), g),
        ]
    seen: set[str] = set()
    for spec in mapping.fields.values():
        prop = ox.NamedNode(spec.observable_property)
        quads.append(ox.Quad(sensor, OBSERVES, prop, g))
        if spec.observable_property not in seen:
            seen.add(spec.observable_property)
            quads.append(ox.Quad(prop, A, SOSA_PROPERTY, g))
            if spec.quantity_kind:
                quads.append(ox.Quad(prop, HAS_QUANTITY_KIND, ox.NamedNode(spec.quantity_kind), g))
        if spec.feature_of_interest not in seen:
            seen.add(spec.feature_of_interest)
            quads.append(ox.Quad(ox.NamedNode(spec.feature_of_interest), A, SOSA_FOI, g))
    return quads
