"""What the ledger has due, and when: the sweep's pick of due rows, the next first send, the
counts by status and the recent attempts a rate window reads. Each function takes a Session;
the caller owns the transaction. This module must not lease rows for sending or record
attempts (``worker.store.deliveries`` does).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from worker.store._sql import among
from worker.store.clock import db_now
from worker.store.deliveries import to_active_subscriber
from worker.store.tables import AttemptRow, DeliveryRow


def claim_due_deliveries(session: Session, *, requeue_after: float, limit: int) -> list[int]:
    """Due deliveries not enqueued recently (or whose lease ran out); marks them enqueued now."""
    now = db_now(session)
    stale = now - timedelta(seconds=requeue_after)
    query = (
        select(DeliveryRow.id)
        .where(
            DeliveryRow.next_attempt_at <= now,
            or_(
                and_(
                    DeliveryRow.status == "pending",
                    or_(DeliveryRow.enqueued_at.is_(None), DeliveryRow.enqueued_at <= stale),
                ),
                and_(DeliveryRow.status == "sending", DeliveryRow.lease_until < now),
            ),
            to_active_subscriber(),
        )
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
        .limit(limit)
    )
    ids = list(session.scalars(query))
    if ids:
        marked = update(DeliveryRow).where(among(session, DeliveryRow.id, ids))
        session.execute(marked.values(enqueued_at=now))
    return ids


def seconds_to_next_first_send(session: Session) -> float | None:
    """Seconds until the next delivery never tried yet (a row a rate window or a bucket held
    back) of an active subscriber is due (0.0: one is due now); None when none waits."""
    query = select(func.min(DeliveryRow.next_attempt_at)).where(
        DeliveryRow.status == "pending",
        DeliveryRow.attempts == 0,
        to_active_subscriber(),
    )
    due = session.scalar(query)
    if due is None:
        return None
    return max(0.0, (due - db_now(session)).total_seconds())


def delivery_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status))
    return {status: int(count) for status, count in rows}


def recent_attempts(
    session: Session, subscriber_ids: Iterable[int], since: datetime
) -> dict[int, list[datetime]]:
    """When each subscriber's endpoint was sent to since ``since``, oldest first (rate windows)."""
    ids = set(subscriber_ids)
    found: dict[int, list[datetime]] = {i: [] for i in ids}
    if not ids:
        return found
    query = (
        select(DeliveryRow.subscriber_id, AttemptRow.attempted_at)
        .join(DeliveryRow, DeliveryRow.id == AttemptRow.delivery_id)
        .where(DeliveryRow.subscriber_id.in_(ids), AttemptRow.attempted_at >= since)
        .order_by(AttemptRow.attempted_at)
    )
    for subscriber_id, attempted_at in session.execute(query):
        found[int(subscriber_id)].append(attempted_at)
    return found
