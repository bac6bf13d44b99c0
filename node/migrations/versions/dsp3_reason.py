"""Dataspace Protocol: why a process ended, as either side stated it.

Revision ID: dsp3
Revises: dsp2
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "dsp3"
down_revision = "dsp2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("dsp_negotiation", "dsp_transfer"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in ("dsp_negotiation", "dsp_transfer"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reason")
