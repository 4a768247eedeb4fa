"""WebSub publishing: tell a hub that a feed changed (``hub.mode=publish&hub.url=<feed>``).

Hubs differ in what they answer (204, 202, 200); any 2xx means the ping was taken. Each changed
feed URL is one ledger row of the hub's internal subscriber, so a hub that is down is retried on
the delivery schedule and never holds up a feed build. This module must not send, schedule or
store anything (the transport and the ledger do that).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from worker.notify import Outcome, Outgoing, RateWindows, Reply, Target
from worker.notify.message import Message
from worker.notify.replies import by_status, judge

CHANNEL = "websub"
EVENT_FEED_UPDATED = "feed.updated"


classify_reply = by_status(CHANNEL)  # 2xx taken; 4xx (but 408/409/425/429) refused; else retried


class WebSubNotifier:
    """The hub's channel: one form-encoded publish ping per changed feed URL."""

    channel: str = CHANNEL
    unit: str = "bytes"
    takes_messages: bool = False
    digest_documents: bool = True
    rate_windows: RateWindows = ()
    templates: Mapping[str, str] = {}

    def build(
        self,
        target: Target,
        event_type: str,
        event_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime,
    ) -> Outgoing:
        """The publish ping for ``data["url"]``; ValueError for any other event."""
        url = data.get("url")
        if event_type != EVENT_FEED_UPDATED or not isinstance(url, str) or not url:
            raise ValueError(f"websub: cannot publish event {event_type!r}")
        body = urlencode({"hub.mode": "publish", "hub.url": url}).encode("ascii")
        headers = {"content-type": "application/x-www-form-urlencoded"}
        return Outgoing(url=target.url, body=body, headers=headers)

    def fits(self, message: Message, target: Target) -> bool:
        return True

    def measure(self, body: Mapping[str, Any]) -> int:
        return len(urlencode(dict(body)).encode("ascii"))

    def limit_for(self, body: Mapping[str, Any]) -> int | None:
        return None

    def classify(self, reply: Reply) -> Outcome:
        return judge(CHANNEL, classify_reply, reply)
