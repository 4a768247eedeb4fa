"""The chat outbox: articles waiting to be folded into each chat subscriber's next message.

Each function takes a Session; the caller owns the transaction. This module must not render or
send anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from worker.store._sql import insert_for
from worker.store.tables import DeliveryRow, OutboxRow, SubscriberRow


def add_to_outbox(
    session: Session, subscriber_ids: Sequence[int], article_id: int, now: datetime
) -> None:
    """Articles waiting to be folded into each chat subscriber's next message (never twice)."""
    for subscriber_id in subscriber_ids:
        statement = (
            insert_for(session)(OutboxRow)
            .values(subscriber_id=subscriber_id, article_id=article_id, created_at=now)
            .on_conflict_do_nothing()
        )
        session.execute(statement)


def take_outbox(session: Session, subscriber_id: int, now: datetime) -> list[tuple[int, int]]:
    """Mark and return this subscriber's waiting (outbox id, article id), oldest first.

    The UPDATE … RETURNING makes two concurrent flushes take disjoint rows; the rows stay (and
    their ids are never reused), so the (subscriber, article) key keeps an article from being
    queued for the same subscriber again.
    """
    statement = (
        update(OutboxRow)
        .where(OutboxRow.subscriber_id == subscriber_id, OutboxRow.flushed_at.is_(None))
        .values(flushed_at=now)
        .returning(OutboxRow.id, OutboxRow.article_id)
    )
    return sorted((int(a), int(b)) for a, b in session.execute(statement))


def outbox_subscribers(session: Session) -> list[SubscriberRow]:
    waiting = select(OutboxRow.subscriber_id).where(OutboxRow.flushed_at.is_(None)).distinct()
    return list(
        session.scalars(
            select(SubscriberRow).where(
                SubscriberRow.id.in_(waiting), SubscriberRow.enabled.is_(True)
            )
        )
    )


def has_unsent(session: Session, subscriber_id: int, event_type: str) -> bool:
    """Whether a message of ``event_type`` to this subscriber is still waiting to be delivered."""
    query = (
        select(DeliveryRow.id)
        .where(
            DeliveryRow.subscriber_id == subscriber_id,
            DeliveryRow.status.in_(("pending", "sending")),
            DeliveryRow.event_type == event_type,
        )
        .limit(1)
    )
    return session.scalar(query) is not None
