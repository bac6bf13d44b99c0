"""Mängelmelder: supporters of a report, each person counted once.

Revision ID: reports3
Revises: reports2
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reports3"
down_revision = "reports2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_support",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("report_id", sa.String(32), nullable=False, index=True),
        sa.Column("person", sa.String(64), nullable=False, index=True),
        sa.Column("origin", sa.String(500), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("report_support")
