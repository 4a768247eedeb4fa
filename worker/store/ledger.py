"""The work ledgers: webhook deliveries and their attempts, pending ingest items, the chat outbox.

Claims here are leases that several workers may race for; a conditional UPDATE picks the winner.
Each function takes a Session; the caller owns the transaction. This module must not fetch, parse
or send anything, nor write articles or sources.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from worker.store._sql import insert_for, rowcount
from worker.store.tables import AttemptRow, DeliveryRow, OutboxRow, PendingItemRow, SubscriberRow

# --- subscribers and the delivery ledger ---------------------------------------------------------


def new_event_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def ops_alert_subscribers(session: Session) -> list[SubscriberRow]:
    return list(
        session.scalars(
            select(SubscriberRow).where(
                SubscriberRow.enabled.is_(True), SubscriberRow.ops_alerts.is_(True)
            )
        )
    )


def source_subscribers(session: Session, source_name: str) -> list[Any]:
    """Enabled subscribers (any mode) who follow ``source_name`` (or every source).

    Plain rows (``id``, ``channel``, ``mode``, ``sources``, ``options``), not ORM objects: a
    fan-out may read ten thousand of them.
    """
    rows = session.execute(
        select(
            SubscriberRow.id, SubscriberRow.channel, SubscriberRow.mode,
            SubscriberRow.sources, SubscriberRow.options,
        ).where(SubscriberRow.enabled.is_(True))
    )  # fmt: skip
    return [row for row in rows if not row.sources or source_name in row.sources]


def create_deliveries(
    session: Session,
    *,
    event_key: str,
    event_type: str,
    payload: dict[str, Any],
    subscriber_ids: Sequence[int],
    article_id: int | None,
    now: datetime,
    due: datetime | None = None,
) -> list[int]:
    """One ledger row per subscriber for this event; an existing (subscriber, event) is kept.

    ``due`` holds the first attempt back (quiet hours); by default it is ``now``.
    """
    if not subscriber_ids:
        return []
    rows = [
        dict(
            event_id=new_event_id(),
            event_key=event_key,
            event_type=event_type,
            subscriber_id=sub_id,
            article_id=article_id,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=due or now,
            enqueued_at=now if due is None else None,
            last_error="",
            created_at=now,
        )
        for sub_id in subscriber_ids
    ]
    statement = (
        insert_for(session)(DeliveryRow.__table__)  # Core: no per-row ORM bookkeeping
        .on_conflict_do_nothing(index_elements=["subscriber_id", "event_key"])
        .returning(DeliveryRow.id)
    )
    return [int(i) for i in session.scalars(statement, rows)]


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    event_id: str
    event_type: str
    payload: dict[str, Any]
    attempts: int
    subscriber_name: str
    channel: str
    url: str
    secret: str
    options: dict[str, Any]
    subscriber_id: int = 0
    event_key: str = ""


def _due(now: datetime) -> Any:
    return and_(
        DeliveryRow.next_attempt_at <= now,
        or_(
            DeliveryRow.status == "pending",
            and_(DeliveryRow.status == "sending", DeliveryRow.lease_until < now),
        ),
    )


def active_subscriber_ids() -> Any:
    """Subscribers that may be sent to: enabled in the config and not suspended by the breaker."""
    return select(SubscriberRow.id).where(
        SubscriberRow.enabled.is_(True), SubscriberRow.suspended_at.is_(None)
    )


def claim_deliveries(
    session: Session, ids: Sequence[int], *, now: datetime, lease: float, max_attempts: int
) -> list[ClaimedDelivery]:
    """Take every due row of ``ids`` whose subscriber is active (one UPDATE … RETURNING).

    Rows already claimed ``max_attempts`` times are parked as failed instead.
    """
    if not ids:
        return []
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(ids), _due(now), DeliveryRow.attempts >= max_attempts)
        .values(
            status="failed",
            lease_until=None,
            last_error=f"parked after {max_attempts} attempts without a final outcome",
        )
    )
    taken = session.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.id.in_(ids),
            _due(now),
            DeliveryRow.subscriber_id.in_(active_subscriber_ids()),
        )
        .values(
            status="sending",
            lease_until=now + timedelta(seconds=lease),
            attempts=DeliveryRow.attempts + 1,
        )
        .returning(
            DeliveryRow.id,
            DeliveryRow.event_id,
            DeliveryRow.event_key,
            DeliveryRow.event_type,
            DeliveryRow.attempts,
            DeliveryRow.subscriber_id,
        )
    ).all()
    if not taken:
        return []
    # one event's payload is the same for all its rows: read it once per event (shared, read-only)
    first_of_event = {t.event_key: t.id for t in taken}
    payloads = {
        str(key): dict(payload)
        for key, payload in session.execute(
            select(DeliveryRow.event_key, DeliveryRow.payload).where(
                DeliveryRow.id.in_(list(first_of_event.values()))
            )
        )
    }
    subs = {
        row.id: row
        for row in session.execute(
            select(
                SubscriberRow.id,
                SubscriberRow.name,
                SubscriberRow.channel,
                SubscriberRow.url,
                SubscriberRow.secret,
                SubscriberRow.options,
            ).where(SubscriberRow.id.in_({t.subscriber_id for t in taken}))
        )
    }
    claimed = [
        ClaimedDelivery(
            t.id,
            t.event_id,
            t.event_type,
            payloads[t.event_key],
            t.attempts,
            subs[t.subscriber_id].name,
            subs[t.subscriber_id].channel,
            subs[t.subscriber_id].url,
            subs[t.subscriber_id].secret,
            subs[t.subscriber_id].options or {},
            t.subscriber_id,
            t.event_key,
        )
        for t in taken
    ]
    return sorted(claimed, key=lambda c: c.id)


@dataclass(frozen=True)
class AttemptRecord:
    """One finished attempt to store: ``outcome`` delivered / retry / failed."""

    delivery_id: int
    subscriber_id: int
    outcome: str
    http_status: int | None
    latency_ms: float
    error: str
    response_excerpt: str
    next_attempt_at: datetime | None = None


def record_attempts(session: Session, records: Sequence[AttemptRecord], *, now: datetime) -> None:
    """Store many attempts and move their rows on, in a few statements."""
    if not records:
        return
    session.execute(
        insert(AttemptRow.__table__),  # type: ignore[arg-type]  # Core: no ORM bookkeeping
        [
            dict(
                delivery_id=r.delivery_id,
                attempted_at=now,
                outcome=r.outcome,
                http_status=r.http_status,
                latency_ms=r.latency_ms,
                error=r.error[:2000],
                response_excerpt=r.response_excerpt[:500],
            )
            for r in records
        ],
    )
    delivered = [r for r in records if r.outcome == "delivered"]
    by_status: dict[int | None, list[int]] = {}
    for r in delivered:
        by_status.setdefault(r.http_status, []).append(r.delivery_id)
    for http_status, ids in by_status.items():
        session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(ids))
            .values(
                status="delivered",
                delivered_at=now,
                last_status=http_status,
                last_error="",
                lease_until=None,
            )
        )
    others = [r for r in records if r.outcome != "delivered"]
    if others:
        session.execute(
            update(DeliveryRow),
            [
                dict(
                    id=r.delivery_id,
                    status="pending" if r.outcome == "retry" else "failed",
                    next_attempt_at=r.next_attempt_at or now,
                    enqueued_at=None,
                    lease_until=None,
                    last_status=r.http_status,
                    last_error=r.error[:2000],
                )
                for r in others
            ],
        )


def release_deliveries(session: Session, ids: Sequence[int], *, until: datetime) -> None:
    """Give claimed rows back unsent (their attempt not counted), due again at ``until``."""
    if not ids:
        return
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(ids), DeliveryRow.status == "sending")
        .values(
            status="pending",
            lease_until=None,
            enqueued_at=None,
            next_attempt_at=until,
            attempts=DeliveryRow.attempts - 1,
        )
    )


def claim_delivery(
    session: Session, delivery_id: int, *, now: datetime, lease: float, max_attempts: int
) -> ClaimedDelivery | None:
    """Take a due delivery for sending (status → sending, lease set); None if not ours to send.

    A delivery already claimed ``max_attempts`` times is parked as failed (a message that
    keeps killing its worker, or an exhausted schedule).
    """
    due = and_(
        DeliveryRow.id == delivery_id,
        DeliveryRow.next_attempt_at <= now,
        or_(
            DeliveryRow.status == "pending",
            and_(DeliveryRow.status == "sending", DeliveryRow.lease_until < now),
        ),
    )
    parked = session.execute(
        update(DeliveryRow)
        .where(due, DeliveryRow.attempts >= max_attempts)
        .values(
            status="failed",
            lease_until=None,
            last_error=f"parked after {max_attempts} attempts without a final outcome",
        )
    )
    if rowcount(parked):
        return None
    result = session.execute(
        update(DeliveryRow)
        .where(due)
        .values(
            status="sending",
            lease_until=now + timedelta(seconds=lease),
            attempts=DeliveryRow.attempts + 1,
        )
    )
    if rowcount(result) != 1:
        return None
    found = session.execute(
        select(DeliveryRow, SubscriberRow)
        .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
        .where(DeliveryRow.id == delivery_id)
    ).one()
    row, sub = found
    if not sub.enabled or sub.suspended_at is not None:
        row.status, row.lease_until = "pending", None
        row.attempts -= 1
        return None
    return ClaimedDelivery(
        row.id,
        row.event_id,
        row.event_type,
        dict(row.payload),
        row.attempts,
        sub.name,
        sub.channel,
        sub.url,
        sub.secret,
        dict(sub.options or {}),
    )


def delivery_subscriber(session: Session, delivery_id: int) -> SubscriberRow | None:
    return session.scalar(
        select(SubscriberRow)
        .join(DeliveryRow, DeliveryRow.subscriber_id == SubscriberRow.id)
        .where(DeliveryRow.id == delivery_id)
    )


def defer_delivery(session: Session, delivery_id: int, *, until: datetime) -> None:
    """Move a waiting delivery's next attempt later without counting an attempt."""
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, DeliveryRow.status == "pending")
        .values(next_attempt_at=until, enqueued_at=None)
    )


