"""Stage: build each subscriber's digest once, store it, and put its messages in the ledger.

A digest gathers the articles queued for a subscriber since its previous digest (first-poll
imports are never queued). It is built when its cron slot is due (``build_due_digests``) or on
demand (``herald digest send``); the slot claim and the unique (subscriber, slot) row make a
schedule that fires twice build one digest, and its messages go out through the ledger with
stable event keys, so a worker dying mid-send never sends a part twice. ``compose`` is the one
place that turns articles into what a channel is sent; ``preview`` uses it without storing.
It must not send anything (``deliver`` does) nor decide which articles a subscriber wants.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy.orm import Session

from worker.files import write_atomic
from worker.models import Article
from worker.notify import Notifier, Target, article_data, get_notifier
from worker.notify.chat import escape_basic_markdown, flatten, safe_url
from worker.notify.message import Entry, Message, entry_from_article, shorten, split_message
from worker.notify.render import render_document
from worker.outbox import target_of
from worker.runtime import Runtime
from worker.schedule import next_fire
from worker.store.articles import get_articles
from worker.store.counters import FEEDS_GENERATION, bump_counter
from worker.store.deliveries import create_deliveries
from worker.store.digests import (
    claim_digest_slot,
    due_digest_subscribers,
    finish_digest,
    last_digest,
    open_digest,
    subscriber_digests,
    take_waiting,
    waiting_article_ids,
)
from worker.store.tables import SubscriberRow
from worker.subscriber import SubscriberOptions

log = logging.getLogger(__name__)

EVENT_DIGEST = "digest.ready"  # the generic webhook's event: one per digest, every format inside
EVENT_CHAT_DIGEST = "message.digest"  # a chat channel's event: one per message part
SUMMARY_CHARS = 120
EMPTY_NOTE = "这段时间没有新文章。"
DOCUMENTS = {"markdown": "digest.md.j2", "text": "digest.txt.j2"}  # and "html": the page
BODY_TEMPLATE = "digest.body.html.j2"  # the digest rendered once: its page, feed entry and mail
PAGE_TEMPLATE = "digest.html.j2"
FRAGMENT_RE = re.compile(r"<!-- digest -->\n?(.*?)\n?<!-- /digest -->", re.S)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Part:
    """One message of a digest: the ledger event and the exact body a channel receives."""

    event_type: str
    payload: dict[str, Any]
    body: str  # the request body as built now (signed channels re-sign at send time)
    size: int
    limit: int | None
    unit: str


@dataclass(frozen=True)
class Composed:
    key: str
    page_url: str
    article_ids: tuple[int, ...]
    parts: tuple[Part, ...]
    page_html: str


# --------------------------------------------------------------------------------------------
# Composing (pure apart from template files)


def digest_key(subscriber: str, article_ids: Sequence[int], window: Window, tz: str) -> str:
    """A stable name for the digest's page: its day and a hash of what it holds."""
    day = window.end.astimezone(ZoneInfo(tz)).strftime("%Y%m%d")
    digest = hashlib.sha256(f"{subscriber}:{list(article_ids)}".encode()).hexdigest()[:10]
    return f"{day}-{digest}"


def page_url(base_url: str, subscriber: str, key: str) -> str:
    """Where ``herald serve`` shows a digest's page (``key`` "" is the archive index)."""
    return (
        f"{base_url.rstrip('/')}/digests/{subscriber}/{key}.html"
        if key
        else (f"{base_url.rstrip('/')}/digests/{subscriber}/")
    )


def archive_path(feeds_dir: Path, subscriber: str, name: str) -> Path:
    return feeds_dir / "digests" / subscriber / name


def heading_for(articles: Sequence[Article], window: Window, tz: str) -> str:
    sources = sorted({a.source_name for a in articles})
    who = sources[0] if len(sources) == 1 else "herald"
    day = window.end.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")
    return f"{who} 摘要 · {day} · {len(articles)} 篇"


def entries_for(articles: Sequence[Article], tz: str) -> tuple[Entry, ...]:
    entries = []
    for article in articles:
        entry = entry_from_article(article_data(article), tz)
        entries.append(replace(entry, summary=shorten(entry.summary, SUMMARY_CHARS)))
    return tuple(entries)


def document_context(
    title: str, entries: Sequence[Entry], window: Window, tz: str, url: str, archive: str
) -> dict[str, Any]:
    zone = ZoneInfo(tz)
    return {
        "digest": {
            "title": title,
            "count": len(entries),
            "entries": entries,
            "window_start": window.start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "window_end": window.end.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "url": url,
            "archive_url": archive,
        },
        "href": safe_url,
        "md": escape_basic_markdown,
        "one": flatten,
    }


