"""The LoRaWAN tutorial's samples, run as written against `allmende demo`: the sample uplink is
accepted, the vendor-named one is refused as unmapped, `device show` names the unmapped
field, the documented `device map` commands map it, and the same message then stores
TempC_SHT as 21.54 °C."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.federation.test_demo import three_free_ports

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorials" / "lorawan.md"
SAMPLE = re.compile(r"<!-- sample: ([\w-]+) -->\n```sh\n(.*?)```", re.S)


def samples() -> dict[str, str]:
    return dict(SAMPLE.findall(TUTORIAL.read_text(encoding="utf-8")))


def run(script: str, folder: Path, port: int) -> str:
    """One documented block in bash, with the demo's folder and ports where the docs say
    ./demo and 8701; `allmende` is this interpreter's when no script is on the PATH."""
    prelude = "set -e\n"
    if shutil.which("allmende") is None:
        prelude += f'allmende() {{ "{sys.executable}" -m allmende.node "$@"; }}\n'
    text = script.replace("./demo", str(folder)).replace("8701", str(port))
    done = subprocess.run(
        ["bash", "-c", prelude + text],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TOKEN": os.environ.get("TOKEN", "")},
        check=False,
    )
    assert done.returncode == 0, (script, done.stdout, done.stderr)
    return done.stdout


def test_the_documented_samples_work_against_the_demo(tmp_path: Path) -> None:
    found = samples()
    assert set(found) >= {"room-climate", "unmapped", "show", "map"}
    base = three_free_ports()
    folder = tmp_path / "demo"
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "allmende.node",
            "demo",
            "--directory",
            str(folder),
            "--base-port",
            str(base),
            "--interval",
            "3600",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        printed: list[str] = []
        deadline = time.monotonic() + 180
        while not any("Stop with Ctrl-C" in line for line in printed):
            line = demo.stdout.readline()
            assert line and time.monotonic() < deadline, "".join(printed)
            printed.append(line)
        token = subprocess.run(
            [sys.executable, "-m", "allmende.node", "token", str(folder / "luetjenholm")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        os.environ["TOKEN"] = token
        try:
            # the first block sets TOKEN itself; later blocks use the one it made
            accepted = json.loads(run(found["room-climate"], folder, base))
            assert accepted["accepted"] == 3 and accepted["reported"] == []

            refused = json.loads(run(found["unmapped"], folder, base))
            assert refused["status"] == 422
            codes = {(e["code"], e["path"].rsplit("/", 1)[-1]) for e in refused["errors"]}
            assert codes == {
                ("unmapped-field", "TempC_SHT"),
                ("unmapped-field", "Hum_SHT"),
                ("unmapped-field", "BatV"),
            }
            shown = run(found["show"], folder, base)
            assert "TempC_SHT = 2154  (unmapped)" in shown

            run(found["map"], folder, base)
            again = json.loads(run(found["unmapped"], folder, base))
            assert again["accepted"] == 3 and again["reported"] == []
        finally:
            os.environ.pop("TOKEN", None)

        url = (
            f"http://127.0.0.1:{base}/datasets/raumklima/observations?"
            "sensor=sample-luetjenholm-dgh-01&from=2026-05-14T08:29:00Z&to=2026-05-14T08:31:00Z"
        )
        deadline = time.monotonic() + 30
        while True:
            with urllib.request.urlopen(url, timeout=10) as response:
                series = json.loads(response.read())["series"]
            values = {s["property"].rsplit("/", 2)[-2]: s["points"] for s in series}
            if "air_temperature" in values or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert [p["value"] for p in values["air_temperature"]] == [21.54]
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
