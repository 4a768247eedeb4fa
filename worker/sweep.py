"""Stage: find the work that is due according to the database (the source of truth).

Due sources, waiting ingest items, due or stranded deliveries, stale feeds, waiting chat outboxes
and due digests. Each claim is written before anything is enqueued, so losing every broker
message loses nothing: the next sweep finds the same rows again. It must not do the work itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from worker.runtime import Runtime
from worker.schedule import held_until
from worker.store.counters import FEEDS_BUILT, FEEDS_GENERATION, get_counter
from worker.store.digests import due_digest_subscribers
from worker.store.due import claim_due_deliveries
from worker.store.outbox import outbox_subscribers
from worker.store.pending import claim_due_pending_items
from worker.store.sources import claim_due_sources
from worker.subscriber import SubscriberOptions

BATCH_LIMIT = 5000


@dataclass(frozen=True)
class DueWork:
    sources: list[tuple[int, float]] = field(default_factory=list)  # (id, seconds to its poll)
    pending_items: list[int] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)
    feeds_stale: bool = False
    outbox_waiting: bool = False
    digests_due: bool = False


def find_due_work(
    rt: Runtime,
    *,
    now: datetime | None = None,
    force_sources: bool = False,
    ahead: bool = True,
) -> DueWork:
    """What is due now; with ``ahead``, also the polls due before the next sweep, each with
    its wait (an eager pass, which cannot wait, takes only what is due now)."""
    now = now or datetime.now(UTC)
    intervals = {s.name: s.interval for s in rt.config.sources if s.enabled}
    with rt.session() as session:
        sources = claim_due_sources(
            session, now, intervals, force=force_sources,
            within=rt.config.herald.sweep_interval if ahead else 0.0,
        )  # fmt: skip
        pending = claim_due_pending_items(
            session, requeue_after=rt.config.delivery.requeue_after, limit=BATCH_LIMIT
        )
        deliveries = claim_due_deliveries(
            session, requeue_after=rt.config.delivery.requeue_after, limit=BATCH_LIMIT
        )
        stale = get_counter(session, FEEDS_GENERATION) != get_counter(session, FEEDS_BUILT)
        waiting = any(
            held_until(SubscriberOptions.from_stored(s.options), now) is None
            for s in outbox_subscribers(session)
        )
        digests_due = bool(due_digest_subscribers(session, now))
    return DueWork(
        [(s.id, delay) for s, delay in sources], pending, deliveries, stale, waiting, digests_due
    )
