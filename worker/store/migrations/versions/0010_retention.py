"""retention: ended deliveries found by status and age (ix_deliveries_ended), digests by age

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_ended", "deliveries", ["status", "created_at"])
    op.create_index("ix_digests_created", "digests", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_digests_created", "digests")
    op.drop_index("ix_deliveries_ended", "deliveries")
