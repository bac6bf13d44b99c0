"""`allmende lights ...` on a stopped node's folder: register, lock, install the policy, list."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from allmende.node.cli import main
from allmende.node.setup_files import init_directory
from tests.actuation.conftest import POLICY


def test_lights_commands(tmp_path: Path) -> None:
    folder = tmp_path / "village"
    init_directory(folder, name="Lütjenholm", node_id="https://luetjenholm.example/", port=8799)
    controller = tmp_path / "controller.json"
    controller.write_text(
        json.dumps(
            {
                "id": "ws558-dorfstrasse",
                "dev_eui": "24E124468D011111",
                "network": "chirpstack",
                "server": "http://127.0.0.1:8090",
                "credential": "geheim-token",
                "class": "C",
                "codec": "milesight-ws558",
            }
        )
    )
    segment = tmp_path / "segment.json"
    segment.write_text(
        json.dumps(
            {
                "id": "dorfstrasse",
                "name": "Dorfstraße (Beispiel)",
                "controller": "ws558-dorfstrasse",
                "geometry": {"type": "Point", "coordinates": [8.965, 54.6455]},
                "lamps": 12,
                "watts": 40,
                "dark_from": "00:30",
                "dark_until": "05:30",
            }
        )
    )
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "registered controller ws558-dorfstrasse" in run(
        "lights", "controller", str(folder), str(controller)
    )
    assert "registered segment dorfstrasse" in run("lights", "segment", str(folder), str(segment))
    again = runner.invoke(main, ["lights", "segment", str(folder), str(segment)])
    assert again.exit_code == 1 and "exists already" in again.output
    assert "installed and signed https://luetjenholm.example/policies/licht-nach-bedarf" in run(
        "lights", "policy", str(folder), str(policy)
    )
    assert "dorfstrasse: locked" in run(
        "lights", "lock", str(folder), "dorfstrasse", "--reason", "Mast"
    )
    listed = json.loads(run("lights", "list", str(folder), "--json"))
    assert listed[0]["locked"] is True and listed[0]["lock_reason"] == "Mast"
    assert "geheim-token" not in run("lights", "list", str(folder))
    assert "dorfstrasse: unlocked" in run("lights", "lock", str(folder), "dorfstrasse", "--unlock")
    assert run("lights", "log", str(folder)) == ""
