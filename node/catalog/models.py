"""Control-plane tables of the catalog: what the municipality has published, and its files.

The event log holds every version; these rows are the current state that the admin API,
the search index and the download route read, written in the same transaction as the event.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, Session, SQLModel, col, select

PUBLISHED = "published"
RETRACTED = "retracted"


class CatalogDataset(SQLModel, table=True):
    """One dataset; `document` is its description without distributions (canonical JSON)."""

    __tablename__ = "catalog_dataset"
    # pages of the published catalog in id order come straight out of this index
    __table_args__ = (Index("ix_catalog_dataset_status_id", "status", "id"),)

    id: str = Field(primary_key=True, max_length=64)
    status: str = Field(max_length=16)
    title: str = Field(max_length=500)
    license: str = Field(max_length=300)
    access_rights: str = Field(max_length=300)
    document: str
    version: int = 1
    issued: datetime
    modified: datetime = Field(index=True)

    def description(self) -> dict[str, Any]:
        return dict(json.loads(self.document))


class CatalogDistribution(SQLModel, table=True):
    """One distribution of a dataset; file distributions name their stored file by SHA-256."""

    __tablename__ = "catalog_distribution"

    dataset_id: str = Field(primary_key=True, max_length=64, foreign_key="catalog_dataset.id")
    id: str = Field(primary_key=True, max_length=64)
    position: int = 0
    kind: str = Field(max_length=16)
    media_type: str | None = Field(default=None, max_length=200)
    file_sha256: str | None = Field(default=None, max_length=64, index=True)
    byte_size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    document: str

    def description(self) -> dict[str, Any]:
        return dict(json.loads(self.document))


def load_dataset(session: Session, dataset_id: str) -> CatalogDataset | None:
    return session.get(CatalogDataset, dataset_id)


def load_distributions(session: Session, dataset_id: str) -> list[CatalogDistribution]:
    query = (
        select(CatalogDistribution)
        .where(CatalogDistribution.dataset_id == dataset_id)
        .order_by(col(CatalogDistribution.position))
    )
    return list(session.exec(query).all())


def full_description(session: Session, row: CatalogDataset) -> dict[str, Any]:
    """The dataset's description with its distributions: what an event carries."""
    description = row.description()
    description["distributions"] = [d.description() for d in load_distributions(session, row.id)]
    return description


def is_published(session: Session, dataset_id: str) -> bool:
    """Whether a dataset id names a published dataset (for rooms that attach data to one)."""
    row = session.get(CatalogDataset, dataset_id)
    return row is not None and row.status == PUBLISHED
