"""Per-source authentication for webhooks: a secret per source, or an admin token.

Network servers send a fixed header with every webhook call; TTN and ChirpStack both let
the operator set one. The secret is stored hashed and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from aiohttp import web
from sqlmodel import Session, select

from allmende.node.auth import AuthError, verify_token
from allmende.node.http.problems import Problem
from allmende.node.http.security import CHALLENGE, bearer
from allmende.node.ingest.models import SourceSecret
from allmende.node.runtime import Node

SOURCES = ("ttn", "chirpstack", "observations", "csv", "phone")
HEADER = "X-Allmende-Webhook-Secret"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(node: Node, source: str) -> str:
    """Create or replace a source's secret; the plain secret is returned once, never stored."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    secret = secrets.token_urlsafe(32)
    with Session(node.engine) as session:
        row = session.get(SourceSecret, source) or SourceSecret(
            source=source, sha256="", created=datetime.now(UTC)
        )
        row.sha256, row.created = _digest(secret), datetime.now(UTC)
        session.add(row)
        session.commit()
    return secret


def revoke_secret(node: Node, source: str) -> bool:
    """Remove a source's secret: its webhook calls are refused until a new one is made."""
    with Session(node.engine) as session:
        row = session.get(SourceSecret, source)
        if row is None:
            return False
        session.delete(row)
        session.commit()
    return True


def secret_status(node: Node) -> list[dict[str, str | None]]:
    """Each source and since when its secret holds (None: no secret), never the secret."""
    with Session(node.engine) as session:
        made = {row.source: row.created for row in session.exec(select(SourceSecret))}
    return [
        {"source": name, "created": made[name].isoformat() if name in made else None}
        for name in SOURCES
    ]


def stored_digests(node: Node) -> dict[str, str]:
    with Session(node.engine) as session:
        return {row.source: row.sha256 for row in session.exec(select(SourceSecret))}


def check(request: web.Request, source: str, digests: dict[str, str]) -> None:
    """Accept the source's secret (header or bearer) or an admin JWT; refuse anything else."""
    node: Node = request.app["node"]
    offered = request.headers.get(HEADER) or bearer(request)
    if not offered:
        raise Problem(
            401, "Unauthorized", f"send the {source} webhook secret in {HEADER}", headers=CHALLENGE
        )
    expected = digests.get(source)
    if expected and hmac.compare_digest(_digest(offered), expected):
        return
    if offered.count(".") == 2:
        try:
            if verify_token(offered, node.admin_keys(), node.id).role == "admin":
                return
        except AuthError:
            pass
    raise Problem(401, "Unauthorized", f"wrong secret for source {source!r}", headers=CHALLENGE)
