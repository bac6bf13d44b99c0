"""A served sample village for browser tests: a real `allmende serve` process with data
published through the node's own HTTP API, exactly as an operator would publish it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from allmende.node.auth import mint_token
from allmende.node.keys import load_key
from allmende.node.setup_files import init_directory

SAMPLE_DATASETS = [
    {
        "id": "raumklima-dgh",
        "title": {
            "de": "Raumklima Dorfgemeinschaftshaus (Beispieldaten)",
            "en": "Indoor climate of the village hall (sample data)",
        },
        "description": {
            "de": "Temperatur und Luftfeuchte im selten genutzten Dorfgemeinschaftshaus. Beispieldaten.",
            "en": "Temperature and humidity in the rarely used village hall. Sample data.",
        },
        "keywords": {"de": ["Raumklima", "Feuchte"], "en": ["indoor climate", "humidity"]},
        "themes": ["ENVI"],
        "license": "dl-de/by-2-0",
        "frequency": "15MIN",
        "contact": {"email": "daten@struckum.example"},
    },
    {
        "id": "parken-dorfplatz",
        "title": {
            "de": "Parkplätze am Dorfplatz (Beispieldaten)",
            "en": "Parking at the village square (sample data)",
        },
        "description": {
            "de": "Belegung der Parkplätze am Dorfplatz. Beispieldaten.",
            "en": "Occupancy of the parking spaces at the village square. Sample data.",
        },
        "keywords": {"de": ["Parken"], "en": ["parking"]},
        "themes": ["TRAN"],
        "license": "dl-de/zero-2-0",
        "frequency": "CONT",
        "contact": {"email": "daten@struckum.example"},
    },
]


SAMPLE_DEVICES = [
    (
        "70B3D57ED00C0001",
        "raumklima-dgh",
        "room-climate",
        54.5841,
        8.9932,
        "Dorfgemeinschaftshaus, Saal",
    ),
    ("70B3D57ED00C0002", "raumklima-dgh", "room-climate", 54.5846, 8.9940, "Alte Schule, Keller"),
    (
        "70B3D57ED00C0003",
        "parken-dorfplatz",
        "parking-occupancy",
        54.5838,
        8.9925,
        "Dorfplatz, Stellplatz 1",
    ),
]
PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Village:
    directory: Path
    port: int
    token: str = ""
    process: subprocess.Popen[bytes] | None = None
    expected: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        admin: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**({"Content-Type": "application/json"} if data else {}), **(headers or {})}
        if admin:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: {error.code} {error.read()[:800]!r}") from error
        return json.loads(text) if text else None

    def start(self) -> None:
        log = open(self.directory / "serve.log", "ab")  # noqa: SIM115
        command = shutil.which("allmende")
        argv = [command] if command else [sys.executable, "-m", "allmende.node"]
        self.process = subprocess.Popen(
            [*argv, "serve", str(self.directory)], stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.directory / "serve.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        raise AssertionError("the village node did not become ready")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def serve_village(directory: Path) -> Village:
    port = free_port()
    init_directory(directory, name="Struckum", port=port)
    village = Village(directory, port)
    village.token = mint_token(load_key(directory / "node-key.pem"), "https://struckum.example/")
    village.start()
    for dataset in SAMPLE_DATASETS:
        village.call("POST", "/admin/datasets", dataset)
    for device, dataset, profile, lat, lon, label in SAMPLE_DEVICES:
        village.call(
            "POST",
            "/admin/devices",
            {
                "device": device,
                "dataset": dataset,
                "profile": profile,
                "lat": lat,
                "lon": lon,
                "label": label,
            },
        )
    secret = village.call("POST", "/admin/ingest/sources/ttn/secret")["secret"]
    village.call(
        "POST",
        "/ingest/ttn",
        sample_uplinks(),
        admin=False,
        headers={"X-Allmende-Webhook-Secret": secret},
    )
    village.expected = {
        "name": "Struckum",
        "datasets": [d["title"]["de"] for d in SAMPLE_DATASETS],
        "sensors": [device.lower() for device, *_ in SAMPLE_DEVICES],
    }
    return village


def sample_uplinks() -> list[dict[str, Any]]:
    """Three days of readings every 3 hours, in the format The Things Stack sends."""
    template = json.loads((PAYLOADS / "ttn-uplink-humidity.json").read_text(encoding="utf-8"))
    now = datetime.now(UTC).replace(microsecond=0)
    uplinks = []
    for device, _dataset, profile, *_ in SAMPLE_DEVICES:
        for step in range(24):
            moment = (now - timedelta(hours=3 * step)).isoformat().replace("+00:00", "Z")
            uplink = json.loads(json.dumps(template))
            uplink["end_device_ids"]["dev_eui"] = device
            uplink["received_at"] = uplink["uplink_message"]["received_at"] = moment
            if profile == "room-climate":
                decoded: dict[str, Any] = {"temperature": 14 + step % 5, "humidity": 55 + step % 9}
            else:
                decoded = {"occupied": step % 3 == 0}
            uplink["uplink_message"]["decoded_payload"] = decoded
            uplinks.append(uplink)
    return uplinks


def browser_environment(village: Village, artifacts: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ALLMENDE_BASE_URL": village.url,
        "ALLMENDE_ADMIN_TOKEN": village.token,
        "ALLMENDE_EXPECTED": json.dumps(village.expected),
        "ALLMENDE_ARTIFACTS": str(artifacts),
    }
