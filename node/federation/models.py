"""Control-plane tables of the federation: the trust list, transport positions, the pool.

A feed cursor or a relay position is written in the same transaction as the events it
moved past, so a crash can repeat work (the inbox drops what it has) but never skip it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class TrustedPeer(SQLModel, table=True):
    """A peer village pinned by its node id and its public key (a JWK) or JWKS URL."""

    __tablename__ = "federation_peer"

    id: str = Field(primary_key=True, max_length=300)
    jwk: str | None = None  # a public Ed25519 JWK as JSON
    jwks_url: str = Field(default="", max_length=500)
    base_url: str = Field(default="", max_length=300)
    name: str = Field(default="", max_length=200)
    added: datetime


class Position(SQLModel, table=True):
    """How far a transport got: `feed:<peer id>` (last seq read) or `relay` (last seq sent)."""

    __tablename__ = "federation_position"

    name: str = Field(primary_key=True, max_length=320)
    seq: int = 0


class PooledDataset(SQLModel, table=True):
    """A peer's dataset as its newest catalog event described it; the federated catalog."""

    __tablename__ = "federation_dataset"

    origin: str = Field(primary_key=True, max_length=300)
    id: str = Field(primary_key=True, max_length=64)
    base: str = Field(max_length=300)
    status: str = Field(max_length=16)
    title: str = Field(max_length=500)
    document: str  # the event's data: the description with distributions
    event_id: str = Field(max_length=64)
    modified: datetime = Field(index=True)
