"""Observations + device mappings -> the expected SOSA/QUDT/PROV-O triples.

Expected graphs are written by hand; observation and uplink IRIs are recomputed here from
the documented scheme, so that a change of the scheme shows up as a failing test.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyoxigraph as ox
import pytest
from connector_support import BASE, assert_same_graph, load_payload, mapping_for, to_graph, turtle

from allmende.connectors import chirpstack, generic, ttn
from allmende.connectors.model import (
    DeviceMapping,
    FieldMapping,
    Observation,
    Provenance,
    parse_time,
)
from allmende.connectors.sosa import (
    UnmappedValue,
    dataset_graph,
    gateway_term,
    literal_text,
    map_observations,
    observation_iri,
    observation_quads,
    sensor_description_quads,
    typed_literal,
)

DGH = "70b3d57ed00ab001"


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def obs_iri(dataset: str, device: str, field: str, time: str) -> str:
    return f"{BASE}/datasets/{dataset}/observations/{h(f'{device}|{field}|{time}')}"


def dgh_mapping() -> Any:
    return mapping_for(
        "room-climate", DGH, "raumklima", lat=54.63452, lon=9.19874, label="Raumklima DGH"
    )


def test_ttn_uplink_maps_to_the_expected_triples() -> None:
    result = ttn.parse(load_payload("ttn-uplink-humidity.json"))
    batch = map_observations(result.observations, {DGH: dgh_mapping()}, BASE)

    time = "2024-05-14T08:15:02.334512Z"
    t = obs_iri("raumklima", DGH, "temperature", time)
    rh = obs_iri("raumklima", DGH, "humidity", time)
    bat = obs_iri("raumklima", DGH, "battery", time)
    uplink = f"{BASE}/datasets/raumklima/uplinks/" + h(
        f"ttn|{DGH}|as:up:01HXSAMPLE0000000000000001"
    )
    expected = turtle(f"""
        <{t}> a sosa:Observation ;
            sosa:madeBySensor <{BASE}/sensors/{DGH}> ;
            sosa:observedProperty <http://vocab.nerc.ac.uk/standard_name/air_temperature/> ;
            sosa:hasFeatureOfInterest <{BASE}/features/{DGH}> ;
            sosa:hasSimpleResult 21.4 ;
            sosa:hasResult <{t}/result> ;
            sosa:resultTime "{time}"^^xsd:dateTime ;
            prov:wasDerivedFrom <{uplink}> .
        <{t}/result> a qudt:QuantityValue ; qudt:numericValue 21.4 ; qudt:unit unit:DEG_C .

        <{rh}> a sosa:Observation ;
            sosa:madeBySensor <{BASE}/sensors/{DGH}> ;
            sosa:observedProperty <http://vocab.nerc.ac.uk/standard_name/relative_humidity/> ;
            sosa:hasFeatureOfInterest <{BASE}/features/{DGH}> ;
            sosa:hasSimpleResult 48.5 ;
            sosa:hasResult <{rh}/result> ;
            sosa:resultTime "{time}"^^xsd:dateTime ;
            prov:wasDerivedFrom <{uplink}> .
        <{rh}/result> a qudt:QuantityValue ; qudt:numericValue 48.5 ; qudt:unit unit:PERCENT_RH .

        <{bat}> a sosa:Observation ;
            sosa:madeBySensor <{BASE}/sensors/{DGH}> ;
            sosa:observedProperty allmende:batteryVoltage ;
            sosa:hasFeatureOfInterest <{BASE}/platforms/{DGH}> ;
            sosa:hasSimpleResult 3.61 ;
            sosa:hasResult <{bat}/result> ;
            sosa:resultTime "{time}"^^xsd:dateTime ;
            prov:wasDerivedFrom <{uplink}> .
        <{bat}/result> a qudt:QuantityValue ; qudt:numericValue 3.61 ; qudt:unit unit:V .

        <{uplink}> a prov:Entity, allmende:Uplink ;
            allmende:source "ttn" ;
            prov:generatedAtTime "{time}"^^xsd:dateTime ;
            allmende:networkServer "eu1.cloud.thethings.network" ;
            allmende:applicationId "sample-luetjenholm-klima" ;
            allmende:uplinkId "as:up:01HXSAMPLE0000000000000001" ;
            allmende:gateway <urn:dev:mac:b827ebfffe5a0001>, <urn:dev:mac:b827ebfffe5a0002> ;
            allmende:rssi "-97"^^xsd:decimal ;
            allmende:snr 6.5 ;
            allmende:fPort 2 ;
            allmende:frameCounter 1834 .
    """)
    assert list(batch.quads) == ["raumklima"]
    assert_same_graph(to_graph(batch.quads["raumklima"]), expected)
    assert {q.graph_name for q in batch.quads["raumklima"]} == {
        ox.NamedNode(f"{BASE}/datasets/raumklima")
    }
    assert batch.count == 3
    # the decoder's firmware field is not in the room-climate profile: reported, not guessed
    assert [(r.path, r.code) for r in batch.rejections] == [
        ("/uplink_message/decoded_payload/firmware", "unmapped-field")
    ]


def test_sensor_description_maps_to_the_expected_triples() -> None:
    sensor, platform = f"{BASE}/sensors/{DGH}", f"{BASE}/platforms/{DGH}"
    expected = turtle(f"""
        <{sensor}> a sosa:Sensor ;
            rdfs:label "Raumklima DGH" ;
            sosa:isHostedBy <{platform}> ;
            sosa:observes <http://vocab.nerc.ac.uk/standard_name/air_temperature/>,
                <http://vocab.nerc.ac.uk/standard_name/relative_humidity/>,
                <http://vocab.nerc.ac.uk/standard_name/mole_fraction_of_carbon_dioxide_in_air/>,
                allmende:batteryVoltage .
        <{platform}> a sosa:Platform, sosa:FeatureOfInterest ;
            sosa:hosts <{sensor}> ;
            geo:lat 54.63452 ;
            geo:long 9.19874 ;
            gsp:hasGeometry <{BASE}/geometries/{DGH}> .
        <{BASE}/geometries/{DGH}> a gsp:Geometry ;
            gsp:asWKT "POINT(9.19874 54.63452)"^^gsp:wktLiteral .
        <{BASE}/features/{DGH}> a sosa:FeatureOfInterest .
        <http://vocab.nerc.ac.uk/standard_name/air_temperature/> a sosa:ObservableProperty ;
            qudt:hasQuantityKind quantitykind:Temperature .
        <http://vocab.nerc.ac.uk/standard_name/relative_humidity/> a sosa:ObservableProperty ;
            qudt:hasQuantityKind quantitykind:RelativeHumidity .
        <http://vocab.nerc.ac.uk/standard_name/mole_fraction_of_carbon_dioxide_in_air/>
            a sosa:ObservableProperty .
        allmende:batteryVoltage a sosa:ObservableProperty ;
            qudt:hasQuantityKind quantitykind:Voltage .
    """)
    quads = sensor_description_quads(dgh_mapping(), BASE, f"{BASE}/devices")
    assert_same_graph(to_graph(quads), expected)
    assert {q.graph_name for q in quads} == {ox.NamedNode(f"{BASE}/devices")}


def test_generic_batch_maps_booleans_integers_and_phenomenon_times() -> None:
    lamp = "sample-luetjenholm-leuchte-12"
    mapping = mapping_for("street-light", lamp, "strassenlicht")
    result = generic.parse(load_payload("generic-batch.json"))
    batch = map_observations(result.observations, {lamp: mapping}, BASE, lambda _: None)

    time = "2024-05-14T20:45:00.000000Z"
    on, dim, power, energy = (
        obs_iri("strassenlicht", lamp, field, time)
        for field in ("lamp_on", "dim_level", "power", "energy")
    )
    sensor, platform = f"{BASE}/sensors/{lamp}", f"{BASE}/platforms/{lamp}"
    expected = turtle(f"""
        <{on}> a sosa:Observation ;
            sosa:madeBySensor <{sensor}> ;
            sosa:observedProperty allmende:lampSwitchedOn ;
            sosa:hasFeatureOfInterest <{platform}> ;
            sosa:hasSimpleResult true ;
            sosa:resultTime "{time}"^^xsd:dateTime .
        <{dim}> a sosa:Observation ;
            sosa:madeBySensor <{sensor}> ;
            sosa:observedProperty allmende:dimLevel ;
            sosa:hasFeatureOfInterest <{platform}> ;
            sosa:hasSimpleResult 70 ;
            sosa:hasResult <{dim}/result> ;
            sosa:resultTime "{time}"^^xsd:dateTime .
        <{dim}/result> a qudt:QuantityValue ; qudt:numericValue 70 ; qudt:unit unit:PERCENT .
        <{power}> a sosa:Observation ;
            sosa:madeBySensor <{sensor}> ;
            sosa:observedProperty allmende:electricPower ;
            sosa:hasFeatureOfInterest <{platform}> ;
            sosa:hasSimpleResult 38.5 ;
            sosa:hasResult <{power}/result> ;
            sosa:resultTime "{time}"^^xsd:dateTime ;
            sosa:phenomenonTime <{power}/phenomenon-time> .
        <{power}/result> a qudt:QuantityValue ; qudt:numericValue 38.5 ; qudt:unit unit:W .
        <{power}/phenomenon-time> a time:Instant ;
            time:inXSDDateTimeStamp "2024-05-14T20:44:30.000000Z"^^xsd:dateTimeStamp .
        <{energy}> a sosa:Observation ;
            sosa:madeBySensor <{sensor}> ;
            sosa:observedProperty allmende:electricEnergy ;
            sosa:hasFeatureOfInterest <{platform}> ;
            sosa:hasSimpleResult 1234.56 ;
            sosa:hasResult <{energy}/result> ;
            sosa:resultTime "{time}"^^xsd:dateTime .
        <{energy}/result> a qudt:QuantityValue ;
            qudt:numericValue 1234.56 ; qudt:unit unit:KiloW-HR .
    """)
    assert_same_graph(to_graph(batch.quads["strassenlicht"]), expected)
    assert {q.graph_name for q in batch.quads["strassenlicht"]} == {ox.DefaultGraph()}
    assert batch.rejections == []


def test_reingesting_the_same_uplink_writes_nothing_new() -> None:
    mappings = {DGH: dgh_mapping()}
    first = map_observations(
        ttn.parse(load_payload("ttn-uplink-humidity.json")).observations, mappings, BASE
    )
    again = map_observations(
        ttn.parse(load_payload("ttn-uplink-humidity.json")).observations, mappings, BASE
    )
    assert set(first.quads["raumklima"]) == set(again.quads["raumklima"])
    store = ox.Store()
    store.extend(first.quads["raumklima"])
    size = len(store)
    store.extend(again.quads["raumklima"])
    assert len(store) == size
    assert not any(
        isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)
        for q in first.quads["raumklima"]
    )


def test_batches_split_by_dataset_and_report_unknown_devices_once() -> None:
    parking = mapping_for("parking-occupancy", "70B3D57ED00AB103", "parken")
    observations = ttn.parse(load_payload("ttn-batch.json")).observations
    batch = map_observations(observations, {DGH: dgh_mapping(), parking.device_id: parking}, BASE)
    assert {k: len(v) for k, v in batch.observations.items()} == {"raumklima": 3, "parken": 2}
    graphs = {q.graph_name for q in batch.quads["parken"]}
    assert graphs == {ox.NamedNode(dataset_graph(BASE, "parken"))}

    lookup = {DGH: dgh_mapping()}.get
    partial = map_observations(observations, lookup, BASE)
    assert partial.count == 3
    assert [(r.path, r.code) for r in partial.rejections] == [
        ("/1/uplink_message/decoded_payload/occupied", "unknown-device")
    ]


def test_the_default_graph_keeps_every_observation_of_a_batch() -> None:
    """Events carry their RDF in the default graph (the projector picks the graph)."""
    observations = ttn.parse(load_payload("ttn-uplink-humidity.json")).observations
    batch = map_observations(observations, {DGH: dgh_mapping()}, BASE, graph_for=lambda _: None)
    assert len(batch.observations["raumklima"]) == 3
    assert all(isinstance(q.graph_name, ox.DefaultGraph) for q in batch.quads["raumklima"])
    named = map_observations(observations, {DGH: dgh_mapping()}, BASE)
    as_triples = {(q.subject, q.predicate, q.object) for q in named.quads["raumklima"]}
    assert {(q.subject, q.predicate, q.object) for q in batch.quads["raumklima"]} == as_triples


def test_chirpstack_gateways_become_urns_and_values_that_do_not_fit_are_reported() -> None:
    soil = mapping_for("soil-moisture", "0004a30b00e1c0de", "gruen")
    event = load_payload("chirpstack-up.json")
    event["object"]["soil_temperature"] = "warm"
    batch = map_observations(
        chirpstack.parse("up", event).observations, {soil.device_id: soil}, BASE
    )
    assert batch.count == 2
    assert [(r.path, r.code) for r in batch.rejections] == [
        ("/object/soil_temperature", "bad-value")
    ]
    gateways = {q.object for q in batch.quads["gruen"] if q.predicate.value.endswith("#gateway")}
    assert gateways == {ox.NamedNode("urn:dev:mac:0016c001f1500812")}


def test_observation_quads_for_one_observation() -> None:
    observation = ttn.parse(load_payload("ttn-uplink-humidity.json")).observations[0]
    quads = observation_quads(observation, dgh_mapping(), BASE + "/", f"{BASE}/g")
    subject = ox.NamedNode(observation_iri(BASE, "raumklima", observation))
    assert (
        ox.Quad(
            subject,
            ox.NamedNode("http://www.w3.org/ns/sosa/hasSimpleResult"),
            ox.Literal("21.4", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")),
            ox.NamedNode(f"{BASE}/g"),
        )
        in quads
    )
    firmware = ttn.parse(load_payload("ttn-uplink-humidity.json")).observations[3]
    with pytest.raises(KeyError):
        observation_quads(firmware, dgh_mapping(), BASE)


def test_observation_iri_depends_on_instant_not_spelling() -> None:
    mapping_time = parse_time("2024-05-14T10:15:02+02:00")
    a = Observation(DGH, "temperature", 1.0, mapping_time, "ttn")
    b = Observation(DGH, "temperature", 2.0, parse_time("2024-05-14T08:15:02Z"), "chirpstack")
    assert observation_iri(BASE, "raumklima", a) == observation_iri(BASE, "raumklima", b)


XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.mark.parametrize(
    ("value", "datatype", "lexical"),
    [
        (21.4, "decimal", "21.4"),
        (21, "decimal", "21"),
        (1e-7, "decimal", "0.0000001"),
        (1e22, "decimal", "10000000000000000000000"),
        ("12.50", "decimal", "12.50"),
        (" -.5 ", "decimal", "-.5"),
        (7, "integer", "7"),
        (7.0, "integer", "7"),
        ("+7", "integer", "7"),
        (True, "boolean", "true"),
        (0, "boolean", "false"),
        ("TRUE", "boolean", "true"),
        ("offen", "string", "offen"),
    ],
)
def test_typed_literal(value: Any, datatype: str, lexical: str) -> None:
    literal = typed_literal(value, datatype)
    assert literal.value == lexical
    assert literal.datatype == ox.NamedNode(XSD + datatype)


@pytest.mark.parametrize(
    ("value", "datatype"),
    [
        (True, "decimal"),
        ("warm", "decimal"),
        ("NaN", "decimal"),
        ("1e999999999", "decimal"),
        ("1_000", "decimal"),
        ("+-7", "integer"),
        ("²", "integer"),
        (float("inf"), "decimal"),
        (7.5, "integer"),
        (True, "integer"),
        (2, "boolean"),
        ("ja", "boolean"),
        (3, "string"),
    ],
)
def test_typed_literal_refuses_values_that_do_not_fit(value: Any, datatype: str) -> None:
    with pytest.raises(UnmappedValue):
        typed_literal(value, datatype)


def test_gateway_terms() -> None:
    assert gateway_term("eui-b827ebfffe5a0001") == ox.NamedNode("urn:dev:mac:b827ebfffe5a0001")
    assert gateway_term("0016C001F1500812") == ox.NamedNode("urn:dev:mac:0016c001f1500812")
    assert gateway_term("packetbroker") == ox.Literal("packetbroker")


TEXTS = ['say "hi" \\ back\nslash\r\ttab', "Grüße 🌧 ✓", ""]


@pytest.mark.parametrize(
    ("value", "datatype"),
    [(21.4, "decimal"), (1e22, "decimal"), ("+7", "integer"), ("TRUE", "boolean")]
    + [(text, "string") for text in TEXTS],
)
def test_literal_text_is_the_typed_literal(value: Any, datatype: str) -> None:
    """The N-Triples map_observations writes reads back as `typed_literal`'s term."""
    statement = f"<{BASE}/s> <{BASE}/p> {literal_text(value, datatype)} .\n"
    (quad,) = ox.parse(statement, format=ox.RdfFormat.N_TRIPLES)
    assert quad.object == typed_literal(value, datatype)


