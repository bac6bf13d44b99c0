"""Control-plane tables of the Dataspace Protocol: contract negotiations and transfers.

One row per process, keyed by the node's own process id (`providerPid` when the node is
the provider); the state column is only ever changed through `node.dsp.states`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Negotiation(SQLModel, table=True):
    __tablename__ = "dsp_negotiation"

    pid: str = Field(primary_key=True, max_length=300)
    consumer_pid: str = Field(max_length=300)
    participant: str = Field(index=True, max_length=300)
    """The consumer as its verified token names it; the agreement's assignee."""
    callback: str = Field(max_length=2000)
    dataset_id: str = Field(index=True, max_length=64)
    offer_id: str = Field(max_length=300)
    state: str = Field(max_length=16)
    agreement_id: str | None = Field(default=None, max_length=300)
    created: datetime
    updated: datetime


class Transfer(SQLModel, table=True):
    __tablename__ = "dsp_transfer"

    pid: str = Field(primary_key=True, max_length=300)
    consumer_pid: str = Field(max_length=300)
    participant: str = Field(index=True, max_length=300)
    callback: str = Field(max_length=2000)
    agreement_id: str = Field(index=True, max_length=300)
    dataset_id: str = Field(max_length=64)
    format: str = Field(max_length=100)
    state: str = Field(max_length=16)
    created: datetime
    updated: datetime