def compose(
    target: Target,
    articles: Sequence[Article],
    window: Window,
    *,
    base_url: str,
    now: datetime,
) -> Composed:
    """Everything a digest of ``articles`` sends to ``target``: parts, page, key (deterministic)."""
    tz = target.options.timezone
    ordered = sorted(articles, key=lambda a: (a.published_at or a.first_seen_at, a.id))
    ids = tuple(a.id for a in ordered)
    key = digest_key(target.name, ids, window, tz)
    url = page_url(base_url, target.name, key)
    archive = page_url(base_url, target.name, "")
    heading = heading_for(ordered, window, tz)
    entries = entries_for(ordered, tz)
    context = document_context(heading, entries, window, tz, url, archive)
    body = Markup(render_document(BODY_TEMPLATE, context))  # the digest, rendered once
    # the page links its archive relatively, so it works at whatever address serves it; a mail
    # or an event travels, so its links are absolute
    page = wrap(context, body, [("./", "往期摘要")])
    notifier = get_notifier(target.channel)
    if notifier.digest_documents:  # one event carrying the whole digest in every format
        links = [
            (href, label)
            for href, label in ((safe_url(url), "在浏览器中查看"), (safe_url(archive), "往期摘要"))
            if href
        ]
        html = wrap(context, body, links)
        payload = webhook_payload(target, ordered, window, key, url, context, html)
        parts: tuple[Part, ...] = (measure(notifier, target, EVENT_DIGEST, payload, now),)
    else:
        note = "" if entries else EMPTY_NOTE
        message = Message("digest", heading, entries, note=note, link=url,
                          mentions=target.options.mentions)  # fmt: skip
        split = split_message(message, lambda m: notifier.fits(m, target))
        parts = tuple(measure(notifier, target, EVENT_CHAT_DIGEST, m.to_dict(), now) for m in split)
    return Composed(key, url, ids, parts, page)


def wrap(context: Mapping[str, Any], body: Markup, links: list[tuple[str, str]]) -> str:
    """The rendered digest as a whole document with an outlet's own links under it."""
    return render_document(PAGE_TEMPLATE, {**context, "body": body, "links": links})


def page_fragment(page_html: str) -> str:
    """The rendered digest inside a page written by ``wrap`` ("" when there is none)."""
    found = FRAGMENT_RE.search(page_html)
    return found.group(1).strip() if found else ""


def webhook_payload(
    target: Target,
    articles: Sequence[Article],
    window: Window,
    key: str,
    url: str,
    context: Mapping[str, Any],
    html: str,
) -> dict[str, Any]:
    """The generic webhook's ``digest.ready`` data: the articles and the digest in three formats
    (``html``: the rendered digest with absolute links, as a mail carries it)."""
    return {
        "key": key,
        "subscriber": target.name,
        "title": context["digest"]["title"],
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "url": url,
        "count": len(articles),
        "articles": [article_data(a) for a in articles],
        **{name: render_document(template, context) for name, template in DOCUMENTS.items()},
        "html": html,
    }


def measure(
    notifier: Notifier, target: Target, event_type: str, payload: dict[str, Any], now: datetime
) -> Part:
    """Build the request exactly as ``deliver`` will and measure it the platform's way."""
    request = notifier.build(target, event_type, "digest-preview", payload, now=now)
    body = request.body.decode("utf-8")
    json_body = "json" in {k.lower(): v for k, v in request.headers.items()}.get("content-type", "")
    decoded = json.loads(body) if json_body else {"raw": body}  # a mail is measured whole
    size, limit = notifier.measure(decoded), notifier.limit_for(decoded)
    return Part(event_type, payload, body, size, limit, notifier.unit)


# --------------------------------------------------------------------------------------------
# Building and storing


def window_for(session: Session, subscriber: SubscriberRow, now: datetime) -> Window:
    """From the previous digest's end (or the subscriber's creation) to ``now``."""
    previous = last_digest(session, subscriber.id)
    return Window(previous.window_end if previous else subscriber.created_at, now)


