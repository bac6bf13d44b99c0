"""Web: server-side console sessions, so that signing out really ends a session.

Revision ID: web1
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "web1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_session",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True, index=True),
        sa.Column("operator", sa.String(300), nullable=False),
        sa.Column("kid", sa.String(200), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remote", sa.String(100), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("console_session")
