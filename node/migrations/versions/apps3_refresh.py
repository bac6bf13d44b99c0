"""App directory: refresh tokens (RFC 6749 section 6) issued with an app's access token.

Revision ID: apps3
Revises: apps2
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "apps3"
down_revision = "apps2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("apps_token") as batch:
        batch.add_column(sa.Column("refresh_digest", sa.String(64), nullable=True))
        batch.create_index("ix_apps_token_refresh_digest", ["refresh_digest"])


def downgrade() -> None:
    with op.batch_alter_table("apps_token") as batch:
        batch.drop_index("ix_apps_token_refresh_digest")
        batch.drop_column("refresh_digest")