def build_digest(
    rt: Runtime, session: Session, subscriber: SubscriberRow, *, slot: str, now: datetime
) -> tuple[int, list[int]] | None:
    """Store the digest for ``slot`` and its ledger rows; None when the slot already has one."""
    window = window_for(session, subscriber, now)
    digest_id = open_digest(
        session, subscriber.id, slot=slot, key="", window_start=window.start, window_end=now
    )
    if digest_id is None:
        return None
    articles = get_articles(session, take_waiting(session, subscriber.id, digest_id))
    target = target_of(subscriber)
    composed = compose(target, articles, window, base_url=rt.config.herald.base_url, now=now)
    messages = [
        {"event_type": p.event_type, "body": p.body, "size": p.size, "limit": p.limit}
        for p in composed.parts
    ]
    finish_digest(session, digest_id, key=composed.key, article_ids=composed.article_ids,
                  messages=messages, page=composed.page_url)  # fmt: skip
    bump_counter(session, FEEDS_GENERATION)  # the subscriber's digest feed gains an entry
    ids: list[int] = []
    for index, part in enumerate(composed.parts, 1):
        ids += create_deliveries(
            session,
            event_key=f"digest:{digest_id}:{index}",
            event_type=part.event_type,
            payload=part.payload,
            subscriber_ids=[subscriber.id],
            article_id=None,
            now=now,
        )
    write_archive(rt, session, subscriber, composed)
    log.info(
        "digest: built %s with %d articles in %d messages",
        composed.key, len(articles), len(composed.parts),
        extra={"subscriber": subscriber.name, "digest_id": digest_id},
    )  # fmt: skip
    return digest_id, ids


def write_archive(
    rt: Runtime, session: Session, subscriber: SubscriberRow, composed: Composed
) -> None:
    """The digest's page and the subscriber's archive index under ``feeds/digests/NAME/``
    (``herald serve`` shows them at ``/digests/NAME/``)."""
    feeds_dir = rt.config.herald.feeds_dir
    write_atomic(archive_path(feeds_dir, subscriber.name, f"{composed.key}.html"),
                 composed.page_html.encode("utf-8"))  # fmt: skip
    tz = SubscriberOptions.from_stored(subscriber.options).timezone
    items = [
        {
            "file": f"{row.key}.html",
            "title": row.window_end.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"),
            "count": len(row.article_ids),
        }
        for row in subscriber_digests(session, subscriber.id)
        if row.key
    ]
    index = archive_index_html(subscriber.name, items)
    write_atomic(archive_path(feeds_dir, subscriber.name, "index.html"), index.encode("utf-8"))


def archive_index_html(subscriber: str, items: Sequence[Mapping[str, Any]]) -> str:
    """A subscriber's archive page: one ``{"file", "title", "count"}`` item per digest."""
    return render_document("digest.index.html.j2", {"subscriber": subscriber, "digests": items})


def build_due_digests(rt: Runtime, *, now: datetime | None = None) -> list[int]:
    """Build every digest whose schedule slot is due; returns the new ledger rows.

    Each slot is claimed (moved to the schedule's next time) in the transaction that builds it.
    A digest with fewer than ``min_items`` articles is not built: they wait for the next one.
    """
    now = now or datetime.now(UTC)
    with rt.session() as session:
        due = due_digest_subscribers(session, now)
    created: list[int] = []
    for subscriber in due:
        with rt.session() as session:
            created += _build_scheduled(rt, session, subscriber, now)
    return created


def _build_scheduled(
    rt: Runtime, session: Session, subscriber: SubscriberRow, now: datetime
) -> list[int]:
    options = SubscriberOptions.from_stored(subscriber.options)
    slot = subscriber.next_digest_at
    assert slot is not None
    following = next_fire(options.schedule, options.timezone, now)
    if not claim_digest_slot(session, subscriber.id, slot, following):
        return []
    waiting = len(waiting_article_ids(session, subscriber.id))
    min_items = options.min_items
    if waiting < min_items:
        log.info("digest: %d articles waiting, fewer than min_items = %d; not sent", waiting,
                 min_items, extra={"subscriber": subscriber.name})  # fmt: skip
        return []
    built = build_digest(rt, session, subscriber, slot=f"cron:{slot.isoformat()}", now=now)
    return built[1] if built else []


# --------------------------------------------------------------------------------------------
# On demand: preview and send


@dataclass(frozen=True)
class Preview:
    subscriber: str
    channel: str
    window: Window
    composed: Composed


def preview(rt: Runtime, session: Session, subscriber: SubscriberRow, *, now: datetime) -> Preview:
    """What ``send`` would send now, built the same way, storing nothing."""
    window = window_for(session, subscriber, now)
    articles = get_articles(session, waiting_article_ids(session, subscriber.id))
    composed = compose(target_of(subscriber), articles, window,
                       base_url=rt.config.herald.base_url, now=now)  # fmt: skip
    return Preview(subscriber.name, subscriber.channel, window, composed)


def send_now(
    rt: Runtime, session: Session, subscriber: SubscriberRow, *, now: datetime
) -> tuple[int, list[int]] | None:
    """Build a digest of what is waiting now, outside the schedule (``herald digest send``)."""
    return build_digest(rt, session, subscriber, slot=f"manual:{now.isoformat()}", now=now)
