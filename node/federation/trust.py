"""The trust list: which peers' events this node accepts, and with which keys.

Peers come from `[[trust.peers]]` in allmende.toml and from `allmende peer add` (SQL);
both are pinned by node id. A peer pinned by JWKS URL has its keys fetched over HTTP and
refetched when an event names a key id the node has not seen (at most once a minute), so
a peer's key rotation needs nobody's help.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlmodel import Session, select

from allmende.node.config import Peer
from allmende.node.federation.models import TrustedPeer
from allmende.node.keys import fetch_jwks
from allmende.node.runtime import Node
from allmende.policies import jws

REFETCH_AFTER = 60.0
log = logging.getLogger(__name__)


@dataclass
class PeerEntry:
    id: str
    base_url: str
    name: str = ""
    jwk: dict[str, Any] | None = None
    jwks_url: str = ""
    configured: bool = False
    """Pinned in allmende.toml (the CLI and API cannot remove it)."""
    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    fetched: float = 0.0

    @property
    def address(self) -> str:
        """Where the peer answers: its base URL, else its id."""
        return (self.base_url or self.id).rstrip("/")

    def owns(self, iri: str) -> bool:
        """Whether an IRI lies in the peer's own namespace (its base URL or its id)."""
        return any(
            iri == prefix or iri.startswith(prefix + "/")
            for prefix in {self.address, self.id.rstrip("/")}
        )

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "base_url": self.base_url,
            "jwks_url": self.jwks_url,
            "pinned_key": jws.thumbprint(jws.key_from_jwk(self.jwk)) if self.jwk else None,
            "configured": self.configured,
        }


def _entry_keys(jwk: Mapping[str, Any] | None) -> dict[str, Ed25519PublicKey]:
    return jws.keys_from_jwks({"keys": [jwk]}) if jwk else {}


class TrustList:
    """Read per use from SQL (a handful of rows), keys cached per peer."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._cache: dict[str, PeerEntry] = {}

    def peers(self) -> list[PeerEntry]:
        entries: dict[str, PeerEntry] = {}
        for peer in self.node.settings.trust.peers:
            entries[peer.id] = PeerEntry(
                peer.id, peer.base_url, jwk=peer.jwk, jwks_url=peer.jwks_url, configured=True
            )
        with Session(self.node.engine) as session:
            for row in session.exec(select(TrustedPeer)).all():
                entries.setdefault(
                    row.id,
                    PeerEntry(
                        row.id,
                        row.base_url,
                        name=row.name,
                        jwk=json.loads(row.jwk) if row.jwk else None,
                        jwks_url=row.jwks_url,
                    ),
                )
        for entry in entries.values():
            cached = self._cache.get(entry.id)
            if cached is not None and (cached.jwk, cached.jwks_url) == (entry.jwk, entry.jwks_url):
                entry.keys, entry.fetched = cached.keys, cached.fetched
            else:
                entry.keys = _entry_keys(entry.jwk)
            self._cache[entry.id] = entry
        for gone in set(self._cache) - set(entries):
            del self._cache[gone]
        return list(entries.values())

    def get(self, peer_id: str) -> PeerEntry | None:
        return next((p for p in self.peers() if p.id == peer_id), None)

    async def refresh_keys(self, entry: PeerEntry, session: aiohttp.ClientSession) -> None:
        """Fetch a JWKS-URL peer's keys, unless fetched within the last minute."""
        if not entry.jwks_url or time.monotonic() - entry.fetched < REFETCH_AFTER:
            return
        entry.fetched = time.monotonic()
        try:
            fetched = await fetch_jwks(session, entry.jwks_url)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("could not fetch the keys of peer %s: %s", entry.id, exc)
            return
        entry.keys = {**_entry_keys(entry.jwk), **fetched}
        self._cache[entry.id] = entry


class TrustError(ValueError):
    """A peer entry that cannot be trusted as given; the message names the field."""


def checked_peer(body: Any, own_id: str) -> TrustedPeer:
    """Validate a peer entry (admin API body or CLI options) into a row."""
    if not isinstance(body, dict):
        raise TrustError("(body): a peer is a JSON object")
    name = body.get("name") or ""
    if not isinstance(name, str) or len(name) > 200:
        raise TrustError("name: a text of at most 200 characters")
    try:
        peer = Peer.model_validate({k: v for k, v in body.items() if k != "name"})
    except ValidationError as exc:
        error = exc.errors()[0]
        raise TrustError(
            f"{'.'.join(map(str, error['loc'])) or '(body)'}: {error['msg']}"
        ) from None
    if peer.id == own_id:
        raise TrustError("id: that is this node's own id")
    if peer.jwk is None and not peer.jwks_url:
        raise TrustError("jwk: give the peer's public key (jwk) or its jwks_url")
    if peer.jwk is not None:
        try:
            jws.key_from_jwk(peer.jwk)
        except jws.SignatureError as exc:
            raise TrustError(f"jwk: {exc}") from None
    for field_name in ("jwks_url", "base_url"):
        value = getattr(peer, field_name)
        if value and not value.startswith(("https://", "http://")):
            raise TrustError(f"{field_name}: must be an http(s) URL")
    return TrustedPeer(
        id=peer.id,
        jwk=json.dumps(peer.jwk) if peer.jwk else None,
        jwks_url=peer.jwks_url,
        base_url=peer.base_url.rstrip("/"),
        name=name,
        added=datetime.now(UTC),
    )


def add_peer(engine: Any, row: TrustedPeer) -> bool:
    """Pin a peer (replacing an earlier entry of the same id); True if it is new."""
    with Session(engine) as session:
        existing = session.get(TrustedPeer, row.id)
        session.merge(row)
        session.commit()
    return existing is None


def remove_peer(engine: Any, peer_id: str) -> bool:
    with Session(engine) as session:
        existing = session.get(TrustedPeer, peer_id)
        if existing is None:
            return False
        session.delete(existing)
        session.commit()
    return True
