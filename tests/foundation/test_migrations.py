"""Schema upgrades keep the data: the node's database is upgraded in place, never recreated."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from allmende.node import db
from tests.support import make_node


def test_upgrade_from_first_revision_keeps_events(tmp_path: Path, database_url: str | None) -> None:
    node = make_node(tmp_path, database_url=database_url)
    node.commit([node.event("graph.dropped", {"graph": "urn:kept"})])
    engine = node.engine
    config = db.alembic_config(engine)
    command.downgrade(config, "0001")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM event_log")).scalar() == 1
    db.upgrade(engine)
    db.upgrade(engine)  # a second start changes nothing
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM event_log")).scalar() == 1
        heads = {
            row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))
        }
    assert "event_log" in inspect(engine).get_table_names()
    assert heads
    node.close()
