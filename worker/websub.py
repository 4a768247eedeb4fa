"""Stage: queue a WebSub publish ping for every feed file a build changed.

Each changed feed URL becomes one row of the delivery ledger for the hub's internal subscriber
(``[feeds] websub_hub``), due at once and handed out by the next sweep, so a hub that is down is
retried on the delivery schedule and never holds up a feed build. It must not send anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from worker.feeds import build_feed_url, split_feed_name
from worker.notify.websub import EVENT_FEED_UPDATED
from worker.runtime import Runtime
from worker.store.counters import FEEDS_GENERATION, get_counter
from worker.store.deliveries import create_deliveries
from worker.store.sources import hub_subscriber_id


def changed_feed_urls(paths: Sequence[Path], feeds_dir: Path, base_url: str) -> list[str]:
    """The public URLs of the feed files in ``paths`` (other files are left out)."""
    urls = []
    for path in paths:
        found = split_feed_name(path.relative_to(feeds_dir).as_posix())
        if found is not None:
            urls.append(build_feed_url(base_url, *found))
    return urls


def queue_pings(rt: Runtime, changed: Sequence[Path], *, now: datetime | None = None) -> list[int]:
    """Ledger rows pinging the hub about each changed feed; [] without a hub or changes."""
    config = rt.config
    if not config.feeds.websub_hub or not changed:
        return []
    urls = changed_feed_urls(changed, config.herald.feeds_dir, config.herald.base_url)
    now = now or datetime.now(UTC)
    created: list[int] = []
    with rt.session() as session:
        hub = hub_subscriber_id(session)
        if hub is None:
            return []
        generation = get_counter(session, FEEDS_GENERATION)
        for url in urls:
            digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:40]
            created += create_deliveries(
                session,
                event_key=f"websub:{generation}:{digest}",
                event_type=EVENT_FEED_UPDATED,
                payload={"url": url},
                subscriber_ids=[hub],
                article_id=None,
                now=now,
                due=now,  # not enqueued here: the sweep hands the rows out
            )
    return created