def noted_mapping() -> DeviceMapping:
    note = FieldMapping(f"{BASE}/properties/note", "string", f"{BASE}/features/hall")
    return DeviceMapping(DGH, "raumklima", f"{BASE}/sensors/{DGH}", f"{BASE}/p", {"note": note})


def test_text_from_a_payload_stays_one_literal() -> None:
    """Quotes, backslashes and line breaks in values and provenance cannot end a literal
    early and add statements of their own."""
    sneaky = 'x" .\n<https://evil.example/s> <https://evil.example/p> "y'
    observation = Observation(
        DGH,
        "note",
        sneaky,
        parse_time("2024-05-14T08:15:02Z"),
        "ttn",
        provenance=Provenance(application_id=sneaky, uplink_id="as:up:1", gateway_ids=(sneaky,)),
    )
    batch = map_observations([observation], {DGH: noted_mapping()}, BASE)
    quads = batch.quads["raumklima"]
    assert not any("evil" in str(quad.subject) for quad in quads)
    literals = [quad.object for quad in quads if quad.object == ox.Literal(sneaky)]
    assert len(literals) == 3  # the result, the application id, the gateway


def test_text_that_is_not_unicode_is_a_bad_value() -> None:
    """A lone surrogate cannot be written as UTF-8: the reading is refused, not the
    request failed (its statements would fail to store)."""
    at = parse_time("2024-05-14T08:15:02Z")
    broken = Observation(DGH, "note", "a\ud800b", at, "ttn", path="/note")
    fine = Observation(DGH, "note", "ok", at, "ttn", path="/ok")
    batch = map_observations([broken, fine], {DGH: noted_mapping()}, BASE)
    assert [(r.path, r.code) for r in batch.rejections] == [("/note", "bad-value")]
    assert batch.count == 1
    assert ox.Literal("ok") in {quad.object for quad in batch.quads["raumklima"]}
