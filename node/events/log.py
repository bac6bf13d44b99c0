"""Appending to and reading from the event log, inside the caller's SQL transaction.

The caller adds its own control-plane rows to the same session, so a change and the event
that records it are committed together or not at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Integer, Select, bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from allmende.node.events import jsontext
from allmende.node.events.envelope import check_envelope, now, parse_time
from allmende.node.events.signing import (
    VerificationError,
    sign_batch,
    sign_event,
    verify_batch,
    verify_batch_member,
    verify_event,
)
from allmende.node.keys import NodeKey
from allmende.node.models import EventBatch, EventRecord

_LogRow = tuple[int | None, str, str | None, str | None, int | None]
"""seq, envelope, signature, batch id, index in the batch: what a page of the log reads."""


@dataclass(frozen=True)
class BatchProof:
    id: str
    index: int
    digests: list[str]
    signature: str


@dataclass(frozen=True)
class SignedEvent:
    """An envelope with what proves who made it: its own JWS or its place in a signed batch."""

    event: dict[str, Any]
    signature: str | None = None
    batch: BatchProof | None = None
    seq: int | None = None

    def verify(
        self, keys: Mapping[str, Ed25519PublicKey], batch_events: Sequence[Any] = ()
    ) -> None:
        """Check the signature; with `batch_events`, the whole batch and its order too."""
        if self.signature is not None:
            verify_event(self.event, self.signature, keys)
        elif self.batch is not None and batch_events:
            verify_batch(
                self.batch.id, batch_events, self.batch.digests, self.batch.signature, keys
            )
        elif self.batch is not None:
            verify_batch_member(
                self.event,
                self.batch.index,
                self.batch.id,
                self.batch.digests,
                self.batch.signature,
                keys,
            )
        else:
            raise VerificationError(f"event {self.event.get('id')!r} carries no signature")

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"event": self.event}
        if self.seq is not None:
            body["seq"] = self.seq
        if self.signature is not None:
            body["signature"] = self.signature
        if self.batch is not None:
            body["batch"] = {
                "id": self.batch.id,
                "index": self.batch.index,
                "digests": self.batch.digests,
                "signature": self.batch.signature,
            }
        return body


class EventLog:
    """Signs this node's events and writes them; reads any page of the log back."""

    def __init__(self, key: NodeKey, node_id: str) -> None:
        self.key = key
        self.node_id = node_id

    def append(
        self, session: Session, events: Sequence[dict[str, Any]], *, batch: bool | None = None
    ) -> None:
        """Sign and add events to the session; batch-sign when there is more than one.

        Rows go in as one Core INSERT on the session's connection, neither as ORM objects
        nor through the ORM's bulk path: the ingest writer calls this for every group
        commit, and building validated model instances took half its time, the bulk path
        then most of what was left of the statement's own time."""
        for event in events:
            check_envelope(event)
        if not events:
            return
        recorded = now()
        session.flush()  # rows the caller added first, as the ORM's own statements would
        connection = session.connection()
        use_batch = len(events) > 1 if batch is None else batch
        if use_batch:
            batch_id = uuid.uuid4().hex
            digests, signature = sign_batch(batch_id, events, self.key)
            connection.execute(
                _INSERT_BATCH,
                {
                    "id": batch_id,
                    "source": self.node_id,
                    "digests": json.dumps(digests),
                    "signature": signature,
                },
            )
            rows = [
                _row(event, recorded, batch_id=batch_id, batch_index=index)
                for index, event in enumerate(events)
            ]
        else:
            rows = [
                _row(event, recorded, signature=sign_event(event, self.key)) for event in events
            ]
        connection.execute(_INSERT_EVENT, rows)

    @staticmethod
    def append_foreign(session: Session, signed: SignedEvent) -> EventRecord | None:
        """Add a peer's already-verified event with its proof; None if it is here already."""
        check_envelope(signed.event)
        if session.exec(
            select(EventRecord.seq).where(EventRecord.id == signed.event["id"])
        ).first():
            return None
        if signed.batch is not None and session.get(EventBatch, signed.batch.id) is None:
            session.add(
                EventBatch(
                    id=signed.batch.id,
                    source=signed.event["source"],
                    digests=json.dumps(signed.batch.digests),
                    signature=signed.batch.signature,
                )
            )
            session.flush()
        record = EventRecord(
            **_row(
                signed.event,
                now(),
                signature=signed.signature,
                batch_id=signed.batch.id if signed.batch else None,
                batch_index=signed.batch.index if signed.batch else None,
                local=False,
            )
        )
        session.add(record)
        session.flush()
        return record

    @staticmethod
    def append_foreign_many(
        session: Session, events: Sequence[SignedEvent]
    ) -> list[EventRecord | None]:
        """`append_foreign` for a whole bundle, in its order: which events are here already
        is asked once per 500, and the rows go in with one flush instead of a query and a
        flush per event (a Kafka batch holds thousands). None for an event already here,
        also for the second copy of an event the bundle holds twice."""
        ids = [str(signed.event["id"]) for signed in events]
        present = {
            found
            for at in range(0, len(ids), 500)
            for found in session.exec(
                select(EventRecord.id).where(col(EventRecord.id).in_(ids[at : at + 500]))
            )
        }
        batch_ids = list({s.batch.id: None for s in events if s.batch is not None})
        batches_present = {
            found
            for at in range(0, len(batch_ids), 500)
            for found in session.exec(
                select(EventBatch.id).where(col(EventBatch.id).in_(batch_ids[at : at + 500]))
            )
        }
        records: list[EventRecord | None] = []
        for signed, event_id in zip(events, ids, strict=True):
            check_envelope(signed.event)
            if event_id in present:
                records.append(None)
                continue
            present.add(event_id)
            batch = signed.batch
            if batch is not None and batch.id not in batches_present:
                batches_present.add(batch.id)
                session.add(
                    EventBatch(
                        id=batch.id,
                        source=signed.event["source"],
                        digests=json.dumps(batch.digests),
                        signature=batch.signature,
                    )
                )
            records.append(
                EventRecord(
                    **_row(
                        signed.event,
                        now(),
                        signature=signed.signature,
                        batch_id=batch.id if batch else None,
                        batch_index=batch.index if batch else None,
                        local=False,
                    )
                )
            )
        session.flush()  # the batches first: the records name them
        session.add_all([record for record in records if record is not None])
        session.flush()
        return records

    @staticmethod
    def last_seq(session: Session, *, local_only: bool = False) -> int:
        found = session.connection().execute(_LAST_LOCAL if local_only else _LAST).scalar()
        return int(found or 0)

    @staticmethod
    def read(
        session: Session,
        after: int = 0,
        limit: int = 1000,
        *,
        local_only: bool = False,
        max_bytes: int | None = None,
        until: int | None = None,
    ) -> list[SignedEvent]:
        """Up to `limit` events after `after` (and up to `until`); with `max_bytes`, the
        page ends with the event that reaches that many bytes of JSON (at least one event).
        Rows are fetched as they are read, so the rest of a long page is neither loaded nor
        parsed."""
        query = _page_query(local_only, until is not None)
        bound = {"after": after, "limit": limit, "until": until}
        rows: list[_LogRow] = []
        size = 0
        for seq, envelope, signature, batch_id, batch_index in session.connection().execute(
            query, bound
        ):
            rows.append((seq, envelope, signature, batch_id, batch_index))
            size += len(envelope)
            if max_bytes is not None and size >= max_bytes:
                break
        batch_ids = {row[3] for row in rows if row[3]}
        batches = (
            {
                key: (digests, proof)
                for key, digests, proof in session.connection().execute(
                    _BATCHES, {"ids": list(batch_ids)}
                )
            }
            if batch_ids
            else {}
        )
        return [_signed(row, batches) for row in rows]

    @staticmethod
    def batch_events(session: Session, batch_id: str) -> list[dict[str, Any]]:
        rows = session.exec(
            select(EventRecord.envelope)
            .where(EventRecord.batch_id == batch_id)
            .order_by(col(EventRecord.batch_index))
        ).all()
        return [jsontext.loads(envelope) for envelope in rows]


