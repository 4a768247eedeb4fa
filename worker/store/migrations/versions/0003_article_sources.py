"""articles listed by several sources, source config hash, article re-check time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_sources",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "source_id"),
    )
    op.create_index("ix_article_sources_source_id", "article_sources", ["source_id"])
    op.execute(
        "INSERT INTO article_sources (article_id, source_id, linked_at) "
        "SELECT id, source_id, first_seen_at FROM articles"
    )
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("config_hash", sa.String(64), nullable=False, server_default=""))
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("checked_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("checked_at")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("config_hash")
    op.drop_index("ix_article_sources_source_id", "article_sources")
    op.drop_table("article_sources")
