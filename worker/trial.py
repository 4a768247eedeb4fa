"""Stage: a sample message to one subscriber now (``herald subscribers test``), sent through the
ledger exactly as deliveries are, so trying a subscriber exercises what delivering to it does.

The sample is a ledger row like any other (its attempt is kept and shown by ``herald deliveries``);
one that does not go through is ended rather than retried. It must not print anything.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from worker.deliver import deliver_batch
from worker.notify import get_notifier
from worker.notify.message import Entry, Message
from worker.runtime import Runtime
from worker.store.clock import db_now
from worker.store.deliveries import create_deliveries
from worker.store.history import cancel_deliveries, delivery_attempts
from worker.store.subscribers import subscriber_by_name
from worker.subscriber import SubscriberOptions

EVENT_TEST = "herald.test"  # the event a generic webhook receives
EVENT_CHAT_TEST = "message.test"  # the message a chat receives


@dataclass(frozen=True)
class Trial:
    """What became of the sample: ``outcome`` delivered / retry / failed, or "deferred" (not
    sent now), "suspended" or "disabled" (not sent at all)."""

    outcome: str
    latency_ms: float = 0.0
    error: str = ""
    reply: str = ""


def sample_entry(timezone: str) -> Entry:
    return Entry(
        title="herald 测试消息：打造全国地方科协综合改革示范区",
        url="https://www.cast.org.cn/",
        source="herald",
        published=datetime.now(UTC).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M"),
        summary="This is a test message from herald. 这是一条测试消息。",
    )


def send_trial(rt: Runtime, name: str) -> Trial:
    """Send the sample to subscriber ``name`` (already in the database) and report the attempt."""
    with rt.session() as session:
        row = subscriber_by_name(session, name)
        if row is None:
            raise KeyError(name)
        if not row.enabled:
            return Trial("disabled", error="enabled = false in the config")
        if row.suspended_at is not None:
            return Trial("suspended", error=row.disabled_reason)
        sample = sample_entry(SubscriberOptions.from_stored(row.options).timezone)
        if get_notifier(row.channel).takes_messages:
            message = Message(
                "test", "herald test", (sample,), note="herald is set up for this chat."
            )
            event_type, data = EVENT_CHAT_TEST, message.to_dict()
        else:
            event_type, data = EVENT_TEST, {"title": sample.title, "url": sample.url}
        ids = create_deliveries(
            session, event_key=f"test:{secrets.token_urlsafe(18)}", event_type=event_type,
            payload=data, subscriber_ids=[row.id], article_id=None, now=db_now(session),
        )  # fmt: skip
    deliver_batch(rt, ids)
    with rt.session() as session:
        cancel_deliveries(session, ids, reason="a test message is not retried")
        attempts = delivery_attempts(session, ids[0])
    if not attempts:
        return Trial("deferred", error="not sent now: its rate limit or rate window is full")
    last = attempts[-1]
    return Trial(last.outcome, last.latency_ms, last.error, last.response_excerpt)
