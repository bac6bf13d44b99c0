"""A client that sends its request head slowly (slowloris) is cut off after the configured
header timeout, while ordinary requests go on being answered: `allmende serve`, raw socket."""

from __future__ import annotations

import itertools
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.foundation.test_serve import ALLMENDE, free_port, get, serving, wait_until_ready

TIMEOUT = 1.5
MARGIN = 1.5
TRICKLE = 0.2


def trickle_until_closed(port: int, limit: float) -> float | None:
    """Send a never-ending request head one byte per 200 ms; seconds until the server
    closed the connection, or None if it still held it after `limit` seconds."""
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    endless = itertools.chain(head, itertools.cycle(b"X-Slow: 1\r\n"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.settimeout(TRICKLE)
        started = time.monotonic()
        for byte in endless:
            if time.monotonic() - started > limit:
                return None
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(4096) == b"":  # waits TRICKLE seconds for the close
                    return time.monotonic() - started
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - started
    raise AssertionError("unreachable")


def test_slow_request_head_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    village = tmp_path / "village"
    subprocess.run([*ALLMENDE, "init", str(village), "--name", "Struckum"], check=True, timeout=60)
    monkeypatch.setenv("ALLMENDE_CONNECTIONS_HEADER_TIMEOUT", str(TIMEOUT))
    port = free_port()
    with serving(village, port) as (url, process):
        wait_until_ready(url, process)
        closed_after = trickle_until_closed(port, TIMEOUT + MARGIN)
        assert closed_after is not None, f"still open after {TIMEOUT + MARGIN} s"
        assert TIMEOUT - 0.1 <= closed_after <= TIMEOUT + MARGIN
        assert get(url + "/health")[0] == 200  # an ordinary request is still served
