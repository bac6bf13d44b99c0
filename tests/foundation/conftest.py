"""Control-plane tests run twice: on the SQLite default and on a real PostgreSQL server."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database(f"t_{uuid.uuid4().hex[:12]}"))