def record_attempt(
    session: Session,
    delivery_id: int,
    *,
    now: datetime,
    outcome: str,
    http_status: int | None,
    latency_ms: float,
    error: str,
    response_excerpt: str,
    next_attempt_at: datetime | None,
) -> None:
    """Store one attempt and move the delivery on: delivered, pending (retry) or failed."""
    session.add(
        AttemptRow(
            delivery_id=delivery_id,
            attempted_at=now,
            outcome=outcome,
            http_status=http_status,
            latency_ms=latency_ms,
            error=error[:2000],
            response_excerpt=response_excerpt[:500],
        )
    )
    values: dict[str, Any] = dict(
        last_status=http_status, last_error=error[:2000], lease_until=None
    )
    if outcome == "delivered":
        values.update(status="delivered", delivered_at=now)
    elif outcome == "retry" and next_attempt_at is not None:
        values.update(status="pending", next_attempt_at=next_attempt_at, enqueued_at=None)
    else:
        values.update(status="failed")
    session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values))


def claim_due_deliveries(
    session: Session, now: datetime, *, requeue_after: float, limit: int
) -> list[int]:
    """Due deliveries not enqueued recently (or whose lease ran out); marks them enqueued now."""
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
            DeliveryRow.subscriber_id.in_(active_subscriber_ids()),
        )
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
        .limit(limit)
    )
    ids = list(session.scalars(query))
    if ids:
        session.execute(update(DeliveryRow).where(DeliveryRow.id.in_(ids)).values(enqueued_at=now))
    return ids


