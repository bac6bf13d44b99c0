"""The example app (examples/dorf-app) in Debian's chromium, end to end against a served node:
a developer registers it, the operator approves it, a resident signs in and allows it, the app
reads restricted data, the resident sees and withdraws it on "Meine Apps", and the app's next
call is refused."""

from __future__ import annotations

import functools
import json
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from allmende.node.auth import mint_token
from allmende.node.keys import load_key
from allmende.node.setup_files import init_directory
from allmende.policies.templates import template_document
from tests.browser.test_browser import ARTIFACTS, _browser_missing
from tests.browser.village import Village, browser_environment, free_port

HERE = Path(__file__).parent
EXAMPLE = HERE.parents[1] / "examples" / "dorf-app"
NODE_ID = "https://struckum.example/"
DATASET = "raumklima-vereinsheim"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Village, str]]:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    directory = tmp_path / "struckum"
    port = free_port()
    init_directory(directory, name="Struckum", node_id=NODE_ID, port=port)
    village = Village(directory, port)
    village.token = mint_token(load_key(directory / "node-key.pem"), NODE_ID)
    app_server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(EXAMPLE))
    )
    thread = threading.Thread(target=app_server.serve_forever, daemon=True)
    thread.start()
    village.start()
    try:
        yield village, f"http://127.0.0.1:{app_server.server_address[1]}/index.html"
    finally:
        village.stop()
        app_server.shutdown()
        app_server.server_close()
        thread.join(timeout=10)


def test_example_app_from_registration_to_withdrawal(served: tuple[Village, str]) -> None:
    village, app_url = served
    policy = template_document("research-only", assigner=NODE_ID)
    village.call(
        "POST",
        "/admin/datasets",
        {
            "id": DATASET,
            "title": {"de": "Raumklima Vereinsheim", "en": "Indoor climate of the club house"},
            "description": {"de": "Temperatur und Feuchte.", "en": "Temperature and humidity."},
            "themes": ["ENVI"],
            "license": "other-closed",
            "frequency": "15MIN",
            "contact": {"email": "daten@struckum.example"},
            "policy": policy,
        },
    )
    upload = urllib.request.Request(
        f"{village.url}/admin/datasets/{DATASET}/distributions?file_name=feuchte.csv",
        data=b"zeit,feuchte\n2026-12-07T08:15:00Z,58.25\n",
        method="POST",
        headers={"Authorization": f"Bearer {village.token}", "Content-Type": "text/csv"},
    )
    with urllib.request.urlopen(upload, timeout=30) as response:
        assert response.status == 201
    registration = village.call(
        "POST",
        "/oauth/register",
        {
            "redirect_uris": [app_url],
            "token_endpoint_auth_method": "none",
            "allmende_manifest": {
                "name": "Dorf-App",
                "description": "Zeigt das Raumklima im Vereinsheim.",
                "developer": {"id": "https://dorfapp.example/", "name": "Dorfapp GmbH"},
                "privacy_policy": "https://dorfapp.example/datenschutz",
                "version": "1.0.0",
                "datasets": [{"dataset": DATASET, "purpose": "research", "offer": policy["@id"]}],
            },
        },
        admin=False,
    )
    client_id = registration["client_id"]
    village.call("POST", f"/admin/apps/{client_id}/approve", {"version": "1.0.0"})
    resident = mint_token(
        load_key(village.directory / "node-key.pem"), NODE_ID, role="resident", subject="nachbar-3"
    )
    environment = {
        **browser_environment(village, ARTIFACTS),
        "ALLMENDE_APP_URL": app_url,
        "ALLMENDE_CLIENT_ID": client_id,
        "ALLMENDE_DATASET": DATASET,
        "ALLMENDE_RESIDENT_CODE": resident,
    }
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", str(HERE / "app.test.mjs")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    audit = village.call("GET", f"/admin/audit?dataset={DATASET}")["entries"]
    decisions = [entry["decision"] for entry in reversed(audit)]
    assert decisions == ["permit", "deny"], json.dumps(audit, indent=1)
