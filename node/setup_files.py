"""`allmende init`: a node directory with a commented configuration and a fresh key."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import tomli_w

from allmende.node.config import CONFIG_FILE, KEY_FILE, load_settings
from allmende.node.file_modes import open_private, private_directory
from allmende.node.keys import generate_key


def slug(name: str) -> str:
    ascii_name = (
        unicodedata.normalize("NFKD", name.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae"))
        .encode("ascii", "ignore")
        .decode()
    )
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "village"


def _table(name: str, values: dict[str, object]) -> str:
    return f"[{name}]\n" + tomli_w.dumps(values)


def init_directory(
    directory: Path,
    *,
    name: str | None = None,
    node_id: str | None = None,
    ags: str = "01054",
    host: str = "127.0.0.1",
    port: int = 8700,
    base_url: str | None = None,
) -> Path:
    """Write DIR/allmende.toml and DIR/node-key.pem, owner-only; refuse to overwrite either.

    A folder created here is the owner's only; an existing one keeps its mode (it may be
    shared), while the files in it and the data folder are owner-only regardless."""
    if directory.exists():
        directory.mkdir(parents=True, exist_ok=True)
    else:
        private_directory(directory)
    config = directory / CONFIG_FILE
    if config.exists() or (directory / KEY_FILE).exists():
        raise FileExistsError(f"{directory} already holds a node; nothing was changed")
    name = name or directory.resolve().name
    node_id = node_id or f"https://{slug(name)}.example/"
    text = "\n".join(
        [
            "# Allmende node configuration. Every key can be overridden by an environment",
            "# variable ALLMENDE_<SECTION>_<KEY>, e.g. ALLMENDE_HTTP_PORT=8080.",
            "",
            "# Who this node is. `id` is the node's permanent https identifier (peers pin it);",
            "# `ags` is the municipality's Amtlicher Gemeindeschlüssel (the default is a sample).",
            _table(
                "node",
                {
                    "id": node_id,
                    "name": name,
                    "ags": ags,
                    "base_url": base_url or f"http://{host}:{port}",
                },
            ),
            "# Where the node listens.",
            _table("http", {"host": host, "port": port, "max_body_bytes": 16 * 1024 * 1024}),
            "# Control plane: SQLite (path relative to this folder) or postgresql+psycopg://...",
            _table("database", {"url": "sqlite:///data/control.sqlite"}),
            "# Data plane: embedded Oxigraph store (path relative to this folder).",
            _table("store", {"path": "data/store"}),
            "# Federation over Kafka: empty bootstrap_servers = the embedded HTTP event feed.",
            _table("kafka", {"bootstrap_servers": ""}),
            "# Trusted peers: [[trust.peers]] with id and jwk (or jwks_url).",
            _table("trust", {"peers": [], "admin_jwks": []}),
        ]
    )
    with os.fdopen(open_private(config), "w", encoding="utf-8") as handle:
        handle.write(text)  # it may come to hold a Kafka password
    private_directory(directory / "data")
    generate_key(directory / KEY_FILE)
    load_settings(directory, environ={})
    return config
