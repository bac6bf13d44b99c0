"""Shared helpers for tests: a real node in a temporary folder, and its admin credentials."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from allmende.node.auth import mint_token
from allmende.node.runtime import Node
from allmende.node.setup_files import init_directory

REMOTE_STORE: list[Callable[[Path], str]] = []
"""Set by the `store_backend` fixture (tests/conftest.py): the remote store's URL for a
node folder, which `make_node` then opens the node on."""


def make_node(
    directory: Path,
    *,
    name: str = "Lütjenholm",
    node_id: str | None = None,
    database_url: str | None = None,
    port: int = 8700,
    environ: dict[str, str] | None = None,
) -> Node:
    """Initialise (once) and open a node; `database_url` switches it to PostgreSQL."""
    if not (directory / "allmende.toml").exists():
        init_directory(directory, name=name, node_id=node_id, port=port)
    env = dict(environ or {})
    if database_url:
        env["ALLMENDE_DATABASE_URL"] = database_url
    if REMOTE_STORE and "ALLMENDE_STORE_URL" not in env:
        env["ALLMENDE_STORE_URL"] = REMOTE_STORE[-1](directory)
    return Node.open(directory, environ=env)


def admin_headers(node: Node, *, ttl: int = 3600) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(node.key, node.id, ttl=ttl)}"}
