"""Keys, secrets and data are the owner's only: files 0600, folders 0700, whatever the umask
(a municipality's server is often shared with other accounts)."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from allmende.node.catalog.files import files_directory, store_stream
from allmende.node.ingest.sources import new_secret
from allmende.node.runtime import Node
from allmende.node.setup_files import init_directory


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask a system might run the node with."""
    previous = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(previous)


async def chunks() -> AsyncIterator[bytes]:
    yield b"restricted,data\n1,2\n"


@pytest.mark.usefixtures("open_umask")
async def test_init_and_first_start_leave_only_owner_only_files(tmp_path: Path) -> None:
    directory = tmp_path / "village"
    init_directory(directory, name="Lütjenholm")
    assert mode(directory) == 0o700
    assert mode(directory / "allmende.toml") == 0o600
    assert mode(directory / "node-key.pem") == 0o600
    assert mode(directory / "data") == 0o700

    node = Node.open(directory, environ={})
    try:
        new_secret(node, "ttn")  # a write: SQLite's -wal and -shm files exist now
        data = directory / "data"
        database = data / "control.sqlite"
        sidecars = [data / "control.sqlite-wal", data / "control.sqlite-shm"]
        assert all(p.exists() for p in sidecars)
        for path in (database, *sidecars):
            assert mode(path) == 0o600, path
        assert mode(node.settings.store_path) == 0o700
        stored = await store_stream(chunks(), files_directory(directory), 1 << 20)
        assert mode(stored.path) == 0o600
        assert mode(stored.path.parent) == 0o700
        assert mode(stored.path.parent / "incoming") == 0o700
    finally:
        node.close()


@pytest.mark.usefixtures("open_umask")
def test_an_older_node_is_tightened_on_its_next_start(tmp_path: Path) -> None:
    directory = tmp_path / "village"
    init_directory(directory, name="Lütjenholm")
    Node.open(directory, environ={}).close()
    data = directory / "data"
    os.chmod(data, 0o755)
    os.chmod(data / "control.sqlite", 0o644)
    os.chmod(data / "store", 0o755)
    Node.open(directory, environ={}).close()
    assert mode(data) == 0o700
    assert mode(data / "control.sqlite") == 0o600
    assert mode(data / "store") == 0o700
