"""serving: poll counts per source and outcome for /metrics; the newest articles by index, of all
sources (ix_articles_newest) and of each source (article_sources.newest_at)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_stats",
        sa.Column(
            "source_id",
            sa.Integer(),
            sa.ForeignKey("sources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("polls", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("fetch_seconds", sa.Float(), nullable=False, server_default="0"),
    )
    op.create_index(
        "ix_articles_newest",
        "articles",
        [sa.text("coalesce(published_at, first_seen_at)"), "id"],
    )
    with op.batch_alter_table("article_sources") as batch:
        batch.add_column(sa.Column("newest_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE article_sources SET newest_at = (SELECT coalesce(a.published_at, a.first_seen_at)"
        " FROM articles a WHERE a.id = article_sources.article_id)"
    )
    op.create_index(
        "ix_article_sources_newest", "article_sources", ["source_id", "newest_at", "article_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_article_sources_newest", "article_sources")
    with op.batch_alter_table("article_sources") as batch:
        batch.drop_column("newest_at")
    op.drop_index("ix_articles_newest", "articles")
    op.drop_table("poll_stats")
