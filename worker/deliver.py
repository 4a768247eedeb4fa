"""Stage: deliver ledger rows — claim, build, send, record the attempt, schedule a retry.

The ledger row is claimed (status ``sending`` with a lease) before sending, so two workers never
send the same row at once; a worker that dies mid-send leaves a lease that runs out and the sweep
sends it again with the same ``webhook-id``. It must not decide who gets what (``ingest`` does).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from worker.backoff import DELIVERY_SCHEDULE, delivery_retry_delay
from worker.notify import Outcome, Target, get_notifier
from worker.runtime import Runtime
from worker.store import queries

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
SEND_TIMEOUT = 15.0
MAX_CLAIMS = len(DELIVERY_SCHEDULE) + 3  # the schedule, plus claims lost to dead workers


def deliver_one(
    rt: Runtime, delivery_id: int, *, clock: Callable[[], datetime] | None = None
) -> str:
    """Send one due delivery; returns delivered / retry / failed / skipped. Never raises on I/O."""
    now_fn = clock or (lambda: datetime.now(UTC))
    with rt.session() as session:
        claimed = queries.claim_delivery(
            session, delivery_id, now=now_fn(), lease=LEASE_SECONDS, max_attempts=MAX_CLAIMS
        )
    if claimed is None:
        return "skipped"
    target = Target(claimed.subscriber_name, claimed.channel, claimed.url, claimed.secret)
    try:
        notifier = get_notifier(claimed.channel)
        request = notifier.build(
            target, claimed.event_type, claimed.event_id, claimed.payload, now=now_fn()
        )
        outcome = notifier.send(rt.http, request, timeout=SEND_TIMEOUT)
    except ValueError as err:  # a configuration problem: retrying cannot help
        outcome = Outcome("failed", None, None, 0.0, "", str(err))
    _record(rt, claimed, outcome, now_fn())
    return outcome.status


def _record(rt: Runtime, claimed: queries.ClaimedDelivery, outcome: Outcome, now: datetime) -> None:
    status, next_at = outcome.status, None
    if status == "retry":
        delay = delivery_retry_delay(claimed.attempts, outcome.retry_after)
        if delay is None:
            status = "failed"
        else:
            next_at = now + timedelta(seconds=delay)
    with rt.session() as session:
        queries.record_attempt(
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


def deliver_batch(rt: Runtime, delivery_ids: Sequence[int]) -> dict[str, int]:
    """Deliver several rows in order; returns how many ended in each state."""
    return dict(Counter(deliver_one(rt, delivery_id) for delivery_id in delivery_ids))
