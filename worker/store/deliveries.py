"""The delivery ledger: one row per (event, subscriber), claimed with a lease, then recorded.

A claim is a conditional UPDATE that names its holder (a lease token): only the holder renews
the lease, records an attempt or gives a row back, so a worker that lost a row (its lease ran
out and another worker took it) can no longer change it. Lease and due times come from the
database's clock (``worker.store.clock``). Each function takes a Session; the caller owns the
transaction. This module must not build, send or judge anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from worker.store._sql import insert_for
from worker.store.clock import db_now
from worker.store.tables import AttemptRow, DeliveryRow, EventRow, SubscriberRow
from worker.subscriber import SubscriberOptions

ERROR_CHARS = 2000
TABLE = cast(Table, DeliveryRow.__table__)  # for Core statements
EXCERPT_CHARS = 500


def new_event_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


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

    The payload is stored once per event (``events``): an event seen before keeps the payload
    it was first stored with. ``due`` holds the first attempt back (quiet hours); by default it
    is ``now``.
    """
    if not subscriber_ids:
        return []
    event_ref = store_event(session, event_key, event_type, payload, now)
    rows = [
        dict(
            event_id=new_event_id(),
            event_key=event_key,
            event_type=event_type,
            event_ref=event_ref,
            subscriber_id=sub_id,
            article_id=article_id,
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


def store_event(
    session: Session, event_key: str, event_type: str, payload: dict[str, Any], now: datetime
) -> int:
    """The id of the event ``event_key``, stored now unless it already is."""
    statement = (
        insert_for(session)(EventRow.__table__)
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(EventRow.id)
    )
    values = dict(event_key=event_key, event_type=event_type, payload=payload, created_at=now)
    created = session.scalar(statement, values)
    if created is not None:
        return int(created)
    return int(session.scalars(select(EventRow.id).where(EventRow.event_key == event_key)).one())


# --- claiming --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedDelivery:
    """A row taken for sending, with what sending it needs (the payload is shared per event)."""

    id: int
    event_id: str
    event_type: str
    payload: dict[str, Any]
    attempts: int
    subscriber_name: str
    channel: str
    url: str
    secret: str
    options: SubscriberOptions
    subscriber_id: int
    event_key: str


def _due(now: datetime) -> Any:
    """Due, for a claim that finds its rows by id. The status is read through ``coalesce`` so
    that it cannot steer the planner to the status index: without statistics SQLite takes an
    equality on an index for about ten rows, and scanned every pending row for each batch
    claimed (30 ms per 500 rows at 100,000 pending, instead of 2 ms by key)."""
    status = func.coalesce(DeliveryRow.status, "")
    return and_(
        DeliveryRow.next_attempt_at <= now,
        or_(status == "pending", and_(status == "sending", DeliveryRow.lease_until < now)),
    )


def to_active_subscriber() -> Any:
    """The row's subscriber may be sent to: enabled in the config and not suspended by the
    breaker. Correlated, so each row looks up its own subscriber by key (an ``IN (SELECT …)``
    read all 100,000 subscribers for every batch claimed)."""
    return (
        select(SubscriberRow.id)
        .where(
            SubscriberRow.id == DeliveryRow.subscriber_id,
            SubscriberRow.enabled.is_(True),
            SubscriberRow.suspended_at.is_(None),
        )
        .exists()
    )


def claim_deliveries(
    session: Session, ids: Sequence[int], *, lease: float, token: str, max_attempts: int
) -> tuple[datetime, list[ClaimedDelivery]]:
    """Take every due row of ``ids`` whose subscriber is active (one UPDATE … RETURNING), leased
    to ``token`` for ``lease`` seconds; returns the database's time and the rows, in id order.

    Rows already claimed ``max_attempts`` times are parked as failed instead.
    """
    now = db_now(session)
    if not ids:
        return now, []
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(ids), _due(now), DeliveryRow.attempts >= max_attempts)
        .values(
            status="failed", lease_until=None, lease_token=None,
            last_error=f"parked after {max_attempts} attempts without a final outcome",
        )
    )  # fmt: skip
    taken = session.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.id.in_(ids),
            _due(now),
            to_active_subscriber(),
        )
        .values(
            status="sending",
            lease_until=now + timedelta(seconds=lease),
            lease_token=token,
            attempts=DeliveryRow.attempts + 1,
        )
        .returning(
            DeliveryRow.id, DeliveryRow.event_id, DeliveryRow.event_key, DeliveryRow.event_type,
            DeliveryRow.attempts, DeliveryRow.subscriber_id, DeliveryRow.event_ref,
        )
    ).all()  # fmt: skip
    if not taken:
        return now, []
    # read once per event and shared by its rows (read-only)
    payloads = {
        int(ref): dict(payload)
        for ref, payload in session.execute(
            select(EventRow.id, EventRow.payload).where(
                EventRow.id.in_({t.event_ref for t in taken})
            )
        )
    }
    subs = {
        row.id: row
        for row in session.execute(
            select(
                SubscriberRow.id, SubscriberRow.name, SubscriberRow.channel, SubscriberRow.url,
                SubscriberRow.secret, SubscriberRow.options,
            ).where(SubscriberRow.id.in_({t.subscriber_id for t in taken}))
        )
    }  # fmt: skip
    options = {i: SubscriberOptions.from_stored(row.options) for i, row in subs.items()}
    claimed = [
        ClaimedDelivery(
            t.id, t.event_id, t.event_type, payloads[t.event_ref], t.attempts,
            subs[t.subscriber_id].name, subs[t.subscriber_id].channel,
            subs[t.subscriber_id].url, subs[t.subscriber_id].secret,
            options[t.subscriber_id], t.subscriber_id, t.event_key,
        )
        for t in taken
    ]  # fmt: skip
    return now, sorted(claimed, key=lambda c: c.id)


