"""Stage: fold the articles waiting for each chat subscriber into as few messages as fit.

A burst of new articles becomes a handful of messages within the platform's size limit
(instead of one message per article, throttled by the platform). Each message is a ledger row;
the outbox rows it holds are marked in the same transaction. During a subscriber's quiet hours
its articles wait, and fold into as few messages as fit once they end; so do they while an
earlier message is still unsent or the platform's rate window is full, so a long burst becomes
a few messages instead of a throttled queue. It must not send anything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from worker.notify import Notifier, Target, article_data, get_notifier
from worker.notify.message import Message, entry_from_article, split_message
from worker.ratelimit import longest_window, wait_before_send
from worker.runtime import Runtime
from worker.schedule import held_until
from worker.store.articles import get_article
from worker.store.deliveries import create_deliveries
from worker.store.due import recent_attempts
from worker.store.outbox import has_unsent, outbox_subscribers, take_outbox
from worker.store.tables import SubscriberRow
from worker.subscriber import SubscriberOptions

EVENT_INSTANT = "message.instant"


def target_of(row: SubscriberRow) -> Target:
    options = SubscriberOptions.from_stored(row.options)
    return Target(row.name, row.channel, row.url, row.secret, options.chat_id, options)


def flush_outbox(rt: Runtime, *, now: datetime | None = None) -> list[int]:
    """Turn every chat subscriber's waiting articles into ledger rows; returns their ids."""
    now = now or datetime.now(UTC)
    created: list[int] = []
    with rt.session() as session:
        subscribers = outbox_subscribers(session)
    for subscriber in subscribers:
        if held_until(SubscriberOptions.from_stored(subscriber.options), now):
            continue  # quiet hours: the articles wait and fold into one message after them
        with rt.session() as session:
            created += _flush_one(session, subscriber, now)
    return created


def window_full(
    session: Session, subscriber: SubscriberRow, notifier: Notifier, now: datetime
) -> bool:
    """Whether sending to the subscriber at ``now`` would overflow its platform's windows."""
    windows = notifier.rate_windows
    if not windows:
        return False
    since = now - timedelta(seconds=longest_window(windows))
    sent = recent_attempts(session, [subscriber.id], since)[subscriber.id]
    return wait_before_send(windows, sent, now) > 0


def _flush_one(session: Session, subscriber: SubscriberRow, now: datetime) -> list[int]:
    notifier = get_notifier(subscriber.channel)
    busy = has_unsent(session, subscriber.id, EVENT_INSTANT)
    if busy or window_full(session, subscriber, notifier, now):
        return []  # the endpoint is busy: the articles wait and fold into the next message
    taken = take_outbox(session, subscriber.id, now)
    if not taken:
        return []
    target = target_of(subscriber)
    tz = target.options.timezone
    articles = [a for _, article_id in taken if (a := get_article(session, article_id))]
    articles.sort(
        key=lambda a: (a.published_at or a.first_seen_at, a.id)
    )  # oldest first, as a chat reads
    entries = tuple(entry_from_article(article_data(a), tz) for a in articles)
    sources = sorted({a.source_name for a in articles})
    heading = sources[0] if len(sources) == 1 else "herald"
    if len(entries) > 1:
        heading = f"{heading}：{len(entries)} 篇新文章"
    message = Message("instant", heading, entries, mentions=target.options.mentions)
    parts = split_message(message, lambda m: notifier.fits(m, target))
    first = taken[0][0]
    ids: list[int] = []
    for part in parts:
        ids += create_deliveries(
            session,
            event_key=f"instant:{first}:{part.part}",
            event_type=EVENT_INSTANT,
            payload=part.to_dict(),
            subscriber_ids=[subscriber.id],
            article_id=None,
            now=now,
        )
    return ids
