"""Who hears of an article: one ledger row per matching instant subscriber.

Called in the same transaction that stores (or links) the article, so the ledger row exists
before any message is sent. It must not send anything.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from worker.filters import wants
from worker.notify import article_data
from worker.store.articles import get_article
from worker.store.ledger import add_to_outbox, create_deliveries, instant_subscribers

EVENT_ARTICLE_CREATED = "article.created"
EVENT_CHANNELS = ("webhook",)  # channels that take one event per article


def fan_out_article(
    session: Session, article_id: int, source_name: str, now: datetime
) -> list[int]:
    """Ledger rows for the article to ``source_name``'s instant webhook subscribers (never
    twice); chat subscribers get it in their outbox, folded into messages by ``outbox``."""
    article = get_article(session, article_id)
    assert article is not None
    subscribers = [
        s for s in instant_subscribers(session, source_name) if wants(s.options or {}, article)
    ]
    chat = [s.id for s in subscribers if s.channel not in EVENT_CHANNELS]
    if chat:
        add_to_outbox(session, chat, article_id, now)
    subscribers = [s for s in subscribers if s.channel in EVENT_CHANNELS]
    if not subscribers:
        return []
    return create_deliveries(
        session,
        event_key=f"{EVENT_ARTICLE_CREATED}:{article_id}",
        event_type=EVENT_ARTICLE_CREATED,
        payload=article_data(article),
        subscriber_ids=[s.id for s in subscribers],
        article_id=article_id,
        now=now,
    )