@cache
def _page_query(
    local_only: bool, bounded: bool
) -> Select[int | None, str, str | None, str | None, int | None]:
    """A page of the log as one statement per shape, its values bound (`after`, `limit`,
    `until`): the projector reads a page after every group commit, and building the
    statement anew cost more than running it."""
    query = sa_select(
        col(EventRecord.seq),
        col(EventRecord.envelope),
        col(EventRecord.signature),
        col(EventRecord.batch_id),
        col(EventRecord.batch_index),
    ).where(col(EventRecord.seq) > bindparam("after"))
    if local_only:
        query = query.where(col(EventRecord.local).is_(True))
    if bounded:
        query = query.where(col(EventRecord.seq) <= bindparam("until"))
    return (
        query.order_by(col(EventRecord.seq))
        .limit(bindparam("limit", type_=Integer))
        .execution_options(yield_per=16)
    )


_INSERT_EVENT = EventRecord.__table__.insert()  # type: ignore[attr-defined]
_INSERT_BATCH = EventBatch.__table__.insert()  # type: ignore[attr-defined]
"""The log's rows as Core statements, built once (see `EventLog.append`)."""

_LAST = sa_select(func.max(col(EventRecord.seq)))
"""The log's head, asked after every group commit: built once."""
_LAST_LOCAL = _LAST.where(col(EventRecord.local).is_(True))

_BATCHES = sa_select(col(EventBatch.id), col(EventBatch.digests), col(EventBatch.signature)).where(
    col(EventBatch.id).in_(bindparam("ids", expanding=True))
)


def _row(
    event: dict[str, Any],
    recorded: Any,
    *,
    signature: str | None = None,
    batch_id: str | None = None,
    batch_index: int | None = None,
    local: bool = True,
) -> dict[str, Any]:
    return {
        "id": event["id"],
        "source": event["source"],
        "type": event["type"],
        "subject": event.get("subject"),
        "time": parse_time(event["time"]),
        "envelope": jsontext.dumps(event),
        "signature": signature,
        "batch_id": batch_id,
        "batch_index": batch_index,
        "local": local,
        "recorded_at": recorded,
    }


def _signed(row: _LogRow, batches: Mapping[str, tuple[str, str]]) -> SignedEvent:
    """From plain rows: ORM instances cost more than the JSON they carry."""
    seq, envelope, signature, batch_id, batch_index = row
    proof = None
    if batch_id is not None:
        digests, batch_signature = batches[batch_id]
        proof = BatchProof(
            id=batch_id,
            index=batch_index or 0,
            digests=jsontext.loads(digests),
            signature=batch_signature,
        )
    return SignedEvent(event=jsontext.loads(envelope), signature=signature, batch=proof, seq=seq)
