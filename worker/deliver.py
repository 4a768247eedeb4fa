"""Stage: deliver ledger rows — claim, build, send, record the attempt, schedule a retry.

The ledger row is claimed (status ``sending`` with a lease) before sending, so two workers never
send the same row at once; a worker that dies mid-send leaves a lease that runs out and the sweep
sends it again with the same ``webhook-id``. It must not decide who gets what (``ingest`` does).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from worker.backoff import DELIVERY_SCHEDULE, delivery_retry_delay
from worker.notify import Outcome, Target, get_notifier
from worker.ratelimit import RATE_LIMITS, longest_window, wait_before_send
from worker.runtime import Runtime
from worker.store.ledger import (
    ClaimedDelivery,
    attempts_since,
    claim_delivery,
    defer_delivery,
    delivery_subscriber,
    record_attempt,
)
from worker.store.tables import SubscriberRow

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
SEND_TIMEOUT = 15.0
MAX_CLAIMS = len(DELIVERY_SCHEDULE) + 3  # the schedule, plus claims lost to dead workers


@dataclass(frozen=True)
class Sent:
    """What became of one delivery: delivered / retry / failed / skipped."""

    status: str
    subscriber: str = ""
    retry_at: datetime | None = None


def deliver_one(
    rt: Runtime,
    delivery_id: int,
    *,
    clock: Callable[[], datetime] | None = None,
    waiting: Mapping[str, datetime] | None = None,
) -> Sent:
    """Send one due delivery and record the attempt. Never raises on I/O.

    It is deferred instead when its endpoint is in ``waiting`` (it asked for a retry earlier in
    the batch) or when sending now would overflow the platform's rate windows.
    """
    now_fn = clock or (lambda: datetime.now(UTC))
    with rt.session() as session:
        subscriber = delivery_subscriber(session, delivery_id)
        if subscriber is not None:
            until = (waiting or {}).get(subscriber.name) or rate_wait(
                session, subscriber, now_fn()
            )
            if until is not None:
                defer_delivery(session, delivery_id, until=until)
                return Sent("deferred", subscriber.name, until)
        claimed = claim_delivery(
            session, delivery_id, now=now_fn(), lease=LEASE_SECONDS, max_attempts=MAX_CLAIMS
        )
    if claimed is None:
        return Sent("skipped")
    target = Target(
        claimed.subscriber_name, claimed.channel, claimed.url, claimed.secret,
        str(claimed.options.get("chat_id", "")), claimed.options,
    )  # fmt: skip
    try:
        notifier = get_notifier(claimed.channel)
        request = notifier.build(
            target, claimed.event_type, claimed.event_id, claimed.payload, now=now_fn()
        )
        outcome = notifier.send(rt.http, request, timeout=SEND_TIMEOUT)
    except ValueError as err:  # a configuration problem: retrying cannot help
        outcome = Outcome("failed", None, None, 0.0, "", str(err))
    retry_at = _record(rt, claimed, outcome, now_fn())
    if retry_at is not None:
        return Sent("retry", claimed.subscriber_name, retry_at)
    final = "delivered" if outcome.status == "delivered" else "failed"
    return Sent(final, claimed.subscriber_name)


def rate_wait(session: Session, subscriber: SubscriberRow, now: datetime) -> datetime | None:
    """When the endpoint may be sent to, if sending now would overflow its rate windows."""
    if subscriber.channel not in RATE_LIMITS:
        return None
    since = now - timedelta(seconds=longest_window(subscriber.channel))
    recent = attempts_since(session, subscriber.id, since)
    wait = wait_before_send(subscriber.channel, recent, now)
    return now + timedelta(seconds=wait) if wait > 0 else None


def _record(
    rt: Runtime, claimed: ClaimedDelivery, outcome: Outcome, now: datetime
) -> datetime | None:
    """Store the attempt; returns when the next attempt is due (None: delivered or failed)."""
    status, next_at = outcome.status, None
    if status == "retry":
        delay = delivery_retry_delay(claimed.attempts, outcome.retry_after)
        if delay is None:
            status = "failed"
        else:
            next_at = now + timedelta(seconds=delay)
    with rt.session() as session:
        record_attempt(
            session,
            claimed.id,
            now=now,
            outcome=status,
            http_status=outcome.http_status,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
            response_excerpt=outcome.response_excerpt,
            next_attempt_at=next_at,
        )
    if status != "delivered":
        log.warning(
            "deliver: %s (%s), attempt %d",
            status,
            outcome.error,
            claimed.attempts,
            extra={"delivery_id": claimed.id, "subscriber": claimed.subscriber_name},
        )
    return next_at


def deliver_batch(rt: Runtime, delivery_ids: Sequence[int]) -> dict[str, int]:
    """Deliver several rows in order; returns how many ended in each state.

    Once an endpoint asks for a retry (down, slow, rate-limited), its other rows in the batch
    are deferred to the same time instead of each waiting for it in turn.
    """
    counts: Counter[str] = Counter()
    waiting: dict[str, datetime] = {}  # subscriber → when it may be tried again
    for delivery_id in delivery_ids:
        sent = deliver_one(rt, delivery_id, waiting=waiting)
        if sent.retry_at is not None:
            waiting[sent.subscriber] = sent.retry_at
        counts[sent.status] += 1
    return dict(counts)
