"""Digests as stored: the per-subscriber queue of waiting articles, digest rows and their slots.

A digest is claimed by its schedule slot (a conditional UPDATE of ``next_digest_at``) and by a
unique (subscriber, slot) row, and takes its articles with an UPDATE … RETURNING, so two
builders racing for one schedule build one digest and never share an article. Each function
takes a Session; the caller owns the transaction. This module must not render or send anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from worker.store._sql import insert_for, rowcount
from worker.store.tables import DigestQueueRow, DigestRow, SubscriberRow

DIGEST_MODES = ("digest", "both")


def queue_for_digest(
    session: Session, subscriber_ids: Sequence[int], article_id: int, now: datetime
) -> None:
    """The article waits for each subscriber's next digest (never queued twice); one
    statement for all of them."""
    if not subscriber_ids:
        return
    rows = [dict(subscriber_id=i, article_id=article_id, created_at=now) for i in subscriber_ids]
    session.execute(insert_for(session)(DigestQueueRow).on_conflict_do_nothing(), rows)


def waiting_article_ids(session: Session, subscriber_id: int) -> list[int]:
    """Articles queued for the subscriber's next digest, in the order they were queued."""
    query = (
        select(DigestQueueRow.article_id)
        .where(DigestQueueRow.subscriber_id == subscriber_id, DigestQueueRow.digest_id.is_(None))
        .order_by(DigestQueueRow.id)
    )
    return [int(i) for i in session.scalars(query)]


def due_digest_subscribers(session: Session, now: datetime) -> list[SubscriberRow]:
    """Enabled digest subscribers whose next scheduled digest is due."""
    query = select(SubscriberRow).where(
        SubscriberRow.enabled.is_(True),
        SubscriberRow.mode.in_(DIGEST_MODES),
        SubscriberRow.next_digest_at.is_not(None),
        SubscriberRow.next_digest_at <= now,
    )
    return list(session.scalars(query.order_by(SubscriberRow.id)))


def claim_digest_slot(
    session: Session, subscriber_id: int, slot: datetime, following: datetime
) -> bool:
    """Move the subscriber's next digest from ``slot`` to ``following``; True for the winner."""
    result = session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.id == subscriber_id, SubscriberRow.next_digest_at == slot)
        .values(next_digest_at=following)
    )
    return rowcount(result) == 1


def last_digest(session: Session, subscriber_id: int) -> DigestRow | None:
    query = (
        select(DigestRow)
        .where(DigestRow.subscriber_id == subscriber_id)
        .order_by(DigestRow.window_end.desc(), DigestRow.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def open_digest(
    session: Session,
    subscriber_id: int,
    *,
    slot: str,
    key: str,
    window_start: datetime,
    window_end: datetime,
) -> int | None:
    """A new digest row for ``slot``; None when that slot already has one (built once)."""
    statement = (
        insert_for(session)(DigestRow)
        .values(
            subscriber_id=subscriber_id, slot=slot, key=key, window_start=window_start,
            window_end=window_end, article_ids=[], messages=[], page="", created_at=window_end,
        )
        .on_conflict_do_nothing(index_elements=["subscriber_id", "slot"])
        .returning(DigestRow.id)
    )  # fmt: skip
    found = session.scalar(statement)
    return None if found is None else int(found)


def take_waiting(session: Session, subscriber_id: int, digest_id: int) -> list[int]:
    """Attach the subscriber's waiting articles to ``digest_id``; returns them, queue order."""
    statement = (
        update(DigestQueueRow)
        .where(DigestQueueRow.subscriber_id == subscriber_id, DigestQueueRow.digest_id.is_(None))
        .values(digest_id=digest_id)
        .returning(DigestQueueRow.id, DigestQueueRow.article_id)
    )
    return [int(article) for _, article in sorted(session.execute(statement))]


def finish_digest(
    session: Session,
    digest_id: int,
    *,
    key: str,
    article_ids: Sequence[int],
    messages: list[dict[str, Any]],
    page: str,
) -> None:
    session.execute(
        update(DigestRow)
        .where(DigestRow.id == digest_id)
        .values(key=key, article_ids=list(article_ids), messages=messages, page=page)
    )


def subscriber_digests(
    session: Session, subscriber_id: int, *, limit: int = 100
) -> list[DigestRow]:
    """The subscriber's most recent digests, newest first (for the archive index)."""
    query = (
        select(DigestRow)
        .where(DigestRow.subscriber_id == subscriber_id)
        .order_by(DigestRow.window_end.desc(), DigestRow.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def digest_counts(session: Session) -> dict[str, int]:
    built = session.scalar(select(func.count()).select_from(DigestRow)) or 0
    waiting = session.scalar(
        select(func.count()).select_from(DigestQueueRow).where(DigestQueueRow.digest_id.is_(None))
    )
    return {"built": int(built), "waiting_articles": int(waiting or 0)}
