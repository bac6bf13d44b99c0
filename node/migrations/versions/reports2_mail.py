"""Mängelmelder: which status changes were mailed to their reporter.

Revision ID: reports2
Revises: reports1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reports2"
down_revision = "reports1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_mail",
        sa.Column("update_id", sa.String(40), primary_key=True),
        sa.Column("sent", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(300), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("report_mail")
