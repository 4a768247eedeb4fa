"""lease tokens: a claim names its holder, so only the worker holding a row renews or records it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("deliveries", "pending_items"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("lease_token", sa.String(32), nullable=True))


def downgrade() -> None:
    for table in ("deliveries", "pending_items"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lease_token")
