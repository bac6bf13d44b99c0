"""The newest value per sensor field, kept in the control plane for pages and silence checks.

One upsert statement per transaction, executed for many rows at once: an older reading
that arrives late never overwrites a newer one (SQLite and PostgreSQL both speak
INSERT ... ON CONFLICT DO UPDATE ... WHERE).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session

from allmende.connectors.model import Observation
from allmende.node.ingest.models import (
    DevicePayload,
    ImplausibleReading,
    LatestValue,
    UnmappedField,
)

IMPLAUSIBLE_KEPT = 1000
"""Implausible readings kept for the device pages (the oldest go first)."""

Row = dict[str, Any]


def newest_rows(observations: Iterable[Observation], datasets: Mapping[str, str]) -> list[Row]:
    """One row per (device, field): the reading with the latest result time."""
    newest: dict[tuple[str, str], Observation] = {}
    for observation in observations:
        key = (observation.device_id, observation.field)
        if key not in newest or observation.result_time > newest[key].result_time:
            newest[key] = observation
    return [
        {
            "device_id": device,
            "field": field,
            "dataset_id": datasets[device],
            "time": observation.result_time,
            "value": str(observation.value)[:1024],
        }
        for (device, field), observation in newest.items()
    ]


def upsert(session: Session, rows: list[Row]) -> None:
    if rows:
        session.execute(_statement(session.get_bind().dialect.name), rows)


@cache
def _statement(dialect: str) -> Insert:
    """Built once per dialect, so SQLAlchemy compiles it once and only binds rows after."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = LatestValue.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["device_id", "field"],
        set_={name: statement.excluded[name] for name in ("dataset_id", "time", "value")},
        where=table.c.time < statement.excluded.time,
    )


def write_device_state(
    session: Session,
    payloads: Sequence[Row],
    implausible: Sequence[Row],
    unmapped: Sequence[Row] = (),
) -> None:
    """Each device's last payload received, the fields its mapping leaves out (with the
    last value sent) and the implausible readings, trimmed now and then to the newest
    IMPLAUSIBLE_KEPT."""
    dialect = session.get_bind().dialect.name
    if unmapped:
        session.execute(_unmapped_statement(dialect), list(unmapped))
    if payloads:
        newest: dict[str, Row] = {}
        for row in payloads:
            seen = newest.get(row["device_id"])
            if seen is None or row["time"] >= seen["time"]:
                newest[row["device_id"]] = row
        session.execute(_payload_statement(dialect), list(newest.values()))
    if implausible:
        table = ImplausibleReading.__table__  # type: ignore[attr-defined]
        session.execute(table.insert(), list(implausible))
        last = session.execute(select(func.max(table.c.id))).scalar() or 0
        if last % 50 < len(implausible):
            session.execute(table.delete().where(table.c.id <= last - IMPLAUSIBLE_KEPT))


@cache
def _payload_statement(dialect: str) -> Insert:
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = DevicePayload.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["device_id"],
        set_={name: statement.excluded[name] for name in ("time", "source", "fields", "unmapped")},
    )


@cache
def _unmapped_statement(dialect: str) -> Insert:
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = UnmappedField.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["device_id", "field"],
        set_={name: statement.excluded[name] for name in ("time", "value")},
    )
