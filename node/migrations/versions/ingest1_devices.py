"""Ingest: device registry, source secrets, latest values, ingest problems.

Revision ID: ingest1
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ingest1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_device",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("dataset_id", sa.String(64), nullable=False, index=True),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("registered", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ingest_source_secret",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ingest_latest_value",
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("field", sa.String(128), primary_key=True),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
    )
    op.create_table(
        "ingest_problem",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("excerpt", sa.String(600), nullable=False),
    )


def downgrade() -> None:
    for table in ("ingest_problem", "ingest_latest_value", "ingest_source_secret", "ingest_device"):
        op.drop_table(table)
