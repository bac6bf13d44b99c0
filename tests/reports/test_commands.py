"""`allmende reports`: categories, an app's key, the boundary and settings from the command
line, on a stopped folder and through a running node; the key files a report over Open311."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import requests

from allmende.node.reports.samples import sample_feature
from tests.foundation.test_serve import ALLMENDE, free_port, serving, wait_until_ready
from tests.reports.conftest import INSIDE


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*ALLMENDE, *args], capture_output=True, text=True, timeout=120)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def test_operator_sets_up_the_maengelmelder_from_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "dorf"
    port = free_port()
    run(
        "init",
        str(folder),
        "--name",
        "Lütjenholm",
        "--id",
        "https://luetjenholm.example/",
        "--port",
        str(port),
    )
    run(
        "reports",
        "category",
        "add",
        str(folder),
        "muell",
        "--name",
        "Müll",
        "--department",
        "Bauhof",
    )
    refused = run("reports", "category", "add", str(folder), "Müll!", "--name", "x", ok=False)
    assert refused.returncode != 0 and "code" in refused.stderr
    area = tmp_path / "area.geojson"
    area.write_text(json.dumps(sample_feature("luetjenholm", "Lütjenholm")), encoding="utf-8")
    run("reports", "boundary", str(folder), str(area), "--sample")
    run("reports", "settings", str(folder), "--rate-per-hour", "50")
    with serving(folder, port) as (url, process):
        wait_until_ready(url, process)
        run(
            "reports",
            "category",
            "add",
            str(folder),
            "schlagloch",
            "--name",
            "Schlagloch",
            "--department",
            "Bauamt",
            "--attributes",
            json.dumps([{"code": "tiefe", "datatype": "number", "description": "Wie tief (cm)?"}]),
        )
        listed = json.loads(run("reports", "category", "list", str(folder), "--json").stdout)
        assert {(c["code"], c["department"]) for c in listed} == {
            ("muell", "Bauhof"),
            ("schlagloch", "Bauamt"),
        }
        key = run("reports", "client", "add", str(folder), "Meldeapp").stdout.strip()
        settings = json.loads(run("reports", "settings", str(folder)).stdout)
        assert settings["rate_per_hour"] == 50
        answer = requests.post(
            f"{url}/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "schlagloch",
                "lat": INSIDE[0],
                "long": INSIDE[1],
                "attribute[tiefe]": "12",
            },
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        area_shown = requests.get(f"{url}/open311/v2/areas.json", timeout=30).json()
        assert area_shown[0]["sample"] is True
