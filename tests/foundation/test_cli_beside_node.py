"""The documented `allmende` commands, run while `allmende serve` serves the folder and
again with it stopped: exit 0, no traceback, the same output, the change visible over HTTP.
Start-up failures (busy port, folder already served, store locked) are one line, exit != 0."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import signal
import subprocess
import traceback
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from allmende.node.auth import mint_token
from allmende.node.cli import main
from allmende.node.http.app import create_app
from tests.foundation.test_serve import ALLMENDE, free_port, get, serving, wait_until_ready
from tests.support import make_node

DATASET = [
    "--id",
    "raumklima-dgh",
    "--title-de",
    "Raumklima Dorfgemeinschaftshaus",
    "--description-de",
    "Temperatur und Luftfeuchte.",
    "--license",
    "dl-de/by-2-0",
    "--frequency",
    "15MIN",
    "--theme",
    "ENVI",
    "--contact-email",
    "daten@luetjenholm.example",
]
DEVICE = [
    "--device",
    "70B3D57ED00AB001",
    "--dataset",
    "raumklima-dgh",
    "--profile",
    "room-climate",
    "--lat",
    "54.6461",
    "--lon",
    "8.9656",
    "--label",
    "Dorfgemeinschaftshaus, Saal",
]
PEER = "https://nachbardorf.example/"


SITE_NOISE = re.compile(
    r"Error processing line \d+ of .*?\.pth:.*?Remainder of file ignored\n", re.S
)
"""What Python itself prints at start-up for a broken .pth file another package installed."""


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, ok: bool = True) -> Done:
    """Run a command as the operator would: `serve` as its own process, the others in this
    one (a process each would take seconds apiece on a loaded machine)."""
    if args[0] == "serve":
        process = subprocess.run(
            [*ALLMENDE, *args], capture_output=True, text=True, timeout=120, check=False
        )
        done = Done(process.returncode, process.stdout, SITE_NOISE.sub("", process.stderr))
    else:
        result = CliRunner().invoke(main, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), "".join(
            traceback.format_exception(result.exception)
        )
        done = Done(result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    if ok:
        assert done.returncode == 0, (args, done.stderr)
    else:
        assert done.returncode != 0, (args, done.stdout)
        assert len(_plain(done.stderr)) == 1, done.stderr
    return done


def _plain(stderr: str) -> list[str]:
    """Lines meant for people (the node's JSON log lines aside)."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]


def peer_jwk() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return json.dumps({"kty": "OKP", "crv": "Ed25519", "x": x})


def post_uplink(url: str, secret: str) -> int:
    request = urllib.request.Request(
        url + "/ingest/ttn",
        data=b"{}",
        method="POST",
        headers={"X-Allmende-Webhook-Secret": secret, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def documented_commands(village: Path) -> dict[str, Any]:
    """Each documented command once; the list outputs, to compare running with stopped."""
    folder = str(village)
    cli("token", folder, "--role", "admin")
    cli("dataset", "add", folder, *DATASET)
    cli("device", "add", folder, *DEVICE)
    cli("peer", "add", folder, PEER, "--jwk", peer_jwk(), "--name", "Nachbardorf")
    secret = cli("source", "secret", folder, "ttn").stdout.strip()
    assert secret.startswith("X-Allmende-Webhook-Secret: ")
    listed = {
        "datasets": json.loads(cli("dataset", "list", folder, "--json").stdout),
        "devices": json.loads(cli("device", "list", folder, "--json").stdout),
        "peers": json.loads(cli("peer", "list", folder, "--json").stdout),
        "sources": json.loads(cli("source", "list", folder, "--json").stdout),
        "shown": json.loads(cli("dataset", "show", folder, "raumklima-dgh").stdout),
        "secret": secret.split(": ", 1)[1],
    }
    assert "raumklima-dgh" in cli("dataset", "list", folder).stdout
    assert "70B3D57ED00AB001".lower() in cli("device", "list", folder).stdout.lower()
    assert PEER in cli("peer", "list", folder).stdout
    cli("peer", "remove", folder, PEER)
    cli("device", "remove", folder, "70B3D57ED00AB001")
    cli("dataset", "retract", folder, "raumklima-dgh")
    cli("source", "revoke", folder, "ttn")
    return listed


def comparable(listed: dict[str, Any]) -> dict[str, Any]:
    sources = [{**s, "created": bool(s["created"])} for s in listed["sources"]]
    datasets = [
        {k: v for k, v in d.items() if k not in ("modified", "iri", "version")}
        for d in listed["datasets"]
    ]
    return {
        "datasets": datasets,
        "devices": [{k: v for k, v in d.items() if k != "registered"} for d in listed["devices"]],
        "peers": listed["peers"],
        "sources": sources,
    }


def test_documented_commands_work_beside_a_running_node_and_without_it(tmp_path: Path) -> None:
    village = tmp_path / "village"
    cli("init", str(village), "--name", "Lütjenholm", "--ags", "01054")
    port = free_port()
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        run_file = village / "allmende.run"
        assert json.loads(run_file.read_text())["url"] == url
        assert run_file.stat().st_mode & 0o077 == 0
        token = cli("token", str(village)).stdout.strip()
        admin = {"Authorization": f"Bearer {token}"}

        listed = documented_commands(village)
        # every change went through the node: it shows them, and has taken back the undos
        assert listed["shown"]["dataset"]["id"] == "raumklima-dgh"
        assert listed["devices"][0]["dataset"] == "raumklima-dgh"
        assert [p["id"] for p in listed["peers"]] == [PEER]
        assert post_uplink(url, listed["secret"]) == 401  # revoked
        assert get(url + "/admin/devices", admin)[1]["items"] == []
        assert get(url + "/admin/federation/peers", admin)[1]["peers"] == []
        retracted = get(url + "/admin/datasets/raumklima-dgh", admin)[1]
        assert retracted["status"] == "retracted"
        # a rotated secret is accepted by the running node at once
        fresh = cli("source", "secret", str(village), "ttn").stdout.strip().split(": ", 1)[1]
        assert post_uplink(url, fresh) != 401
        cli("source", "revoke", str(village), "ttn")

        # the two commands that need the folder to themselves say so, in one line
        assert "stop" in cli("reindex", str(village), ok=False).stderr
        turtle = tmp_path / "one.ttl"
        turtle.write_text("<https://a.example/s> <https://a.example/p> 1 .\n")
        assert "stop" in cli("load", str(village), str(turtle), ok=False).stderr

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not run_file.exists()

    cli("dataset", "add", str(village), "--id", "zweiter", *DATASET[2:])  # a second id
    cli("dataset", "retract", str(village), "zweiter")
    stopped = documented_commands(village)
    running = comparable(listed)
    offline = comparable(stopped)
    assert offline["devices"] == running["devices"]
    assert offline["peers"] == running["peers"]
    assert offline["sources"] == running["sources"]
    assert [d for d in offline["datasets"] if d["id"] == "raumklima-dgh"] == running["datasets"]
    cli("reindex", str(village))


def test_base_url_follows_the_port_it_serves_on(tmp_path: Path) -> None:
    village = tmp_path / "village"
    cli("init", str(village), "--name", "Struckum")  # writes base_url for port 8700
    port = free_port()
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        added = cli("dataset", "add", str(village), *DATASET).stdout
        assert f"({url}/datasets/raumklima-dgh)" in added


def test_a_chosen_base_url_stays_and_the_node_warns(tmp_path: Path) -> None:
    village = tmp_path / "village"
    cli("init", str(village), "--name", "Struckum", "--base-url", "https://daten.struckum.example")
    port = free_port()
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        added = cli("dataset", "add", str(village), *DATASET).stdout
        assert "(https://daten.struckum.example/datasets/raumklima-dgh)" in added
    log = (village / "serve.log").read_text()
    assert "base_url differs from where the node listens" in log


def test_busy_port_and_a_folder_in_use_are_one_line_each(tmp_path: Path) -> None:
    village, other = tmp_path / "village", tmp_path / "other"
    cli("init", str(village))
    cli("init", str(other))
    port = free_port()
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        busy = cli("serve", str(other), "--port", str(port), ok=False)
        assert f"port {port}" in busy.stderr and "busy" in busy.stderr
        assert "ready" not in busy.stdout
        twice = cli("serve", str(village), "--port", str(free_port()), ok=False)
        assert "already served" in twice.stderr and "ready" not in twice.stdout
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

    # a process other than a node holds the store: serve and the commands say so in one line
    store = ox.Store(str(village / "data" / "store"))
    try:
        locked = cli("serve", str(village), "--port", str(free_port()), ok=False)
        assert "in use by another process" in locked.stderr
        listed = cli("device", "list", str(village), ok=False)
        assert "in use by another process" in listed.stderr
    finally:
        del store


async def test_admin_api_lists_rotates_and_revokes_webhook_secrets(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    node = make_node(tmp_path / "village")
    client = await aiohttp_client(create_app(node))
    admin = {"Authorization": f"Bearer {mint_token(node.key, node.id, subject='test')}"}
    listed = await (await client.get("/admin/ingest/sources", headers=admin)).json()
    assert {item["source"]: item["created"] for item in listed["items"]}["ttn"] is None
    made = await client.post("/admin/ingest/sources/ttn/secret", headers=admin)
    secret = (await made.json())["secret"]
    listed = await (await client.get("/admin/ingest/sources", headers=admin)).json()
    assert {item["source"]: item["created"] for item in listed["items"]}["ttn"] is not None
    assert secret not in json.dumps(listed)
    uplink = {"X-Allmende-Webhook-Secret": secret}
    assert (await client.post("/ingest/ttn", json={}, headers=uplink)).status != 401
    assert (await client.delete("/admin/ingest/sources/ttn/secret", headers=admin)).status == 204
    assert (await client.post("/ingest/ttn", json={}, headers=uplink)).status == 401
    again = await client.delete("/admin/ingest/sources/ttn/secret", headers=admin)
    assert again.status == 404 and "no secret" in (await again.json())["detail"]
    unknown = await client.delete("/admin/ingest/sources/lora/secret", headers=admin)
    assert unknown.status == 404
    assert (await client.delete("/admin/ingest/sources/ttn/secret")).status == 401


DOCUMENTS = ("README.md", "docs/tutorials/operator.md")
CODE_BLOCK = re.compile(r"```(?:sh|bash|shell)\n(.*?)```", re.S)
INLINE = re.compile(r"`(allmende [^`]*\./village[^`]*)`")
PLACEHOLDER = re.compile(r"\b(FILE|IRI|DIR|NAME|ID|PEER_ID)\b|\[|…|<")
NEEDS_STOPPED = ("reindex", "load")


def documented_commands_in_order() -> list[list[str]]:
    """Every `allmende …` command line the README and the operator's tutorial show, in the
    order a reader meets them (code blocks and inline code), without placeholders."""
    root = Path(__file__).resolve().parents[2]
    found: list[list[str]] = []
    for name in DOCUMENTS:
        text = (root / name).read_text(encoding="utf-8")
        spots: list[tuple[int, str]] = []
        for block in CODE_BLOCK.finditer(text):
            joined = block.group(1).replace("\\\n", " ")
            for line in joined.splitlines():
                for part in line.split("&&"):
                    spots.append((block.start(), part.split("#")[0].strip()))
        spots += [(m.start(), m.group(1)) for m in INLINE.finditer(text)]
        for _, line in sorted(spots, key=lambda spot: spot[0]):
            if line.startswith("allmende ") and not PLACEHOLDER.search(line):
                words = shlex.split(line)[1:]
                if words and words not in found:
                    found.append(words)
    return found


def test_every_documented_command_runs_while_the_node_serves(tmp_path: Path) -> None:
    commands = documented_commands_in_order()
    names = {words[0] for words in commands}
    assert {"init", "serve", "dataset", "device", "source", "token"} <= names, names
    village = tmp_path / "village"

    def here(words: list[str]) -> list[str]:
        return [str(village) if w == "./village" else w for w in words]

    [init] = [w for w in commands if w[0] == "init"][:1]
    cli(*here(init))
    port = free_port()
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        ran = []
        for words in commands:
            if words[0] in ("init", "serve", "demo"):
                continue
            done = cli(*here(words), ok=words[0] not in NEEDS_STOPPED)
            ran.append(" ".join(words[:3]))
            if words[0] in NEEDS_STOPPED:
                assert "stop" in done.stderr
        assert ran, "the documents show commands to run beside the node"
        token = cli("token", str(village)).stdout.strip()
        admin = {"Authorization": f"Bearer {token}"}
        datasets = get(url + "/admin/datasets", admin)[1]["items"]
        assert [d["id"] for d in datasets] == ["raumklima-dgh"]
        [device] = get(url + "/admin/devices", admin)[1]["items"]
        assert device["dataset"] == "raumklima-dgh"


def test_a_killed_node_leaves_a_stale_run_file_that_is_ignored(tmp_path: Path) -> None:
    village = tmp_path / "village"
    cli("init", str(village))
    with serving(village, free_port()) as (url, process):
        wait_until_ready(url, process)
        process.kill()  # no clean stop: the run file stays behind
        process.wait()
    assert (village / "allmende.run").exists()
    assert json.loads(cli("device", "list", str(village), "--json").stdout) == []
    port = free_port()
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        assert json.loads((village / "allmende.run").read_text())["url"] == url


def test_bad_config_and_unexpected_errors_are_one_line(tmp_path: Path) -> None:
    village = tmp_path / "village"
    cli("init", str(village))
    config = village / "allmende.toml"
    good = config.read_text()
    config.write_text(re.sub(r"(?m)^port = \d+$", "port = 0", good, count=1))
    bad = cli("serve", str(village), ok=False)
    assert "http.port" in bad.stderr and "ready" not in bad.stdout
    config.write_text(good)

    (village / "data").mkdir(exist_ok=True)
    (village / "data" / "control.sqlite").mkdir()  # not a database: nothing expects that
    unexpected = cli("device", "list", str(village), ok=False)
    assert "run with --debug for details" in unexpected.stderr
    debug = CliRunner().invoke(main, ["--debug", "device", "list", str(village)])
    assert debug.exception is not None and not isinstance(debug.exception, SystemExit)


def test_an_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    village = tmp_path / "village"
    cli("init", str(village))
    serve = [*ALLMENDE, "serve", str(village), "--port", str(free_port())]
    if os.geteuid() == 0:
        # root writes past permission bits; a read-only mount (in a mount namespace of the
        # command's own, so nothing outside sees it) stops root too
        remount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
        serve = ["unshare", "--mount", "sh", "-c", remount, str(village), *serve]
    else:
        village.chmod(0o500)
    try:
        process = subprocess.run(serve, capture_output=True, text=True, timeout=120, check=False)
    finally:
        village.chmod(0o700)
    stderr = SITE_NOISE.sub("", process.stderr).strip()
    assert process.returncode != 0 and "ready" not in process.stdout, process.stdout
    assert f"cannot write to {village}" in stderr and "\n" not in stderr, stderr
