"""The run file: a serving node says where it listens, so commands on its folder find it.

`allmende serve` writes `allmende.run` (JSON: url, pid) into the node folder once its site
listens, readable by the folder's owner only, and removes it when it stops. A run file whose
process is gone (a node that was killed) is stale and ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from allmende.node.file_modes import open_private

RUN_FILE = "allmende.run"


@dataclass(frozen=True)
class Serving:
    url: str
    pid: int


def run_path(directory: Path) -> Path:
    return directory / RUN_FILE


def write(directory: Path, url: str) -> Path:
    """Record this process as the folder's node (replacing a stale record)."""
    path = run_path(directory)
    temporary = path.with_name(f".{RUN_FILE}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    fd = open_private(temporary)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"url": url, "pid": os.getpid()}, handle)
    os.replace(temporary, path)
    return path


def remove(directory: Path) -> None:
    """Remove the run file if it is this process's (a second node must not remove the first's)."""
    found = read(directory)
    if found is not None and found.pid == os.getpid():
        run_path(directory).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another account
    return True


def read(directory: Path) -> Serving | None:
    """The node recorded as serving the folder, if its process still exists."""
    try:
        data = json.loads(run_path(directory).read_text(encoding="utf-8"))
        serving = Serving(url=str(data["url"]), pid=int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return serving if _alive(serving.pid) else None
