"""Control-plane tables of usage control: agreements and the audit log.

The audit log is append-only: the node inserts, never updates or deletes, and offers no
route that could.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from allmende.vocab.messages import restored


class Agreement(SQLModel, table=True):
    """A dataset's offer bound to one assignee, signed by the node as provider."""

    __tablename__ = "usage_agreement"

    id: str = Field(primary_key=True, max_length=300)
    dataset_id: str = Field(index=True, max_length=64)
    assignee: str = Field(max_length=300)
    purpose: str | None = Field(default=None, max_length=300)
    attributes: str = "{}"
    """The assignee's attributes as the operator verified them (JSON), e.g. Amt membership."""
    document: str
    """The signed agreement: {"policy": ..., "signatures": [...]} (policies.signing)."""
    created: datetime
    expires: datetime | None = None
    revoked: datetime | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dataset": self.dataset_id,
            "assignee": self.assignee,
            "purpose": self.purpose,
            "attributes": json.loads(self.attributes),
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat() if self.expires else None,
            "revoked": self.revoked.isoformat() if self.revoked else None,
            "agreement": json.loads(self.document),
        }


class AuditEntry(SQLModel, table=True):
    """One access decision: who asked for what, for which purpose, and what was decided."""

    __tablename__ = "usage_audit"

    id: int | None = Field(default=None, primary_key=True)
    time: datetime = Field(index=True)
    dataset_id: str = Field(index=True, max_length=64)
    channel: str = Field(max_length=32)
    subject: str = Field(max_length=300)
    purpose: str | None = Field(default=None, max_length=300)
    agreement_id: str | None = Field(default=None, max_length=300)
    decision: str = Field(max_length=8)
    reason: str = Field(max_length=500)
    """Why, as `vocab.messages.stored` wrote it: read it through `said_reason`."""

    @property
    def said_reason(self) -> str:
        """The reason as a Message again, so a page says it in its reader's language."""
        return restored(self.reason)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "dataset": self.dataset_id,
            "channel": self.channel,
            "subject": self.subject,
            "purpose": self.purpose,
            "agreement": self.agreement_id,
            "decision": self.decision,
            "reason": self.said_reason,
        }
