"""The README's commands, as an operator types them: init, serve, token, SIGTERM, restart."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ALLMENDE = [
    shutil.which("allmende") or sys.executable,
    *([] if shutil.which("allmende") else ["-m", "allmende.node"]),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_until_ready(
    url: str, process: subprocess.Popen[bytes], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the node exited during start-up"
        try:
            status, body = get(url + "/health")
            if status == 200:
                return body  # type: ignore[no-any-return]
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.05)
    raise AssertionError("the node did not become ready")


@contextmanager
def serving(directory: Path, port: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    log = open(directory / "serve.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [*ALLMENDE, "serve", str(directory), "--port", str(port)], stdout=log, stderr=log
    )
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_init_serve_token_and_graceful_stop(tmp_path: Path) -> None:
    village = tmp_path / "village"
    subprocess.run([*ALLMENDE, "init", str(village), "--name", "Struckum"], check=True, timeout=60)
    port = free_port()
    with serving(village, port) as (url, process):
        health = wait_until_ready(url, process)
        assert health["status"] == "ready"
        status, jwks = get(url + "/.well-known/jwks.json")
        assert status == 200 and jwks["keys"][0]["crv"] == "Ed25519"
        token = subprocess.run(
            [*ALLMENDE, "token", str(village), "--role", "admin"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        assert get(url + "/admin/events")[0] == 401
        status, page = get(url + "/admin/events", {"Authorization": f"Bearer {token}"})
        assert status == 200 and page["items"] == []
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    log = (village / "serve.log").read_text()
    assert token not in log
    assert "BEGIN PRIVATE KEY" not in log
    for line in log.splitlines():
        if line.startswith("{"):
            json.loads(line)
