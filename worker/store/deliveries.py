"""The delivery ledger: one row per (event, subscriber), claimed with a lease, then recorded.

A claim is a conditional UPDATE that names its holder (a lease token): only the holder renews
the lease, records an attempt or gives a row back, so a worker that lost a row (its lease ran
out and another worker took it) can no longer change it. Lease and due times come from the
database's clock (``worker.store.clock``). Each function takes a Session; the caller owns the
transaction. This module must not build, send or judge anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, Text, and_, bindparam, func, insert, literal, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from worker.store._sql import RandomHex, among, fetch_rows, insert_for
from worker.store.clock import db_now
from worker.store.tables import ATTEMPTS, DELIVERIES, EVENTS, SUBSCRIBERS, EventRow
from worker.subscriber import SubscriberOptions, options_from_json

ERROR_CHARS = 2000
EXCERPT_CHARS = 500


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
    Returns the ids of the rows created. Each row's webhook id (``msg_`` and 32 hexadecimal
    digits) is made by the database.

    The payload is stored once per event (``events``): an event seen before keeps the payload
    it was first stored with. ``due`` holds the first attempt back (quiet hours); by default it
    is ``now``.
    """
    if not subscriber_ids:
        return []
    event_ref = store_event(session, event_key, event_type, payload, now)
    columns = (
        "event_id", "event_key", "event_type", "event_ref", "subscriber_id", "article_id",
        "status", "attempts", "next_attempt_at", "enqueued_at", "last_error", "created_at",
    )  # fmt: skip
    c = DELIVERIES.c
    values = select(  # one statement, run inside the engine (``worker.store._sql``)
        literal("msg_", String) + RandomHex(), literal(event_key, c.event_key.type),
        literal(event_type, c.event_type.type), literal(event_ref, c.event_ref.type),
        SUBSCRIBERS.c.id, literal(article_id, c.article_id.type), literal("pending", c.status.type),
        literal(0, c.attempts.type), literal(due or now, c.next_attempt_at.type),
        literal(now if due is None else None, c.enqueued_at.type), literal("", c.last_error.type),
        literal(now, c.created_at.type),
    ).where(among(session, SUBSCRIBERS.c.id, subscriber_ids))  # fmt: skip
    session.execute(
        insert_for(session)(DELIVERIES)
        .from_select(columns, values)
        .on_conflict_do_nothing(index_elements=["subscriber_id", "event_key"])
    )
    ours = among(session, c.subscriber_id, subscriber_ids)
    created = select(c.id).where(c.event_ref == event_ref, c.created_at == now, ours)
    return sorted(int(row_id) for (row_id,) in fetch_rows(session, created))


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
    status = func.coalesce(DELIVERIES.c.status, "")
    return and_(
        DELIVERIES.c.next_attempt_at <= now,
        or_(status == "pending", and_(status == "sending", DELIVERIES.c.lease_until < now)),
    )


