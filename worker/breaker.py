"""The circuit breaker: a subscriber whose every attempt fails for too long is suspended.

After each batch of attempts, a subscriber with a delivered attempt is healthy again; one whose
attempts all failed is marked failing (since the first such attempt). Once it has been failing
for ``[delivery] breaker_after`` (default 24 h), or at once when its endpoint answers 410 Gone,
it is suspended: nothing more is sent, its pending messages are kept, and an ops alert goes to
the log, the ``breaker.opened`` counter and every subscriber with ``ops_alerts = true``.
``herald subscribers enable NAME`` resumes it and its kept messages go out in order.
It must not send anything itself (the alert is a ledger row like any other).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from worker.redact import redact_text
from worker.runtime import Runtime
from worker.store.counters import bump_counter
from worker.store.deliveries import ClaimedDelivery, create_deliveries
from worker.store.subscribers import mark_health, ops_alert_subscribers, suspend_subscriber

log = logging.getLogger(__name__)

EVENT_SUSPENDED = "subscriber.suspended"
BREAKER_OPENED = "breaker.opened"


def note_outcomes(
    rt: Runtime, session: Session, attempts: Sequence[tuple[ClaimedDelivery, Any]], *, now: datetime
) -> list[str]:
    """Update the breaker from ``(claimed, record)`` pairs; returns the subscribers suspended."""
    healthy: set[int] = set()
    failing: dict[int, tuple[ClaimedDelivery, Any]] = {}
    gone: dict[int, tuple[ClaimedDelivery, Any]] = {}
    for claimed, record in attempts:
        if claimed.event_type == EVENT_SUSPENDED:
            continue  # an alert about a breaker must not trip another one
        if record.outcome == "delivered":
            healthy.add(claimed.subscriber_id)
        elif record.http_status == 410:
            gone[claimed.subscriber_id] = (claimed, record)
        else:
            failing[claimed.subscriber_id] = (claimed, record)
    for subscriber_id in healthy:
        failing.pop(subscriber_id, None)
    mark_health(session, healthy, [*failing, *gone], now)
    cutoff = now - timedelta(seconds=rt.config.delivery.breaker_after)
    suspended: list[str] = []
    for subscriber_id, (claimed, record) in {**failing, **gone}.items():
        reason = _reason(subscriber_id in gone, record.error, rt.config.delivery.breaker_after)
        before = None if subscriber_id in gone else cutoff
        result = suspend_subscriber(session, subscriber_id, reason, now, failing_before=before)
        if result is not None:
            suspended.append(result)
            _alert(session, claimed, reason, now)
    return suspended


def _reason(gone: bool, error: str, after: float) -> str:
    error = redact_text(error)  # recorded redacted already; an alert leaves the process
    if gone:
        return f"endpoint gone (HTTP 410): {error}"[:500]
    return f"every attempt failed for {after / 3600:g} h; last: {error}"[:500]


def _alert(session: Session, claimed: ClaimedDelivery, reason: str, now: datetime) -> None:
    bump_counter(session, BREAKER_OPENED)
    log.error(
        "breaker: subscriber %s suspended: %s (its pending messages are kept; "
        "`herald subscribers enable %s` resumes it)",
        claimed.subscriber_name, reason, claimed.subscriber_name,
        extra={"subscriber": claimed.subscriber_name},
    )  # fmt: skip
    targets = [s.id for s in ops_alert_subscribers(session) if s.id != claimed.subscriber_id]
    create_deliveries(
        session,
        event_key=f"{EVENT_SUSPENDED}:{claimed.subscriber_id}:{now.isoformat()}",
        event_type=EVENT_SUSPENDED,
        payload={
            "subscriber": claimed.subscriber_name,
            "reason": reason,
            "suspended_at": now.isoformat(),
        },
        subscriber_ids=targets,
        article_id=None,
        now=now,
        due=now,  # not enqueued here: the next sweep sends it
    )
