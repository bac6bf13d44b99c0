"""`allmende device map` and `device show` beside a running node, as an operator uses them:
a device registered with its DevEUI as printed on the label, a real decoder's field that
the profile does not know, shown, mapped from the shell, and the next uplink stored as the
right observation."""

from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from allmende.node.cli import main
from tests.foundation.test_serve import ALLMENDE, free_port, get, serving, wait_until_ready
from tests.ingest.conftest import payload

CF = "http://vocab.nerc.ac.uk/standard_name/"


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return str(result.stdout)


def post(url: str, body: Any, secret: str) -> int:
    request = urllib.request.Request(
        url + "/ingest/ttn/uplink",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"X-Allmende-Webhook-Secret": secret, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def uplink(moment: datetime, decoded: dict[str, Any]) -> Any:
    message = copy.deepcopy(payload("ttn-uplink-humidity.json"))
    message["end_device_ids"].update(dev_eui="70B3D57ED0000BBB", device_id="lht65-keller")
    up = message["uplink_message"]
    up.pop("version_ids", None)
    up["decoded_payload"] = decoded
    up["received_at"] = moment.isoformat().replace("+00:00", "Z")
    return message


def until_stored(url: str, timeout: float = 20) -> list[dict[str, Any]]:
    """The temperature series once the acknowledged reading is queryable (projection
    follows the commit within a second or two)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = get(f"{url}/datasets/raumklima-keller/observations?sensor=70b3d57ed0000bbb")
        assert status == 200, body
        found = [s for s in body["series"] if s["property"] == CF + "air_temperature/"]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_field_mapped_with_the_cli_beside_a_running_node_becomes_an_observation(
    tmp_path: Path,
) -> None:
    import subprocess

    village = tmp_path / "village"
    port = free_port()
    subprocess.run(
        [*ALLMENDE, "init", str(village), "--name", "Lütjenholm", "--port", str(port)],
        check=True,
        timeout=60,
        capture_output=True,
    )
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        folder = str(village)
        cli(
            "dataset", "add", folder, "--id", "raumklima-keller", "--title-de",
            "Raumklima Keller (Beispieldaten)", "--description-de", "Beispieldaten.",
            "--license", "dl-de/by-2-0", "--frequency", "15MIN", "--theme", "ENVI",
            "--contact-email", "daten@luetjenholm.example",
        )  # fmt: skip
        added = cli(
            "device", "add", folder, "--device", "70-B3-D5-7E-D0-00-0B-BB",
            "--dataset", "raumklima-keller", "--profile", "room-climate",
        )  # fmt: skip
        assert "registered 70b3d57ed0000bbb" in added
        secret = cli("source", "secret", folder, "ttn").strip().split(": ", 1)[1]
        now = datetime.now(UTC).replace(microsecond=0)
        assert post(url, uplink(now - timedelta(minutes=2), {"TempC_SHT": 1234}), secret) == 422

        shown = cli("device", "show", folder, "70-B3-D5-7E-D0-00-0B-BB")
        assert "TempC_SHT = 1234  (unmapped)" in shown
        mapped = cli(
            "device", "map", folder, "70b3d57ed0000bbb", "TempC_SHT",
            "--property", "air_temperature", "--unit", "DEG_C", "--scale", "0.01",
        )  # fmt: skip
        assert "mapped TempC_SHT of 70b3d57ed0000bbb" in mapped
        assert post(url, uplink(now - timedelta(minutes=1), {"TempC_SHT": 1234}), secret) == 202

        temperature = until_stored(url)
        assert temperature and temperature[0]["unit"] == "http://qudt.org/vocab/unit/DEG_C"
        assert [p["value"] for p in temperature[0]["points"]] == [12.34]
        detail = json.loads(cli("device", "show", folder, "70b3d57ed0000bbb", "--json"))
        assert detail["lastPayload"]["unmapped"] == []
        assert detail["mapping"]["TempC_SHT"]["scale"] == 0.01
