"""The newest value per sensor field, kept in the control plane for pages and silence checks.

One upsert statement per transaction, executed for many rows at once: an older reading
that arrives late never overwrites a newer one (SQLite and PostgreSQL both speak
INSERT ... ON CONFLICT DO UPDATE ... WHERE).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session

from connectors.model import Observation
from node.ingest.models import LatestValue

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
