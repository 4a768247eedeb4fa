"""Subscriber queries the stages share: who follows a source, who was told of an article, who
gets operators' alerts, and the circuit breaker's marks (failing, suspended, resumed).

Each function takes a Session; the caller owns the transaction. Subscribers are created by
``worker.store.sources.sync_config`` from the config file; this module changes only the
breaker's columns (and, on resume, makes the subscriber's kept deliveries due).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Text, select, true, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from worker.store.tables import SUBSCRIBERS, DeliveryRow, EventRow, OutboxRow, SubscriberRow
from worker.subscriber import SubscriberOptions, options_from_json

FOLLOWERS_PER_READ = 2000


def ops_alert_subscribers(session: Session) -> list[SubscriberRow]:
    return list(
        session.scalars(
            select(SubscriberRow).where(
                SubscriberRow.enabled.is_(True), SubscriberRow.ops_alerts.is_(True)
            )
        )
    )


@dataclass(frozen=True)
class Follower:
    """A subscriber as a fan-out needs it (not an ORM object: there may be ten thousand)."""

    id: int
    channel: str
    mode: str
    options: SubscriberOptions


def source_subscribers(session: Session, source_name: str) -> Iterator[Follower]:
    """Enabled subscribers (any mode) who follow ``source_name`` (or every source), read a few
    thousand at a time: a fan-out to 100,000 holds its ids, not 100,000 subscribers. The
    JSON columns are read as text and parsed once per distinct value (subscribers share a few
    option sets), so the options of followers alike are one object."""
    rows = session.execute(
        select(
            SUBSCRIBERS.c.id, SUBSCRIBERS.c.channel, SUBSCRIBERS.c.mode,
            sql_cast(SUBSCRIBERS.c.sources, Text), sql_cast(SUBSCRIBERS.c.options, Text),
        ).where(SUBSCRIBERS.c.enabled.is_(True)).execution_options(yield_per=FOLLOWERS_PER_READ)
    )  # fmt: skip
    for sub_id, channel, mode, sources, options in rows:
        followed = _sources_from_json(sources)
        if not followed or source_name in followed:
            yield Follower(sub_id, channel, mode, options_from_json(options))


@lru_cache(maxsize=1024)
def _sources_from_json(text: str | None) -> frozenset[str]:
    return frozenset(str(name) for name in json.loads(text) or ()) if text else frozenset()


def told_of_article(session: Session, article_id: int, created_key: str) -> set[int]:
    """The subscribers an article was announced to one by one: a ledger row of its creation
    event (``created_key``) or a chat outbox row, both read by index."""
    event = select(EventRow.id).where(EventRow.event_key == created_key).scalar_subquery()
    by_ledger = select(DeliveryRow.subscriber_id).where(DeliveryRow.event_ref == event)
    by_chat = select(OutboxRow.subscriber_id).where(OutboxRow.article_id == article_id)
    return set(session.scalars(by_ledger.union(by_chat)))


def subscriber_by_name(session: Session, name: str) -> SubscriberRow | None:
    return session.scalar(select(SubscriberRow).where(SubscriberRow.name == name))


def subscriber_by_id(session: Session, subscriber_id: int) -> SubscriberRow | None:
    return session.get(SubscriberRow, subscriber_id)


def suspended_subscribers(session: Session) -> dict[str, str]:
    """Subscribers the circuit breaker suspended: name → reason."""
    rows = session.scalars(select(SubscriberRow).where(SubscriberRow.suspended_at.is_not(None)))
    return {row.name: row.disabled_reason for row in rows}


def mark_health(
    session: Session, healthy: Iterable[int], failing: Iterable[int], now: datetime
) -> None:
    """Healthy subscribers stop failing; failing ones are marked so since ``now`` (if not yet)."""
    healthy, failing = list(healthy), list(failing)
    if healthy:  # after every chunk of replies: Core, no ORM compile
        session.execute(
            update(SUBSCRIBERS)
            .where(SUBSCRIBERS.c.id.in_(healthy), SUBSCRIBERS.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
    if failing:
        session.execute(
            update(SUBSCRIBERS)
            .where(SUBSCRIBERS.c.id.in_(failing), SUBSCRIBERS.c.failing_since.is_(None))
            .values(failing_since=now)
        )


def suspend_subscriber(
    session: Session,
    subscriber_id: int,
    reason: str,
    now: datetime,
    *,
    failing_before: datetime | None,
) -> str | None:
    """Suspend a subscriber not yet suspended (only if failing since ``failing_before``, when
    given); returns its name when this call suspended it."""
    condition = (
        SubscriberRow.failing_since <= failing_before if failing_before is not None else true()
    )
    name: str | None = session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.id == subscriber_id, SubscriberRow.suspended_at.is_(None), condition)
        .values(suspended_at=now, disabled_reason=reason)
        .returning(SubscriberRow.name)
    ).scalar()
    return name


def resume_subscriber(session: Session, name: str, now: datetime) -> list[int] | None:
    """Lift a suspension: the subscriber's kept rows become due now. Returns their ids in order;
    None when there is no such subscriber."""
    row = subscriber_by_name(session, name)
    if row is None:
        return None
    row.suspended_at, row.failing_since, row.disabled_reason = None, None, ""
    kept = session.scalars(
        update(DeliveryRow)
        .where(DeliveryRow.subscriber_id == row.id, DeliveryRow.status == "pending")
        .values(next_attempt_at=now, enqueued_at=None)
        .returning(DeliveryRow.id)
    )
    return sorted(int(i) for i in kept)
