"""article_sources.listed_title: the title a source's list last showed (an edit there is news)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("article_sources") as batch:
        batch.add_column(sa.Column("listed_title", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("article_sources") as batch:
        batch.drop_column("listed_title")
