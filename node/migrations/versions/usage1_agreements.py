"""Usage control: agreements and the append-only audit log.

Revision ID: usage1
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "usage1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_agreement",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("dataset_id", sa.String(64), nullable=False, index=True),
        sa.Column("assignee", sa.String(300), nullable=False),
        sa.Column("purpose", sa.String(300), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "usage_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("dataset_id", sa.String(64), nullable=False, index=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("purpose", sa.String(300), nullable=True),
        sa.Column("agreement_id", sa.String(300), nullable=True),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("usage_audit")
    op.drop_table("usage_agreement")
