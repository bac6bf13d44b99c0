"""Control-plane tables of the Dataspace Protocol: contract negotiations and transfers.

One row per process, keyed by the node's own process id: its `providerPid` when the node
is the provider, its `consumerPid` when it is the consumer (then `provider_pid` is the
provider's). The state column is only ever changed through `node.dsp.states`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

PROVIDER, CONSUMER = "provider", "consumer"


class _Process(SQLModel):
    pid: str = Field(primary_key=True, max_length=300)
    role: str = Field(default=PROVIDER, max_length=8)
    consumer_pid: str = Field(max_length=300)
    provider_pid: str | None = Field(default=None, max_length=300)
    participant: str = Field(index=True, max_length=300)
    """The counterpart: as provider, the consumer its verified token names (the agreement's
    assignee); as consumer, the provider's participant id."""
    callback: str = Field(max_length=2000)
    """Where the counterpart takes messages: the consumer's callback address, or the
    provider's protocol address."""
    state: str = Field(max_length=16)
    received: str | None = None
    """What the counterpart sent that the node keeps: as consumer, the provider's offer,
    agreement or data address (until the provider answers, the offer the node asked for,
    which its agreement is checked against); as provider, the consumer's requested offer
    (`node.dsp.requested`)."""
    reason: str | None = None
    """Why the process ended, when it was terminated: this node's reason, or the code and
    reasons the counterpart's termination message stated (what EDC calls `errorDetail`)."""
    created: datetime
    updated: datetime

    @property
    def pids(self) -> dict[str, str]:
        """providerPid and consumerPid as the messages of this process carry them."""
        if self.role == PROVIDER:
            return {"providerPid": self.pid, "consumerPid": self.consumer_pid}
        return {"providerPid": self.provider_pid or "", "consumerPid": self.pid}

    @property
    def peer_pid(self) -> str:
        """The counterpart's process id, which its paths name."""
        return self.consumer_pid if self.role == PROVIDER else self.provider_pid or ""


class Negotiation(_Process, table=True):
    __tablename__ = "dsp_negotiation"

    dataset_id: str = Field(index=True, max_length=64)
    offer_id: str = Field(max_length=300)
    agreement_id: str | None = Field(default=None, max_length=300)


class Transfer(_Process, table=True):
    __tablename__ = "dsp_transfer"

    agreement_id: str = Field(index=True, max_length=300)
    dataset_id: str = Field(max_length=64)
    format: str = Field(max_length=100)


def recent(
    engine: Engine, model: type[Negotiation] | type[Transfer], limit: int = 200
) -> list[dict[str, Any]]:
    """The newest processes of a kind, both roles, as the admin API and the console show them."""
    with Session(engine) as session:
        query = select(model).order_by(col(model.updated).desc()).limit(limit)
        return [
            {
                **row.model_dump(exclude={"received"}, mode="json"),
                "received": json.loads(row.received) if row.received else None,
            }
            for row in session.exec(query).all()
        ]
