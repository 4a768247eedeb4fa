"""Per-endpoint send rates of the chat platforms, kept from the ledger's own attempt log.

Counting attempts recorded in the database makes the windows shared by every worker on the
same database. Pure apart from the query passed in; it must not send anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

# (messages, seconds) windows per channel (../shared/specs/chat-webhooks.md)
RATE_LIMITS: dict[str, tuple[tuple[int, float], ...]] = {
    "wecom": ((20, 60.0),),
    "dingtalk": ((20, 60.0),),
    "feishu": ((5, 1.0), (100, 60.0)),
    "slack": ((1, 1.0),),
    "discord": ((5, 2.0),),
    "telegram": ((1, 1.0), (20, 60.0)),
}


def longest_window(channel: str) -> float:
    return max((seconds for _, seconds in RATE_LIMITS.get(channel, ())), default=0.0)


def wait_before_send(channel: str, sent_at: Sequence[datetime], now: datetime) -> float:
    """Seconds to wait before the next send so that no window overflows (0 = send now).

    ``sent_at``: the endpoint's recent attempts, oldest first, covering the longest window.
    """
    wait = 0.0
    for limit, seconds in RATE_LIMITS.get(channel, ()):
        window = [t for t in sent_at if t > now - timedelta(seconds=seconds)]
        if len(window) >= limit:
            oldest_that_blocks = window[len(window) - limit]
            wait = max(wait, (oldest_that_blocks - now).total_seconds() + seconds + 0.05)
    return wait
