"""Data a provider's data plane pushed to the node for a transfer it started as consumer.

Kept as files in the node folder (`dsp-received/`), one per transfer process: the data as
it came and a small JSON file beside it (content type, size, SHA-256, when), so the
operator can fetch it through the admin API. A second push replaces the first (a data
plane that retries sends the whole data again).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FOLDER = "dsp-received"
MAX_BYTES = 64 * 1024 * 1024
"""The most the node takes in one push; larger data stays with the provider."""


@dataclass(frozen=True)
class Received:
    data: Path
    about: dict[str, Any]


def _paths(directory: Path, pid: str) -> tuple[Path, Path]:
    name = hashlib.sha256(pid.encode()).hexdigest()[:32]
    folder = directory / FOLDER
    return folder / f"{name}.data", folder / f"{name}.json"


def _write(path: Path, payload: bytes) -> None:
    """Write beside and rename, so a reader sees the old file or the new, never half."""
    partial = path.with_suffix(path.suffix + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)
    partial.replace(path)


def keep(directory: Path, pid: str, payload: bytes, content_type: str) -> dict[str, Any]:
    """Store the pushed data of process `pid`; what the admin API shows about it."""
    data, meta = _paths(directory, pid)
    data.parent.mkdir(mode=0o700, exist_ok=True)
    about = {
        "transfer": pid,
        "contentType": content_type,
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "received": datetime.now(UTC).isoformat(),
    }
    _write(data, payload)
    _write(meta, json.dumps(about).encode())
    return about


def find(directory: Path, pid: str) -> Received | None:
    data, meta = _paths(directory, pid)
    try:
        about = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None
    return Received(data, about) if data.is_file() else None
