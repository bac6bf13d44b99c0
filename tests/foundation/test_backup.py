"""Backup while the node serves and takes readings; wipe; restore: the same node comes back.

The reference for "the same" is the node as of the backup's point: its event log up to the
last event in the backup, and that log's projection (what the store showed then).
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from allmende.node.auth import mint_token
from allmende.node.backup import BackupError, backup, rebuild_store, restore
from allmende.node.config import load_settings
from allmende.node.federation.trust import add_peer, checked_peer
from allmende.node.http.app import create_app
from allmende.node.keys import load_key
from allmende.policies import jws
from tests.foundation.test_serve import ALLMENDE, free_port, serving, wait_until_ready
from tests.ingest.conftest import payload, prepare_village
from tests.support import make_node

UPLOAD = "Produkt;Ansatz 2024\nStraßenreinigung;120000\n".encode()
PEER = "https://struckum.example/"
QUERIES = {
    "quads per graph": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "datasets": """PREFIX dcat: <http://www.w3.org/ns/dcat#>
        PREFIX dct: <http://purl.org/dc/terms/>
        SELECT ?d ?title WHERE { GRAPH ?g { ?d a dcat:Dataset ; dct:title ?title } }""",
    "readings": """PREFIX sosa: <http://www.w3.org/ns/sosa/>
        SELECT ?o ?time ?value WHERE { GRAPH ?g {
          ?o a sosa:Observation ; sosa:resultTime ?time ; sosa:hasSimpleResult ?value } }""",
}


def answers(store_path: Path) -> dict[str, set[tuple[str, ...]]]:
    store = ox.Store.read_only(str(store_path))
    return {
        name: {tuple(str(term) for term in row) for row in store.query(query)}  # type: ignore[union-attr]
        for name, query in QUERIES.items()
    }


def rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(database)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


async def build(
    directory: Path, environ: dict[str, str] | None = None, *, readings: bool = False
) -> dict[str, str]:
    """Datasets with devices, and a trusted peer, written by the node's own code."""
    node = make_node(directory, node_id="https://luetjenholm.example/", environ=environ)
    secrets = await prepare_village(node)
    peer_key = Ed25519PrivateKey.generate().public_key()
    body = {"id": PEER, "name": "Struckum", "jwk": jws.public_jwk(peer_key)}
    add_peer(node.engine, checked_peer({**body, "base_url": "http://127.0.0.1:9"}, node.id))
    if not readings:
        node.close()
        return secrets
    client = TestClient(TestServer(create_app(node)))  # its cleanup closes the node
    await client.start_server()
    try:
        response = await client.post(
            "/ingest/observations",
            json=payload("generic-batch.json"),
            headers={"X-Allmende-Webhook-Secret": secrets["observations"]},
        )
        assert response.status == 202, await response.text()
        await node.projected()
    finally:
        await client.close()
    return secrets


class Readings(threading.Thread):
    """Posts one new reading after another to the served node until stopped."""

    def __init__(self, url: str, secret: str) -> None:
        super().__init__(daemon=True)
        self.url, self.secret = url, secret
        self.posted = 0
        self.first = threading.Event()
        self.stop = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                minute = self.posted
                reading = {
                    "sensor": "sample-luetjenholm-leuchte-12",
                    "property": "power",
                    "value": 30 + minute % 20,
                    "time": f"2024-06-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:"
                    f"{minute % 60:02d}:00Z",
                }
                status = post(
                    self.url + "/ingest/observations",
                    json.dumps({"observations": [reading]}).encode(),
                    {"X-Allmende-Webhook-Secret": self.secret, "Content-Type": "application/json"},
                )
                assert status == 202, status
                self.posted += 1
                self.first.set()
        except BaseException as exc:  # reported by the test
            self.failure = exc
            self.first.set()


