"""Fixtures: a throwaway CA, the partner's data space on HTTPS, a node that trusts both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.identity.parties import Dataspace
from tests.services.ports import free_port


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def dataspace(ca: trustme.CA) -> AsyncIterator[Dataspace]:
    space = Dataspace(free_port(), ca)
    await space.start()
    yield space
    await space.stop()
