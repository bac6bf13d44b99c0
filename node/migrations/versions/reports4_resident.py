"""Mängelmelder: the resident an app filed a report for, so that their app reads it back.

Revision ID: reports4
Revises: reports3
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reports4"
down_revision = "reports3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report_reporter") as table:
        table.add_column(sa.Column("resident", sa.String(300), nullable=False, server_default=""))
        table.create_index("ix_report_reporter_resident", ["resident"])


def downgrade() -> None:
    with op.batch_alter_table("report_reporter") as table:
        table.drop_index("ix_report_reporter_resident")
        table.drop_column("resident")