def test_backup_while_serving_then_wipe_and_restore_gives_the_same_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLMENDE_NODE_BASE_URL", "http://127.0.0.1:8700")  # wherever it listens
    village = tmp_path / "village"
    secrets = asyncio.run(build(village))
    key = load_key(village / "node-key.pem")
    admin = {"Authorization": f"Bearer {mint_token(key, 'https://luetjenholm.example/')}"}
    archive = tmp_path / "backups" / "village.allmende-backup"
    archive.parent.mkdir()
    port = free_port()
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        assert (
            post(
                url + "/admin/datasets/strassenlicht/distributions?file_name=ansaetze.csv",
                UPLOAD,
                {**admin, "Content-Type": "text/csv"},
            )
            == 201
        )
        batch = json.dumps(payload("generic-batch.json")).encode()
        headers = {
            "X-Allmende-Webhook-Secret": secrets["observations"],
            "Content-Type": "application/json",
        }
        assert post(url + "/ingest/observations", batch, headers) == 202
        readings = Readings(url, secrets["observations"])
        readings.start()
        try:
            assert readings.first.wait(30) and readings.failure is None
            before = readings.posted
            done = subprocess.run(
                [*ALLMENDE, "backup", str(village), str(archive)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            during = readings.posted - before
        finally:
            readings.stop.set()
            readings.join(30)
        assert done.returncode == 0, done.stderr
        assert "keep it safe" in done.stdout
        assert readings.failure is None
        assert during > 0, "no reading was posted while the backup ran"
    assert archive.stat().st_mode & 0o777 == 0o600
    assert not [p for p in archive.parent.iterdir() if p != archive]  # no partial file left

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["node"] == "https://luetjenholm.example/"
    assert set(manifest["members"]) == set(names) - {"manifest.json"}
    assert not [n for n in names if "store" in n or n.endswith(".log") or "incoming" in n]
    last = manifest["database"]["events"]

    # the reference: the original node's log up to the backup's point, and its projection
    original_db = village / "data" / "control.sqlite"
    log_sql = (
        "SELECT seq, id, signature, batch_id, batch_index, envelope FROM event_log "
        f"WHERE seq <= {last} ORDER BY seq"
    )
    expected_log = rows(original_db, log_sql)
    assert rows(original_db, "SELECT max(seq) FROM event_log")[0][0] > last  # posted after it
    batch_sql = (
        "SELECT id, digests, signature FROM event_batch WHERE id IN "
        f"(SELECT batch_id FROM event_log WHERE seq <= {last}) ORDER BY id"
    )
    expected_batches = rows(original_db, batch_sql)
    reference = tmp_path / "reference"
    shutil.copytree(village, reference)
    rows_deleted = sqlite3.connect(reference / "data" / "control.sqlite")
    rows_deleted.execute(f"DELETE FROM event_log WHERE seq > {last}")
    rows_deleted.commit()
    rows_deleted.close()
    rebuild_store(load_settings(reference, environ={}))
    expected = answers(reference / "data" / "store")
    assert len(expected["readings"]) > len(payload("generic-batch.json")["observations"])

    shutil.rmtree(village)
    done = subprocess.run(
        [*ALLMENDE, "restore", str(archive), str(village)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr

    restored_db = village / "data" / "control.sqlite"
    assert rows(restored_db, log_sql) == expected_log
    assert rows(restored_db, "SELECT max(seq) FROM event_log")[0][0] == last
    assert rows(restored_db, batch_sql) == expected_batches
    assert answers(village / "data" / "store") == expected
    # every reading acknowledged before the backup started is in it
    june = [row for row in expected["readings"] if row[1].startswith('"2024-06-')]
    assert len(june) >= before
    reference_db = reference / "data" / "control.sqlite"
    for sql in ("SELECT id, jwk FROM federation_peer", "SELECT * FROM catalog_dataset ORDER BY id"):
        assert rows(restored_db, sql) == rows(reference_db, sql)
    assert (village / "node-key.pem").read_bytes() == (reference / "node-key.pem").read_bytes()
    assert (village / "node-key.pem").stat().st_mode & 0o777 == 0o600

    # the restored node serves: its file, its SPARQL answers, the old webhook secret
    port = free_port()
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        download = f"{url}/datasets/strassenlicht/distributions/ansaetze/download"
        with urllib.request.urlopen(download, timeout=10) as response:
            assert response.read() == UPLOAD
        query = urllib.request.Request(
            url + "/sparql",
            data=QUERIES["datasets"].encode(),
            headers={
                "Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json",
            },
        )
        with urllib.request.urlopen(query, timeout=30) as response:
            bindings = json.load(response)["results"]["bindings"]
        titles = {(b["d"]["value"], b["title"]["value"]) for b in bindings}
        assert titles and titles <= {
            (d.strip("<>"), t.split("@")[0].strip('"')) for d, t in expected["datasets"]
        }
        assert post(url + "/ingest/observations", batch, headers) == 202


def test_restore_refuses_a_used_folder_a_damaged_file_and_a_served_folder(tmp_path: Path) -> None:
    village = tmp_path / "village"
    asyncio.run(build(village))
    archive = tmp_path / "village.backup"
    manifest = backup(village, archive, environ={})
    with tarfile.open(archive) as tar:
        assert set(manifest["members"]) == set(tar.getnames()) - {"manifest.json"}

    for name, kind in (("../outside.pem", tarfile.REGTYPE), ("node/data/files/x", tarfile.SYMTYPE)):
        hostile = tmp_path / "hostile.backup"
        with tarfile.open(hostile, "w:gz") as tar:
            member = tarfile.TarInfo(name)
            member.type = kind
            member.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else ""
            tar.addfile(member, io.BytesIO(b""))
        with pytest.raises(BackupError, match="not a r"):
            restore(hostile, tmp_path / "fresh", environ={})
        assert not (tmp_path / "outside.pem").exists() and not (tmp_path / "fresh").exists()

    with pytest.raises(BackupError, match="not empty"):
        restore(archive, village, environ={})
    with pytest.raises(BackupError, match="outside the node folder"):
        backup(village, village / "inside.backup", environ={})

    damaged = tmp_path / "damaged.backup"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "node/allmende.toml":
                data += b"# changed after the backup\n"
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    with pytest.raises(BackupError, match="checksum"):
        restore(damaged, tmp_path / "fresh", environ={})
    assert not (tmp_path / "fresh").exists()

    store = ox.Store(str(load_settings(village, environ={}).store_path))  # as a serving node
    try:
        with pytest.raises(BackupError, match="a node is using this folder"):
            restore(archive, village, force=True, environ={})
    finally:
        del store
    restore(archive, village, force=True, environ={})
    assert rows(village / "data" / "control.sqlite", "SELECT count(*) FROM catalog_dataset")[0][0]


def log_rows(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [
                tuple(row)
                for row in connection.execute(
                    text(
                        "SELECT seq, id, signature, batch_id, batch_index, envelope "
                        "FROM event_log ORDER BY seq"
                    )
                )
            ]
    finally:
        engine.dispose()


def test_a_postgresql_node_is_dumped_and_restored_into_an_empty_database(
    tmp_path: Path, postgres_server: Any
) -> None:
    original = {"ALLMENDE_DATABASE_URL": postgres_server.create_database("backup_original")}
    village = tmp_path / "village"
    asyncio.run(build(village, original, readings=True))
    expected = answers(village / "data" / "store")
    assert expected["readings"]
    archive = tmp_path / "village.backup"
    manifest = backup(village, archive, environ=original)
    assert manifest["database"]["kind"] == "postgresql"
    assert set(manifest["members"]) >= {"database/control.pgdump", "node/node-key.pem"}

    shutil.rmtree(village)
    with pytest.raises(BackupError, match="not empty"):  # the original database still is
        restore(archive, tmp_path / "elsewhere", environ=original)
    assert not (tmp_path / "elsewhere").exists()
    with pytest.raises(BackupError, match="sqlite"):  # the configuration alone names SQLite
        restore(archive, tmp_path / "elsewhere", environ={})

    fresh = {"ALLMENDE_DATABASE_URL": postgres_server.create_database("backup_restored")}
    restore(archive, village, environ=fresh)
    restored = log_rows(fresh["ALLMENDE_DATABASE_URL"])
    assert restored and restored == log_rows(original["ALLMENDE_DATABASE_URL"])
    assert answers(village / "data" / "store") == expected
