"""Event log and batch signatures.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_batch",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("digests", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(400), nullable=False),
    )
    op.create_table(
        "event_log",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(200), nullable=False, unique=True),
        sa.Column("source", sa.String(300), nullable=False, index=True),
        sa.Column("type", sa.String(200), nullable=False, index=True),
        sa.Column("subject", sa.String(300), nullable=True, index=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(400), nullable=True),
        sa.Column("batch_id", sa.String(64), sa.ForeignKey("event_batch.id"), index=True),
        sa.Column("batch_index", sa.Integer(), nullable=True),
        sa.Column("local", sa.Boolean(), nullable=False, index=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("event_log")
    op.drop_table("event_batch")
