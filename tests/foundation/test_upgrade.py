"""A node folder written by the previous release opens with this one: schema upgraded, data kept.

The folder (tests/fixtures/upgrade, made by make_folder.py with the code of commit 380dba0)
holds the control plane and keys but no RDF store; `allmende reindex` rebuilds that.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from allmende.node.db import MIGRATIONS
from tests.foundation.test_serve import ALLMENDE, free_port, serving, wait_until_ready

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade" / "node-380dba0.tar.gz"
SECRET = "R9-LEJQ6Hs9Uq9e4GPR53SbPIzq3RC-d3D1cxXoSyqA"
QUERY = """PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX sosa: <http://www.w3.org/ns/sosa/>
SELECT ?title ?time ?value WHERE {
  GRAPH ?catalog { ?dataset a dcat:Dataset ; dct:title ?title }
  GRAPH ?data { ?o a sosa:Observation ; sosa:resultTime ?time ; sosa:hasSimpleResult ?value }
  FILTER(STRENDS(STR(?dataset), "/datasets/strassenlicht") && lang(?title) = "de")
} ORDER BY ?time"""


def schema(database: Path) -> set[str]:
    connection = sqlite3.connect(database)
    try:
        return {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")}
    finally:
        connection.close()


def sparql(url: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        url + "/sparql",
        data=QUERY.encode(),
        headers={
            "Content-Type": "application/sparql-query",
            "Accept": "application/sparql-results+json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return list(json.load(response)["results"]["bindings"])


def test_a_folder_of_the_previous_release_is_upgraded_and_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # its events name IRIs under the base_url it was made with (behind a proxy, a node's
    # public address is not where it listens)
    monkeypatch.setenv("ALLMENDE_NODE_BASE_URL", "http://127.0.0.1:8700")
    village = tmp_path / "village"
    with tarfile.open(FOLDER) as tar:
        tar.extractall(village, filter="data")
    database = village / "data" / "control.sqlite"
    before = schema(database)
    newest = {path.stem.split("_")[0] for path in (MIGRATIONS / "versions").glob("*.py")}
    assert before and not before >= {"web1"}, "the stored folder should predate web1"

    done = subprocess.run(
        [*ALLMENDE, "reindex", str(village)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "reindexed" in done.stdout
    after = schema(database)
    assert after != before and "web1" in after and after <= newest

    port = free_port()
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        rows = sparql(url)
        assert [(r["title"]["value"], r["time"]["value"], r["value"]["value"]) for r in rows] == [
            ("Straßenlicht am Dorfplatz", "2024-05-14T20:45:00Z", "38.5")
        ]
        # the webhook secret and the device written by the old release still work
        reading = {
            "sensor": "sample-luetjenholm-leuchte-12",
            "property": "power",
            "value": 40.25,
            "time": "2024-05-14T21:00:00Z",
        }
        request = urllib.request.Request(
            url + "/ingest/observations",
            data=json.dumps({"observations": [reading]}).encode(),
            headers={"X-Allmende-Webhook-Secret": SECRET, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
            assert json.load(response)["accepted"] == 1