def delivery_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status))
    return {status: int(count) for status, count in rows}


# --- the ingest ledger (pending items) -----------------------------------------------------------


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
    session: Session, pending_id: int, *, now: datetime, lease: float, max_attempts: int
) -> PendingItemRow | None:
    """Take a waiting item for ingesting (lease set); None if it is gone or someone has it.

    An item already tried ``max_attempts`` times without an outcome (its worker died each
    time) is parked as failed instead: a poison message must not loop for ever.
    """
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
            status="failed",
            lease_until=None,
            last_error=f"parked after {max_attempts} attempts without an outcome",
        )
    )
    if rowcount(parked):
        return None
    result = session.execute(
        update(PendingItemRow)
        .where(due)
        .values(lease_until=now + timedelta(seconds=lease), attempts=PendingItemRow.attempts + 1)
    )
    if rowcount(result) != 1:
        return None
    return session.get(PendingItemRow, pending_id)


def finish_pending_item(session: Session, pending_id: int) -> None:
    session.execute(delete(PendingItemRow).where(PendingItemRow.id == pending_id))


def fail_pending_item(
    session: Session, pending_id: int, *, error: str, retry_at: datetime | None
) -> None:
    """Retry later, or (``retry_at`` None) park it as failed with the reason."""
    values: dict[str, Any] = dict(last_error=error[:2000], lease_until=None, enqueued_at=None)
    if retry_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    session.execute(update(PendingItemRow).where(PendingItemRow.id == pending_id).values(**values))


def claim_due_pending_items(
    session: Session, now: datetime, *, requeue_after: float, limit: int
) -> list[int]:
    """Waiting items not enqueued recently (or whose lease ran out); marks them enqueued now."""
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


# --- chat outbox and rate windows -----------------------------------------------------------


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


def attempts_since(session: Session, subscriber_id: int, since: datetime) -> list[datetime]:
    """When this subscriber's endpoint was sent to since ``since`` (for its rate windows)."""
    query = (
        select(AttemptRow.attempted_at)
        .join(DeliveryRow, DeliveryRow.id == AttemptRow.delivery_id)
        .where(DeliveryRow.subscriber_id == subscriber_id, AttemptRow.attempted_at >= since)
        .order_by(AttemptRow.attempted_at)
    )
    return list(session.scalars(query))


# --- inspection and replay (``herald deliveries``) ------------------------------------------


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
            delivered_at=None,
        )
    )
    return rowcount(result)
