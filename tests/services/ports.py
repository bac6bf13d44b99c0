"""Helpers shared by the service launchers: free loopback ports, waiting for conditions, errors."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path


class ServiceUnavailable(RuntimeError):
    """A prerequisite (a binary, a jar, a system user) is missing on this machine.

    Tests that need the service are skipped on a developer's machine and fail in CI.
    """


class ServiceStartError(RuntimeError):
    """Everything needed was there, but the service did not come up: a real failure."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> None:
    """Poll `condition` until it holds; raise TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(*paths: Path, chars: int = 2000) -> str:
    """The last characters of each existing file, for error messages."""
    parts = []
    for path in paths:
        if path.exists():
            parts.append(f"--- {path.name}:\n{path.read_text(errors='replace')[-chars:]}")
    return "\n".join(parts) or "(no log written)"
