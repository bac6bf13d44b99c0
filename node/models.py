"""Control-plane tables of the foundation: the event log and its batch signatures.

Other rooms (catalog, ingest, federation, policies) add their own tables in their own
modules; every table reaches the database only through an Alembic migration.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class EventBatch(SQLModel, table=True):
    """One signature over the ordered digests of several events, so sensor rates stay cheap."""

    __tablename__ = "event_batch"

    id: str = Field(primary_key=True, max_length=64)
    source: str = Field(max_length=300)
    digests: str  # JSON list of base64url SHA-256 digests, in event order
    signature: str = Field(max_length=400)


class EventRecord(SQLModel, table=True):
    """A signed CloudEvent, local or from a peer; `seq` is this node's append order."""

    __tablename__ = "event_log"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(max_length=200, unique=True)
    source: str = Field(max_length=300, index=True)
    type: str = Field(max_length=200, index=True)
    subject: str | None = Field(default=None, max_length=300, index=True)
    time: datetime
    envelope: str  # the CloudEvent as JSON, `data` included
    signature: str | None = Field(default=None, max_length=400)
    batch_id: str | None = Field(default=None, foreign_key="event_batch.id", index=True)
    batch_index: int | None = None
    local: bool = Field(default=True, index=True)
    recorded_at: datetime
