"""The ingest ledger: article URLs a poll found, waiting to be read, claimed with a lease.

The poll writes these in the same transaction as the list's new validators, so losing a broker
message never loses an article. Each function takes a Session; the caller owns the transaction.
This module must not fetch, parse or store articles.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from worker.store._sql import insert_for, rowcount
from worker.store.clock import db_now
from worker.store.tables import PendingItemRow


def queue_items(
    session: Session,
    source_id: int,
    entries: Sequence[tuple[dict[str, Any], int | None]],
    *,
    notify: bool,
    now: datetime,
) -> list[int]:
    """Record discovered items to ingest; an item already waiting is not queued twice."""
    if not entries:
        return []
    rows = [
        dict(
            source_id=source_id,
            url=item["url"],
            item=item,
            known_article_id=known_id,
            notify=notify,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            enqueued_at=now,
            last_error="",
            created_at=now,
        )
        for item, known_id in entries
    ]
    ids: list[int] = []
    for row in rows:  # one statement per row: RETURNING with ON CONFLICT DO UPDATE … WHERE
        statement = insert_for(session)(PendingItemRow).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=["url"],
            set_={
                "status": "pending", "attempts": 0, "next_attempt_at": now, "enqueued_at": now,
                "lease_until": None, "item": statement.excluded.item,
                "source_id": statement.excluded.source_id,
                "known_article_id": statement.excluded.known_article_id,
                "notify": statement.excluded.notify,
            },
            where=PendingItemRow.status == "failed",  # a parked item seen again gets a new chance
        ).returning(PendingItemRow.id)  # fmt: skip
        ids.extend(int(i) for i in session.scalars(statement))
    return ids


def claim_pending_item(
    session: Session, pending_id: int, *, lease: float, token: str, max_attempts: int
) -> PendingItemRow | None:
    """Take a waiting item for ingesting, leased to ``token`` for ``lease`` seconds of the
    database's clock; None if it is gone, not due or someone holds it.

    An item already tried ``max_attempts`` times without an outcome (its worker died each
    time) is parked as failed instead: a poison message must not loop for ever.
    """
    now = db_now(session)
    due = and_(
        PendingItemRow.id == pending_id,
        PendingItemRow.status == "pending",
        PendingItemRow.next_attempt_at <= now,
        or_(PendingItemRow.lease_until.is_(None), PendingItemRow.lease_until < now),
    )
    parked = session.execute(
        update(PendingItemRow)
        .where(due, PendingItemRow.attempts >= max_attempts)
        .values(
            status="failed", lease_until=None, lease_token=None,
            last_error=f"parked after {max_attempts} attempts without an outcome",
        )
    )  # fmt: skip
    if rowcount(parked):
        return None
    result = session.execute(
        update(PendingItemRow)
        .where(due)
        .values(
            lease_until=now + timedelta(seconds=lease), lease_token=token,
            attempts=PendingItemRow.attempts + 1,
        )
    )  # fmt: skip
    if rowcount(result) != 1:
        return None
    return session.get(PendingItemRow, pending_id)


def renew_pending_lease(session: Session, pending_id: int, token: str, *, lease: float) -> bool:
    """Extend the item's lease while ``token`` holds it; False once it is done or lost."""
    now = db_now(session)
    result = session.execute(
        update(PendingItemRow)
        .where(PendingItemRow.id == pending_id, PendingItemRow.lease_token == token)
        .values(lease_until=now + timedelta(seconds=lease))
    )
    return rowcount(result) == 1


def finish_pending_item(session: Session, pending_id: int, token: str) -> None:
    """The item is ingested (or no longer wanted): it leaves the ledger, while ``token`` holds
    it (a worker that lost it leaves it to the worker that took it over)."""
    session.execute(
        delete(PendingItemRow).where(
            PendingItemRow.id == pending_id, PendingItemRow.lease_token == token
        )
    )


def fail_pending_item(
    session: Session, pending_id: int, *, token: str, error: str, retry_in: float | None
) -> None:
    """Retry ``retry_in`` seconds from now (the database's clock), or (None) park it as failed
    with the reason; only while ``token`` still holds it."""
    values: dict[str, Any] = dict(
        last_error=error[:2000], lease_until=None, lease_token=None, enqueued_at=None
    )
    if retry_in is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = db_now(session) + timedelta(seconds=retry_in)
    session.execute(
        update(PendingItemRow)
        .where(PendingItemRow.id == pending_id, PendingItemRow.lease_token == token)
        .values(**values)
    )


def claim_due_pending_items(session: Session, *, requeue_after: float, limit: int) -> list[int]:
    """Waiting items not enqueued recently (or whose lease ran out); marks them enqueued now."""
    now = db_now(session)
    stale = now - timedelta(seconds=requeue_after)
    query = (
        select(PendingItemRow.id)
        .where(
            PendingItemRow.status == "pending",
            PendingItemRow.next_attempt_at <= now,
            or_(PendingItemRow.enqueued_at.is_(None), PendingItemRow.enqueued_at <= stale),
            or_(PendingItemRow.lease_until.is_(None), PendingItemRow.lease_until < now),
        )
        .order_by(PendingItemRow.id)
        .limit(limit)
    )
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(PendingItemRow).where(PendingItemRow.id.in_(ids)).values(enqueued_at=now)
        )
    return ids


def pending_item_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(PendingItemRow.status, func.count()).group_by(PendingItemRow.status)
    )
    return {status: int(count) for status, count in rows}
