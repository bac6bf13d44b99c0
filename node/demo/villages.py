"""The sample villages of the demo and what they measure. Everything here is sample data:
real municipality names, invented sensors, datasets marked "(Beispieldaten)"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from allmende.policies.templates import template_document


@dataclass(frozen=True)
class Sensor:
    device_id: str
    dataset: str
    profile: str
    lat: float
    lon: float
    label: str


@dataclass(frozen=True)
class Village:
    slug: str
    name: str
    lat: float
    lon: float

    @property
    def node_id(self) -> str:
        return f"https://{self.slug}.example/"

    def datasets(self, base: str | None = None) -> list[dict[str, Any]]:
        """Two open datasets (pooled with the neighbours) and one kept to the village.

        Each says where it lies, under which policy and how to get it: the SPARQL endpoint
        and the time series API, and (given the node's public `base` URL) a download of
        all its readings. A harvester imports a dataset only with all of these.
        """
        contact = {"email": f"daten@{self.slug}.example"}
        found: list[dict[str, Any]] = [
            {
                "id": "raumklima",
                "title": {
                    "de": f"Raumklima in selten genutzten Gebäuden {self.name} (Beispieldaten)",
                    "en": f"Room climate in rarely used buildings, {self.name} (sample data)",
                },
                "description": {
                    "de": "Temperatur und Luftfeuchte im Dorfgemeinschaftshaus, alle 15 Minuten. "
                    "Beispieldaten der Allmende-Demo.",
                    "en": "Temperature and humidity in the village hall every 15 minutes. "
                    "Sample data of the Allmende demo.",
                },
                "keywords": {"de": ["Luftfeuchte", "Raumklima", "LoRaWAN"]},
                "license": "dl-de/by-2-0",
                "policy": self.open_policy(),
                "themes": ["ENVI"],
                "frequency": "15MIN",
                "contact": contact,
            },
            {
                "id": "parken",
                "title": {
                    "de": f"Parkplatzbelegung {self.name} (Beispieldaten)",
                    "en": f"Parking occupancy, {self.name} (sample data)",
                },
                "description": {
                    "de": "Belegung der Stellplätze am Dorfplatz. Beispieldaten der Allmende-Demo.",
                    "en": "Occupancy of the parking spaces at the village square. Sample data.",
                },
                "keywords": {"de": ["Parken", "Verkehr", "LoRaWAN"]},
                "license": "dl-de/by-2-0",
                "policy": self.open_policy(),
                "themes": ["TRAN"],
                "frequency": "CONT",
                "contact": contact,
            },
            {
                "id": "strassenlicht",
                "title": {
                    "de": f"Straßenbeleuchtung nach Bedarf {self.name} (Beispieldaten)",
                    "en": f"Street lights on demand, {self.name} (sample data)",
                },
                "description": {
                    "de": "Schaltzustände der Leuchten; nur für die Gemeinde. Beispieldaten.",
                    "en": "Switching states of the street lights; for the municipality only.",
                },
                "license": "other-closed",
                "access_rights": "NON_PUBLIC",
                "policy": self.street_light_policy(),
                "themes": ["ENER"],
                "frequency": "CONT",
                "contact": contact,
            },
        ]
        for dataset in found:
            dataset["spatial"] = {"bbox": self.bbox()}
            dataset["distributions"] = [
                *self.downloads(base, dataset["id"]),
                {"kind": "api", "service": "sparql"},
                {"kind": "api", "service": "observations"},
            ]
        return found

    def bbox(self) -> list[float]:
        """The village's surroundings as [west, south, east, north]."""
        return [
            round(self.lon - 0.02, 4),
            round(self.lat - 0.01, 4),
            round(self.lon + 0.02, 4),
            round(self.lat + 0.01, 4),
        ]

    def downloads(self, base: str | None, dataset_id: str) -> list[dict[str, Any]]:
        """The dataset's readings as one Turtle file: its data graph from the Graph Store
        (names no sensor, so a restricted dataset's description gives nothing away)."""
        if base is None:
            return []
        root = base.rstrip("/")
        graph = quote(f"{root}/graphs/datasets/{dataset_id}", safe="")
        return [
            {
                "id": "messwerte",
                "kind": "link",
                "title": {"de": "Alle Messwerte (Turtle)", "en": "All readings (Turtle)"},
                "url": f"{root}/rdf-graphs?graph={graph}",
                "format": "RDF_TURTLE",
                "media_type": "text/turtle",
            }
        ]

    def open_policy(self) -> dict[str, Any]:
        """Open data under dl-de/by-2-0: anyone may use it, naming the village."""
        return template_document("open-data-attribution", assigner=self.node_id)

    def street_light_policy(self) -> dict[str, Any]:
        """Street lights are the municipality's: use only for a public task, not passed on.
        Without a policy the dataset page had nothing to say about its terms."""
        return {
            "@context": [
                "https://w3id.org/dspace/2025/1/context.jsonld",
                {"allmende": "https://w3id.org/allmende/ns#"},
            ],
            "@id": f"{self.node_id}policies/strassenlicht",
            "@type": "Offer",
            "assigner": self.node_id,
            "dct:title": [
                {"@value": "Nur für öffentliche Aufgaben", "@language": "de"},
                {"@value": "Public tasks only", "@language": "en"},
            ],
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {
                            "leftOperand": "purpose",
                            "operator": "isA",
                            "rightOperand": {"@id": "allmende:publicTask"},
                        }
                    ],
                }
            ],
            "prohibition": [{"action": "distribute"}],
        }

    def sensors(self) -> list[Sensor]:
        prefix = f"sample-{self.slug}"
        return [
            Sensor(f"{prefix}-dgh-01", "raumklima", "room-climate", self.lat, self.lon, "DGH"),
            Sensor(
                f"{prefix}-park-01",
                "parken",
                "parking-occupancy",
                self.lat + 0.001,
                self.lon,
                "Stellplatz 1",
            ),
            Sensor(
                f"{prefix}-park-02",
                "parken",
                "parking-occupancy",
                self.lat + 0.001,
                self.lon + 0.001,
                "Stellplatz 2",
            ),
            Sensor(
                f"{prefix}-leuchte-01",
                "strassenlicht",
                "street-light",
                self.lat - 0.001,
                self.lon,
                "Leuchte 1",
            ),
        ]


VILLAGES = (
    Village("luetjenholm", "Lütjenholm", 54.6467, 8.9656),
    Village("bredstedt", "Bredstedt", 54.6197, 8.9647),
    Village("struckum", "Struckum", 54.5833, 8.9833),
)
