"""A dataset's place carries its geometry as WKT (locn:geometry, what harvesters read) and as
GeoJSON (GeoSPARQL 1.1 `gsp:asGeoJSON`), without breaking DCAT-AP's one geometry per place."""

from __future__ import annotations

import json
import re
from typing import Any

from rdflib import Graph, Literal
from rdflib.namespace import RDF

from allmende.node.catalog.rdf import geojson
from allmende.node.runtime import Node
from allmende.vocab.namespaces import DCAT, DCT, GSP, LOCN
from tests.catalog import shacl_official
from tests.catalog.samples import publish_all
from tests.catalog.test_catalog_rdf import fetch_graph

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def flat(coordinates: Any) -> list[float]:
    if isinstance(coordinates, (int, float)):
        return [float(coordinates)]
    return [value for item in coordinates for value in flat(item)]


async def test_every_place_has_one_wkt_geometry_and_the_same_shape_as_geojson(
    client: Any, node: Node
) -> None:
    await publish_all(client, node)
    catalog = await fetch_graph(client, "/catalog")
    places = {
        place
        for dataset in catalog.subjects(RDF.type, DCAT.Dataset)
        for place in catalog.objects(dataset, DCT.spatial)
        if (place, LOCN.geometry, None) in catalog
    }
    assert len(places) == 3
    kinds = set()
    for place in places:
        [wkt] = list(catalog.objects(place, LOCN.geometry))
        assert isinstance(wkt, Literal) and wkt.datatype == GSP.wktLiteral
        [shape] = list(catalog.objects(place, GSP.hasGeometry))
        assert (shape, RDF.type, GSP.Geometry) in catalog
        assert list(catalog.objects(shape, GSP.asWKT)) == [wkt]
        [literal] = list(catalog.objects(shape, GSP.asGeoJSON))
        assert isinstance(literal, Literal) and literal.datatype == GSP.geoJSONLiteral
        parsed = json.loads(str(literal))
        kinds.add(parsed["type"])
        # the same numbers in the same order: longitude, latitude as WKT writes them
        assert flat(parsed["coordinates"]) == [float(n) for n in NUMBER.findall(str(wkt))]
    assert kinds == {"Point", "Polygon"}


def test_geojson_only_for_wgs84_longitude_latitude() -> None:
    crs84 = "<http://www.opengis.net/def/crs/OGC/1.3/CRS84> POINT(9.0012 54.5634)"
    assert json.loads(geojson(crs84) or "null") == {
        "type": "Point",
        "coordinates": [9.0012, 54.5634],
    }
    # ETRS89 / UTM 32N would need a reprojection: the WKT stays alone
    assert geojson("<http://www.opengis.net/def/crs/EPSG/0/25832> POINT(500000 6050000)") is None
    assert geojson("POLYGON((8.98 54.55, 9.02") is None


async def test_a_second_locn_geometry_would_violate_dcat_ap(client: Any, node: Node) -> None:
    """Why the GeoJSON is not a second locn:geometry: DCAT-AP 3 allows at most one per place."""
    await publish_all(client, node)
    catalog = await fetch_graph(client, "/catalog")
    assert shacl_official.violations(catalog) == []
    doubled = Graph()
    doubled += catalog
    for shape, literal in list(catalog.subject_objects(GSP.asGeoJSON)):
        for place in catalog.subjects(GSP.hasGeometry, shape):
            doubled.add((place, LOCN.geometry, literal))
    paths = {path for _severity, _focus, path, _message in shacl_official.violations(doubled)}
    assert paths == {str(LOCN.geometry)}
