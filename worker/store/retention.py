"""The rows retention removes: ended deliveries (with their attempts, and the events left with
no delivery) past their age, article
versions beyond the newest few, digests past their age (with their queue rows).

Each call removes or counts at most one batch, in the caller's transaction, so a prune holds
no lock for long. Pending and sending deliveries, articles and subscribers are never removed.
This module must not decide the retention periods or commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from worker.store._sql import rowcount
from worker.store.tables import (
    ArticleRow,
    ArticleVersionRow,
    AttemptRow,
    DeliveryRow,
    DigestQueueRow,
    DigestRow,
    EventRow,
)


def ended_deliveries(status: str, cutoff: datetime) -> Select[int]:
    """Deliveries that ended as ``status`` (delivered, failed) and were created before
    ``cutoff`` (a delivered one also delivered before it)."""
    query = select(DeliveryRow.id).where(
        DeliveryRow.status == status, DeliveryRow.created_at < cutoff
    )
    if status == "delivered":
        query = query.where(DeliveryRow.delivered_at < cutoff)
    return query


def old_versions(keep: int) -> Select[int]:
    """Article versions older than an article's newest ``keep`` previous versions."""
    return (
        select(ArticleVersionRow.id)
        .join(ArticleRow, ArticleRow.id == ArticleVersionRow.article_id)
        .where(ArticleVersionRow.version < ArticleRow.version - keep)
    )


def old_digests(cutoff: datetime) -> Select[int]:
    return select(DigestRow.id).where(DigestRow.created_at < cutoff)


def count(session: Session, query: Select[int]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def count_attempts(session: Session, deliveries: Select[int]) -> int:
    """Attempts of the deliveries ``deliveries`` selects."""
    subquery = deliveries.scalar_subquery()
    where = AttemptRow.delivery_id.in_(subquery)
    return int(session.scalar(select(func.count()).select_from(AttemptRow).where(where)) or 0)


def remove_deliveries(session: Session, query: Select[int], batch: int) -> tuple[int, int]:
    """Remove up to ``batch`` deliveries ``query`` selects, with their attempts and the events
    no delivery refers to any more; returns (deliveries, attempts) removed."""
    ids = list(session.scalars(query.order_by(DeliveryRow.id).limit(batch)))
    if not ids:
        return 0, 0
    events = set(session.scalars(select(DeliveryRow.event_ref).where(DeliveryRow.id.in_(ids))))
    attempts = rowcount(session.execute(delete(AttemptRow).where(AttemptRow.delivery_id.in_(ids))))
    removed = rowcount(session.execute(delete(DeliveryRow).where(DeliveryRow.id.in_(ids))))
    still_used = select(DeliveryRow.id).where(DeliveryRow.event_ref == EventRow.id).exists()
    session.execute(delete(EventRow).where(EventRow.id.in_(events), ~still_used))
    return removed, attempts


def remove_versions(session: Session, keep: int, batch: int) -> int:
    ids = list(session.scalars(old_versions(keep).order_by(ArticleVersionRow.id).limit(batch)))
    if not ids:
        return 0
    return rowcount(session.execute(delete(ArticleVersionRow).where(ArticleVersionRow.id.in_(ids))))


def remove_digests(session: Session, cutoff: datetime, batch: int) -> int:
    """Remove up to ``batch`` digests built before ``cutoff``, and their queue rows (left with
    no digest, they would wait for the next one and be sent again)."""
    ids = list(session.scalars(old_digests(cutoff).order_by(DigestRow.id).limit(batch)))
    if not ids:
        return 0
    session.execute(delete(DigestQueueRow).where(DigestQueueRow.digest_id.in_(ids)))
    return rowcount(session.execute(delete(DigestRow).where(DigestRow.id.in_(ids))))