def to_active_subscriber() -> Any:
    """The row's subscriber may be sent to: enabled in the config and not suspended by the
    breaker. Correlated, so each row looks up its own subscriber by key (an ``IN (SELECT …)``
    read all 100,000 subscribers for every batch claimed)."""
    return (
        select(SUBSCRIBERS.c.id)
        .where(
            SUBSCRIBERS.c.id == DELIVERIES.c.subscriber_id,
            SUBSCRIBERS.c.enabled.is_(True),
            SUBSCRIBERS.c.suspended_at.is_(None),
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
        update(DELIVERIES)
        .where(among(session, DELIVERIES.c.id, ids), _due(now))
        .where(DELIVERIES.c.attempts >= max_attempts)
        .values(
            status="failed", lease_until=None, lease_token=None,
            last_error=f"parked after {max_attempts} attempts without a final outcome",
        )
    )  # fmt: skip
    session.execute(
        update(DELIVERIES)
        .where(among(session, DELIVERIES.c.id, ids), _due(now), to_active_subscriber())
        .values(
            status="sending",
            lease_until=now + timedelta(seconds=lease),
            lease_token=token,
            attempts=DELIVERIES.c.attempts + 1,
        )
    )  # fmt: skip
    taken = fetch_rows(  # read apart from the UPDATE, in one step (``worker.store._sql``)
        session,
        select(
            DELIVERIES.c.id, DELIVERIES.c.event_id, DELIVERIES.c.event_key, DELIVERIES.c.event_type,
            DELIVERIES.c.attempts, DELIVERIES.c.subscriber_id, DELIVERIES.c.event_ref,
        ).where(among(session, DELIVERIES.c.id, ids), DELIVERIES.c.lease_token == token),
    )  # fmt: skip
    if not taken:
        return now, []
    # read once per event and shared by its rows (read-only)
    payloads = {
        int(ref): dict(payload)
        for ref, payload in session.execute(
            select(EVENTS.c.id, EVENTS.c.payload).where(EVENTS.c.id.in_({t[6] for t in taken}))
        )
    }
    subs = {
        row[0]: row
        for row in fetch_rows(
            session,
            select(
                SUBSCRIBERS.c.id, SUBSCRIBERS.c.name, SUBSCRIBERS.c.channel, SUBSCRIBERS.c.url,
                SUBSCRIBERS.c.secret, sql_cast(SUBSCRIBERS.c.options, Text).label("options"),
            ).where(among(session, SUBSCRIBERS.c.id, {t[5] for t in taken})),
        )
    }  # fmt: skip
    claimed = []
    for row_id, event_id, event_key, event_type, attempts, sub_id, event_ref in taken:
        _, name, channel, url, secret, options = subs[sub_id]
        claimed.append(
            ClaimedDelivery(
                row_id, event_id, event_type, payloads[event_ref], attempts, name, channel, url,
                secret, options_from_json(options), sub_id, event_key,
            )
        )  # fmt: skip
    return now, sorted(claimed, key=lambda c: c.id)


def renew_leases(session: Session, token: str, *, lease: float) -> set[int]:
    """Extend the lease of every row ``token`` still holds; returns their ids (rows missing from
    the answer were recorded, given back, are being written right now, or were lost to another
    worker). Rows another transaction has locked are skipped rather than waited for, so a
    renewal never deadlocks with the batch's own recording."""
    now = db_now(session)
    held = (
        select(DELIVERIES.c.id)
        .where(DELIVERIES.c.status == "sending", DELIVERIES.c.lease_token == token)
        .with_for_update(skip_locked=True)  # a row being recorded is not waited for (PostgreSQL)
    )
    renewed = session.scalars(
        update(DELIVERIES)
        .where(DELIVERIES.c.id.in_(held.scalar_subquery()))
        .values(lease_until=now + timedelta(seconds=lease))
        .returning(DELIVERIES.c.id)
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
        update(DELIVERIES)
        .where(
            DELIVERIES.c.id == bindparam("row_id"),
            DELIVERIES.c.status == "sending",
            DELIVERIES.c.lease_token == token,
        )
        .values(
            status="pending", lease_until=None, lease_token=None, enqueued_at=None,
            next_attempt_at=bindparam("due", type_=DELIVERIES.c.next_attempt_at.type),
            attempts=DELIVERIES.c.attempts - 1,
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
        insert(ATTEMPTS),
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
            update(DELIVERIES)
            .where(among(session, DELIVERIES.c.id, ids), DELIVERIES.c.lease_token == token)
            .values(
                status="delivered", delivered_at=now, last_status=http_status, last_error="",
                lease_until=None, lease_token=None,
            )
        )  # fmt: skip
    others = [r for r in records if r.outcome != "delivered"]
    if others:
        statement = (
            update(DELIVERIES)
            .where(DELIVERIES.c.id == bindparam("row_id"), DELIVERIES.c.lease_token == token)
            .values(
                status=bindparam("new_status"),
                next_attempt_at=bindparam("due", type_=DELIVERIES.c.next_attempt_at.type),
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
