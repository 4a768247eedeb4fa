"""Pacing a batch: the platforms' send-rate windows and the operators' token buckets.

A chat platform's windows ("20 per minute") are counted from the ledger's attempt log, which
every worker shares through the database: ``plan_sends`` gives each row of a batch the moment it
may go (a short wait is kept inside the batch, on the endpoint's single lane) or, when that is
too far off, the wait after which it is given back to the ledger. A subscriber's own
``rate_limit`` is a token bucket (``worker.ratebucket``). Pure apart from the bucket; it must
not send, build or store anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from worker.notify import RateWindows
from worker.ratebucket import Bucket, parse_rate
from worker.store.deliveries import ClaimedDelivery

IN_BATCH_WAIT = 10.0  # seconds a row may wait on its lane for a rate window; longer: given back


def longest_window(windows: RateWindows) -> float:
    return max((seconds for _, seconds in windows), default=0.0)


def wait_before_send(windows: RateWindows, sent_at: Sequence[datetime], now: datetime) -> float:
    """Seconds to wait before the next send so that no window overflows (0 = send now).

    ``sent_at``: the endpoint's sends, oldest first, covering the longest window.
    """
    wait = 0.0
    for limit, seconds in windows:
        window = [t for t in sent_at if t > now - timedelta(seconds=seconds)]
        if len(window) >= limit:
            oldest_that_blocks = window[len(window) - limit]
            wait = max(wait, (oldest_that_blocks - now).total_seconds() + seconds + 0.05)
    return wait


@dataclass(frozen=True)
class Planned:
    """When each row of a batch goes: ``go`` (row, seconds from now) or ``back`` (row id, wait)."""

    go: list[tuple[ClaimedDelivery, float]]
    back: list[tuple[int, float]]


def plan_sends(
    claimed: Sequence[ClaimedDelivery],
    windows: Mapping[str, RateWindows],
    sent_at: Mapping[int, Sequence[datetime]],
    bucket: Bucket,
    now: datetime,
) -> Planned:
    """Pace rows (in id order) by their platform's windows (``windows`` by channel, the recent
    sends ``sent_at`` by subscriber) and their subscriber's ``rate_limit`` bucket."""
    go: list[tuple[ClaimedDelivery, float]] = []
    back: list[tuple[int, float]] = []
    planned: dict[int, list[datetime]] = {}
    for item in claimed:
        platform = windows.get(item.channel, ())
        offset = 0.0
        if platform:
            recent = sent_at.get(item.subscriber_id, ())
            times = planned.setdefault(item.subscriber_id, list(recent))
            moment = max(now, times[-1]) if times else now  # one lane: after the previous row
            moment += timedelta(seconds=wait_before_send(platform, times, moment))
            offset = (moment - now).total_seconds()
            if offset > IN_BATCH_WAIT:
                back.append((item.id, offset))
                continue
            times.append(moment)
        limit = item.options.rate_limit
        key = f"subscriber:{item.subscriber_id}"
        token_wait = bucket.take(key, parse_rate(limit)) if limit else 0.0
        if token_wait > 0:
            back.append((item.id, token_wait))
            continue
        go.append((item, offset))
    return Planned(go, back)
