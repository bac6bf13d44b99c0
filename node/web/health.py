"""What the operator should look at first: sensors that went silent and refused payloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from allmende.node.ingest.intake import PLACED
from allmende.node.ingest.models import Device, IngestProblem, LatestValue
from allmende.vocab.messages import Message, restored

SILENT_AFTER = timedelta(hours=6)


@dataclass(frozen=True)
class DeviceState:
    device: str
    label: str
    dataset: str
    last_seen: datetime | None

    @property
    def silent(self) -> bool:
        return self.last_seen is None or datetime.now(UTC) - self.last_seen > SILENT_AFTER


def device_states(session: Session) -> list[DeviceState]:
    """Every registered device with its newest reading, silent ones first."""
    newest = dict(
        session.exec(
            select(LatestValue.device_id, func.max(LatestValue.time)).group_by(
                col(LatestValue.device_id)
            )
        ).all()
    )
    states = []
    for device in session.exec(select(Device).order_by(col(Device.id))):
        seen = newest.get(device.id)
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        states.append(DeviceState(device.id, device.label or device.id, device.dataset_id, seen))
    return sorted(states, key=lambda state: (not state.silent, state.device))


def _reason(text: str) -> dict[str, object]:
    """A refusal as the console shows it: the place in the payload (a JSON pointer, machine
    text) apart from the reason, which reads in the page's language."""
    reason = restored(text)
    if isinstance(reason, Message) and reason.msgid == PLACED:
        path = reason.values.get("path")
        if isinstance(path, str) and not isinstance(path, Message):
            return {"path": path, "reason": reason.values.get("reason", "")}
    return {"path": None, "reason": reason}


def recent_problems(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    rows = session.exec(select(IngestProblem).order_by(col(IngestProblem.id).desc()).limit(limit))
    return [
        {
            "time": p.time,
            "source": p.source,
            "status": p.status,
            **_reason(p.reason),
            "excerpt": p.excerpt,
        }
        for p in rows
    ]
