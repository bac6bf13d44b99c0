"""Owner-only files and folders for keys, secrets and data, whatever the process umask is.

A municipality's server is often shared with other accounts; the node key, the webhook
secrets in the control plane and restricted data must not be readable by them.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def private_directory(path: Path) -> Path:
    """Create `path` (and missing parents) readable by the owner only; tighten it if it
    already exists, so a node set up by an older version is fixed on its next start."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, DIRECTORY_MODE)
    os.chmod(path, DIRECTORY_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create an empty `path` readable by the owner only, or tighten an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_EXCL) -> int:
    """A file descriptor to a new file created with owner-only permissions."""
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # os.open's mode is filtered by the umask; this is not
    return fd
