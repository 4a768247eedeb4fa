"""Who hears of an article: ledger rows, outbox rows and digest queue rows per subscriber.

Called in the same transaction that stores (or links) the article, so the rows exist before any
message is sent. Instant webhook subscribers get one ledger row per article (held until their
quiet hours end); instant chat subscribers get an outbox row, folded into messages by
``outbox``; digest subscribers get a digest queue row, gathered by ``digest``. First-poll
imports never come here. A correction (``fan_out_update``) goes, as one ``article.updated``
ledger row each, to the instant subscribers the article was announced to whose ``updates``
option it matters to and whose filters still take it. It must not send or render anything.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy.orm import Session

from worker.diffs import compare
from worker.filters import wants
from worker.notify import article_data, get_notifier
from worker.schedule import held_until
from worker.store.articles import Stored, get_article
from worker.store.deliveries import create_deliveries
from worker.store.digests import DIGEST_MODES, queue_for_digest
from worker.store.outbox import add_to_outbox
from worker.store.subscribers import source_subscribers, told_of_article

EVENT_ARTICLE_CREATED = "article.created"
EVENT_ARTICLE_UPDATED = "article.updated"
INSTANT_MODES = ("instant", "both")


def fan_out_article(
    session: Session, article_id: int, source_name: str, now: datetime
) -> list[int]:
    """Queue the article for every subscriber of ``source_name`` who wants it (never twice);
    returns the ledger rows due now."""
    article = get_article(session, article_id)
    assert article is not None
    digest: list[int] = []
    chat: list[int] = []
    by_due: dict[datetime | None, list[int]] = defaultdict(list)
    for sub in source_subscribers(session, source_name):  # one pass: only ids are kept
        if not wants(sub.options, article):
            continue
        if sub.mode in DIGEST_MODES:
            digest.append(sub.id)
        if sub.mode not in INSTANT_MODES:
            continue
        if get_notifier(sub.channel).takes_messages:
            chat.append(sub.id)
        else:
            by_due[held_until(sub.options, now)].append(sub.id)
    if digest:
        queue_for_digest(session, digest, article_id, now)
    if chat:
        add_to_outbox(session, chat, article_id, now)
    due_now: list[int] = []
    for due, ids in by_due.items():
        created = create_deliveries(
            session,
            event_key=f"{EVENT_ARTICLE_CREATED}:{article_id}",
            event_type=EVENT_ARTICLE_CREATED,
            payload=article_data(article),
            subscriber_ids=ids,
            article_id=article_id,
            now=now,
            due=due,
        )
        if due is None:
            due_now += created
    return due_now


def fan_out_update(session: Session, stored: Stored, source_name: str, now: datetime) -> list[int]:
    """Tell the subscribers who heard of the article that it changed (see the module
    docstring); returns the ledger rows due now."""
    told = told_of_article(
        session, stored.article_id, f"{EVENT_ARTICLE_CREATED}:{stored.article_id}"
    )
    if not told:  # a silent import, or nobody followed it: nothing to compare for anyone
        return []
    article = get_article(session, stored.article_id)
    assert article is not None and stored.previous is not None
    old_title, old_text = stored.previous
    change = compare(
        old_title, old_text, article.title, article.text,
        versions=(stored.version - 1, stored.version),
    )  # fmt: skip
    by_due: dict[datetime | None, list[int]] = defaultdict(list)
    for sub in source_subscribers(session, source_name):
        if sub.id not in told or sub.mode not in INSTANT_MODES:
            continue
        if change.matters_to(sub.options.updates) and wants(sub.options, article):
            by_due[held_until(sub.options, now)].append(sub.id)
    payload = {
        **article_data(article),
        "previous": {"version": stored.version - 1, "title": old_title, "text": old_text},
        "text": article.text,
        "changes": {"title": change.title_changed, "text": change.text_changed},
        "removed": list(change.removed),
        "added": list(change.added),
        "diff": change.unified,
        "note": change.note,
    }
    due_now: list[int] = []
    for due, ids in by_due.items():
        created = create_deliveries(
            session,
            event_key=f"{EVENT_ARTICLE_UPDATED}:{article.id}:v{stored.version}",
            event_type=EVENT_ARTICLE_UPDATED,
            payload=payload,
            subscriber_ids=ids,
            article_id=article.id,
            now=now,
            due=due,
        )
        if due is None:
            due_now += created
    return due_now
