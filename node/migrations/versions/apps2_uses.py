"""App directory: each use of a resident's permission by an app.

Revision ID: apps2
Revises: apps1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "apps2"
down_revision = "apps1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apps_use",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("client_id", sa.String(64), nullable=False, index=True),
        sa.Column("resident", sa.String(300), nullable=True, index=True),
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("dataset_id", sa.String(64), nullable=True),
        sa.Column("agreement_id", sa.String(300), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("apps_use")
