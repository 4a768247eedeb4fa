"""outbox by article: who was told of an article in chat is read by index (corrections)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_article", "outbox", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_article", table_name="outbox")
