"""the circuit breaker: when a subscriber's attempts started failing, and when it was suspended

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("failing_since", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("suspended_at", sa.DateTime(), nullable=True))
    op.create_index("ix_deliveries_subscriber_status", "deliveries", ["subscriber_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_subscriber_status", "deliveries")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("suspended_at")
        batch.drop_column("failing_since")