def renew_leases(session: Session, token: str, *, lease: float) -> set[int]:
    """Extend the lease of every row ``token`` still holds; returns their ids (rows missing from
    the answer were recorded, given back, are being written right now, or were lost to another
    worker). Rows another transaction has locked are skipped rather than waited for, so a
    renewal never deadlocks with the batch's own recording."""
    now = db_now(session)
    held = (
        select(DeliveryRow.id)
        .where(DeliveryRow.status == "sending", DeliveryRow.lease_token == token)
        .with_for_update(skip_locked=True)  # a row being recorded is not waited for (PostgreSQL)
    )
    renewed = session.scalars(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(held.scalar_subquery()))
        .values(lease_until=now + timedelta(seconds=lease))
        .returning(DeliveryRow.id)
    )
    return {int(i) for i in renewed}


def release_deliveries(session: Session, token: str, waits: Iterable[tuple[int, float]]) -> None:
    """Give rows back unsent (their claim not counted), each due again after its wait in seconds.

    Only rows still held by ``token`` move."""
    waits = list(waits)
    if not waits:
        return
    now = db_now(session)
    statement = (
        update(TABLE)
        .where(
            TABLE.c.id == bindparam("row_id"),
            TABLE.c.status == "sending",
            TABLE.c.lease_token == token,
        )
        .values(
            status="pending", lease_until=None, lease_token=None, enqueued_at=None,
            next_attempt_at=bindparam("due", type_=TABLE.c.next_attempt_at.type),
            attempts=TABLE.c.attempts - 1,
        )
    )  # fmt: skip
    session.execute(statement, [dict(row_id=i, due=now + timedelta(seconds=w)) for i, w in waits])


# --- recording -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptRecord:
    """One finished attempt to store: ``outcome`` delivered / retry / failed; a retry is due
    again ``retry_in`` seconds after it is recorded."""

    delivery_id: int
    subscriber_id: int
    outcome: str
    http_status: int | None
    latency_ms: float
    error: str
    response_excerpt: str
    retry_in: float | None = None


def record_attempts(session: Session, records: Sequence[AttemptRecord], *, token: str) -> datetime:
    """Store attempts and move their rows on, in a few statements; returns the database's time.

    Every attempt is kept (it happened); a row moves only while ``token`` still holds it.
    """
    now = db_now(session)
    if not records:
        return now
    session.execute(
        insert(AttemptRow.__table__),  # type: ignore[arg-type]  # Core: no ORM bookkeeping
        [
            dict(
                delivery_id=r.delivery_id, attempted_at=now, outcome=r.outcome,
                http_status=r.http_status, latency_ms=r.latency_ms, error=r.error[:ERROR_CHARS],
                response_excerpt=r.response_excerpt[:EXCERPT_CHARS],
            )
            for r in records
        ],
    )  # fmt: skip
    by_status: dict[int | None, list[int]] = {}
    for r in records:
        if r.outcome == "delivered":
            by_status.setdefault(r.http_status, []).append(r.delivery_id)
    for http_status, ids in by_status.items():
        session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(ids), DeliveryRow.lease_token == token)
            .values(
                status="delivered", delivered_at=now, last_status=http_status, last_error="",
                lease_until=None, lease_token=None,
            )
        )  # fmt: skip
    others = [r for r in records if r.outcome != "delivered"]
    if others:
        statement = (
            update(TABLE)
            .where(TABLE.c.id == bindparam("row_id"), TABLE.c.lease_token == token)
            .values(
                status=bindparam("new_status"),
                next_attempt_at=bindparam("due", type_=TABLE.c.next_attempt_at.type),
                enqueued_at=None, lease_until=None, lease_token=None,
                last_status=bindparam("http"), last_error=bindparam("error"),
            )
        )  # fmt: skip
        session.execute(
            statement,
            [
                dict(
                    row_id=r.delivery_id,
                    new_status="pending" if r.outcome == "retry" else "failed",
                    due=now + timedelta(seconds=r.retry_in or 0.0),
                    http=r.http_status,
                    error=r.error[:ERROR_CHARS],
                )
                for r in others
            ],
        )
    return now


# --- the sweep and counts --------------------------------------------------------------------


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
        session.execute(update(DeliveryRow).where(DeliveryRow.id.in_(ids)).values(enqueued_at=now))
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
