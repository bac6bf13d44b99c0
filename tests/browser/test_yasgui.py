"""YASGUI (from npm) on a page of another origin, in Debian's chromium, against a served node."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest

from allmende.node.auth import mint_token
from allmende.node.keys import load_key
from allmende.node.setup_files import init_directory
from tests.browser.test_browser import ARTIFACTS, HERE, _browser_missing
from tests.browser.village import Village, browser_environment, free_port

PONDS = """@prefix ex: <http://example.org/> .
ex:teich ex:label "Dorfteich"@de ; ex:depth 3 .
ex:brunnen ex:label "Brunnen"@de ; ex:depth 12 .
ex:tuempel ex:label "Tümpel"@de ; ex:depth 1 ."""
LABELS = ["Brunnen", "Dorfteich", "Tümpel"]


def test_yasgui_on_another_origin_queries_the_node(tmp_path: Path) -> None:
    missing = _browser_missing() or (
        None
        if (HERE / "node_modules" / "@zazuko" / "yasgui").is_dir()
        else "run `npm ci --prefix tests/browser` first"
    )
    if missing:
        pytest.skip(missing)
    directory = tmp_path / "village"
    port = free_port()
    init_directory(directory, name="Struckum", port=port)
    village = Village(directory, port)
    village.token = mint_token(load_key(directory / "node-key.pem"), "https://struckum.example/")
    village.start()
    try:
        request = urllib.request.Request(
            f"{village.url}/rdf-graphs?graph=http%3A%2F%2Fexample.org%2Fponds",
            data=PONDS.encode(),
            method="PUT",
            headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {village.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
        village.expected = {"labels": LABELS}
        result = subprocess.run(
            ["node", "--test", "--test-reporter=spec", str(HERE / "yasgui.test.mjs")],
            env=browser_environment(village, ARTIFACTS),
            capture_output=True,
            text=True,
            timeout=300,
        )
        print(result.stdout[-6000:])
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    finally:
        village.stop()
