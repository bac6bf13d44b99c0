"""Behind a reverse proxy the node trusts, a request's address is the client's, read from
X-Forwarded-For; from anyone else that header is ignored (a client can write it)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from allmende.node.config import ConfigError
from allmende.node.http.app import create_app
from tests.support import make_node


async def _remotes(
    tmp_path: Path, aiohttp_client: Any, caplog: Any, trusted: str | None, *forwarded: str
) -> list[str]:
    """The client address the node saw (its access log, which handlers share) per request."""
    environ = {"ALLMENDE_HTTP_TRUSTED_PROXIES": trusted} if trusted is not None else {}
    client = await aiohttp_client(create_app(make_node(tmp_path, environ=environ)))
    caplog.set_level(logging.INFO, logger="allmende.access")
    for header in forwarded:
        caplog.clear()
        response = await client.get("/health", headers={"X-Forwarded-For": header})
        assert response.status == 200
    return [r.remote for r in caplog.records if r.name == "allmende.access"]


async def test_from_a_trusted_proxy_the_client_is_the_forwarded_address(
    tmp_path: Path, aiohttp_client: Any, caplog: Any
) -> None:
    seen = []
    for header in ("203.0.113.7", "198.51.100.9, 203.0.113.7", "203.0.113.7, 127.0.0.1"):
        seen += await _remotes(
            tmp_path / str(len(seen)), aiohttp_client, caplog, "127.0.0.1", header
        )
    # a client cannot pass itself off as another by writing the header's left part
    assert seen == ["203.0.113.7", "203.0.113.7", "203.0.113.7"]


@pytest.mark.parametrize("trusted", [None, "10.0.0.0/8"])
async def test_from_anyone_else_the_header_is_ignored(
    tmp_path: Path, aiohttp_client: Any, caplog: Any, trusted: str | None
) -> None:
    seen = await _remotes(tmp_path, aiohttp_client, caplog, trusted, "203.0.113.7")
    assert seen == ["127.0.0.1"]


def test_a_proxy_that_is_no_address_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"proxy\.example"):
        make_node(tmp_path, environ={"ALLMENDE_HTTP_TRUSTED_PROXIES": "127.0.0.1,proxy.example"})
