"""source health, detected kind, attachments, ops alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("status_since", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("dated_share", sa.Double(), nullable=True))
        batch.add_column(
            sa.Column("layout_fingerprint", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("detected_kind", sa.String(16), nullable=False, server_default="")
        )
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("attachments", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(
            sa.Column("ops_alerts", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("ops_alerts")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("attachments")
    with op.batch_alter_table("sources") as batch:
        for column in (
            "detected_kind", "layout_fingerprint", "dated_share", "status_since", "status_reason",
        ):  # fmt: skip
            batch.drop_column(column)
