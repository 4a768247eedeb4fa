"""events: an event's payload is stored once, in ``events``, not in every delivery of it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", ID, nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("event_ref", ID, nullable=True))
    # one event per key, with the payload of the key's first delivery
    op.execute(
        "INSERT INTO events (event_key, event_type, payload, created_at)"
        " SELECT event_key, event_type, payload, created_at FROM deliveries"
        " WHERE id IN (SELECT min(id) FROM deliveries GROUP BY event_key) ORDER BY id"
    )
    op.execute(
        "UPDATE deliveries SET event_ref ="
        " (SELECT events.id FROM events WHERE events.event_key = deliveries.event_key)"
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("event_ref", existing_type=ID, nullable=False)
        batch.create_foreign_key("fk_deliveries_event_ref", "events", ["event_ref"], ["id"])
        batch.create_index("ix_deliveries_event_ref", ["event_ref"])
        batch.drop_column("payload")


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE deliveries SET payload ="
        " (SELECT events.payload FROM events WHERE events.id = deliveries.event_ref)"
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("payload", existing_type=sa.JSON(), nullable=False)
        batch.drop_index("ix_deliveries_event_ref")
        batch.drop_constraint("fk_deliveries_event_ref", type_="foreignkey")
        batch.drop_column("event_ref")
    op.drop_table("events")
