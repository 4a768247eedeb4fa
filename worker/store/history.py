"""The delivery ledger's history, for people: recent rows, every attempt, and replays.

Each function takes a Session; the caller owns the transaction. This module must not send.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from worker.store._sql import rowcount
from worker.store.tables import AttemptRow, DeliveryRow, SubscriberRow


def list_deliveries(
    session: Session, *, failed: bool = False, subscriber: str = "", limit: int = 50
) -> list[tuple[DeliveryRow, str]]:
    """The most recent ledger rows (newest first) with their subscriber's name."""
    query = select(DeliveryRow, SubscriberRow.name).join(
        SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id
    )
    if failed:
        query = query.where(DeliveryRow.status == "failed")
    if subscriber:
        query = query.where(SubscriberRow.name == subscriber)
    rows = session.execute(query.order_by(DeliveryRow.id.desc()).limit(limit))
    return [(row, str(name)) for row, name in rows]


def delivery_attempts(session: Session, delivery_id: int) -> list[AttemptRow]:
    query = select(AttemptRow).where(AttemptRow.delivery_id == delivery_id)
    return list(session.scalars(query.order_by(AttemptRow.attempted_at, AttemptRow.id)))


def failed_delivery_ids(
    session: Session, *, since: datetime | None = None, subscriber: str = ""
) -> list[int]:
    """Failed rows (created at or after ``since``), oldest first."""
    query = (
        select(DeliveryRow.id)
        .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
        .where(DeliveryRow.status == "failed")
    )
    if since is not None:
        query = query.where(DeliveryRow.created_at >= since)
    if subscriber:
        query = query.where(SubscriberRow.name == subscriber)
    return [int(i) for i in session.scalars(query.order_by(DeliveryRow.id))]


def replay_deliveries(session: Session, ids: Sequence[int], *, now: datetime) -> int:
    """Make rows due now with a fresh retry schedule, keeping their event id (webhook-id).

    A row being sent right now is left alone. Returns how many rows were reset.
    """
    if not ids:
        return 0
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(ids), DeliveryRow.status != "sending")
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=now,
            enqueued_at=None,
            lease_until=None,
            lease_token=None,
            delivered_at=None,
        )
    )
    return rowcount(result)


def cancel_deliveries(session: Session, ids: Sequence[int], *, reason: str) -> int:
    """End rows that are waiting for a retry as failed (``reason`` kept); returns how many."""
    if not ids:
        return 0
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(ids), DeliveryRow.status == "pending")
        .values(status="failed", last_error=reason, enqueued_at=None)
    )
    return rowcount(result)


def get_delivery(session: Session, delivery_id: int) -> DeliveryRow | None:
    return session.get(DeliveryRow, delivery_id)
