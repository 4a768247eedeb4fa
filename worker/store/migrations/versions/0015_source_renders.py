"""sources.renders, render_failures, render_streak: pages headless Chromium rendered

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COLUMNS = ("renders", "render_failures", "render_streak")


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
