"""Stage: write the feed files (RSS 2.0, Atom, JSON Feed) from the store, when it changed.

The feeds: ``all``, one per source (``sources/<name>``), one per tag (``tags/<tag>``: the
sources carrying it) and one per digest subscriber (``digests/<name>``: each digest one entry
linking its page). Compares the store's change generation with the one last built, so repeated
calls are cheap. It must not fetch or send anything: the WebSub hub's pings about changed files
are queued in the ledger (``worker.websub``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection, Sequence
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from worker.config import Config, SourceConfig, SubscriberConfig
from worker.digest import Window, archive_path, heading_for, page_fragment
from worker.feeds import ALL_KEY, ALL_TITLE, FeedSpec, valid_key_segment, write_feeds
from worker.models import Article
from worker.runtime import Runtime
from worker.store.articles import get_articles, recent_articles
from worker.store.counters import FEEDS_BUILT, FEEDS_GENERATION, get_counter, set_counter
from worker.store.digests import subscriber_digests
from worker.store.stats import sources_with_articles
from worker.store.subscribers import subscriber_by_name
from worker.subscriber import SubscriberOptions
from worker.websub import queue_pings

DIGEST_ENTRIES = 50  # digests one subscriber's digest feed holds
_write_lock = threading.Lock()  # feedgen's RSS dates switch the process locale: one at a time
_last_written: dict[str, str] = {}  # feeds_dir → digest of what was last rendered there


def feed_keys(config: Config, with_articles: Collection[str] = ()) -> list[str]:
    """Every feed herald publishes for this config, ``all`` first. A disabled source has a feed
    only while it has stored articles (``with_articles``: the names of those sources that do);
    a disabled subscriber's digest has none."""
    keys = [ALL_KEY]
    keys += [f"sources/{source.name}" for source in fed_sources(config, with_articles)]
    keys += [f"tags/{tag}" for tag in feed_tags(config, with_articles)]
    keys += [f"digests/{sub.name}" for sub in config.subscribers if publishes_digest(sub)]
    return keys


def fed_sources(config: Config, with_articles: Collection[str]) -> list[SourceConfig]:
    return [s for s in config.sources if s.enabled or s.name in with_articles]


def publishes_digest(subscriber: SubscriberConfig) -> bool:
    return subscriber.enabled and subscriber.wants_digest


def disabled_sources(config: Config) -> list[str]:
    """The disabled sources, whose feeds depend on whether they have stored articles."""
    return [s.name for s in config.sources if not s.enabled]


def feed_tags(config: Config, with_articles: Collection[str] = ()) -> list[str]:
    """The fed sources' tags that can name a feed file, in first-seen order (the config load
    warns about the others)."""
    tags = (tag for source in fed_sources(config, with_articles) for tag in source.tags)
    return list(dict.fromkeys(tag for tag in tags if valid_key_segment(tag)))


def feed_spec(session: Session, config: Config, key: str, *, limit: int) -> FeedSpec | None:
    """The feed ``key`` with its newest ``limit`` entries; None for a key this config lacks."""
    if key == ALL_KEY:
        return FeedSpec(ALL_KEY, ALL_TITLE, recent_articles(session, limit=limit))
    kind, _, name = key.partition("/")
    stored = sources_with_articles(session, disabled_sources(config))
    if kind == "sources" and any(s.name == name for s in fed_sources(config, stored)):
        return FeedSpec(key, name, recent_articles(session, limit=limit, source_names=[name]))
    if kind == "tags" and name in feed_tags(config, stored):
        names = [s.name for s in fed_sources(config, stored) if name in s.tags]
        articles = recent_articles(session, limit=limit, source_names=names)
        return FeedSpec(key, f"herald — #{name}", articles)
    if kind == "digests" and any(
        s.name == name and publishes_digest(s) for s in config.subscribers
    ):
        limit = min(limit, DIGEST_ENTRIES)
        entries = digest_entries(session, name, config.herald.feeds_dir, limit=limit)
        return FeedSpec(key, f"{name} · 摘要", entries)
    return None


def digest_entries(
    session: Session, subscriber: str, feeds_dir: Path, *, limit: int
) -> list[Article]:
    """One feed entry per built digest of ``subscriber``, linking the digest's page and holding
    the digest as its page shows it (the same rendering, read back from the page)."""
    row = subscriber_by_name(session, subscriber)
    if row is None:
        return []
    tz = SubscriberOptions.from_stored(row.options).timezone
    entries = []
    for digest in subscriber_digests(session, row.id, limit=limit):
        if not digest.key:
            continue  # opened but not finished
        articles = get_articles(session, digest.article_ids)
        when = digest.window_end.astimezone(UTC)
        title = heading_for(articles, Window(digest.window_start, digest.window_end), tz)
        entries.append(
            Article(
                id=digest.id, source_name=subscriber, url=digest.page,
                guid=f"urn:herald:digest:{subscriber}:{digest.key}",
                title=title, author="",
                published_at=when.astimezone(ZoneInfo(tz)), summary="",
                content_html=stored_fragment(feeds_dir, subscriber, digest.key), text="",
                images=(), version=1, first_seen_at=when, updated_at=when,
            )
        )  # fmt: skip
    return entries


def stored_fragment(feeds_dir: Path, subscriber: str, key: str) -> str:
    """The rendered digest from its page ("" when the page is gone)."""
    try:
        page = archive_path(feeds_dir, subscriber, f"{key}.html").read_text(encoding="utf-8")
    except OSError:
        return ""
    return page_fragment(page)


def build_feeds(rt: Runtime, *, force: bool = False) -> list[Path]:
    """Rebuild every feed if the store changed since the last build; returns the files rewritten."""
    config = rt.config
    feeds_dir = config.herald.feeds_dir
    with rt.session() as session:
        generation = get_counter(session, FEEDS_GENERATION)
        built = get_counter(session, FEEDS_BUILT)
        if not force and generation == built and (feeds_dir / "all.xml").exists():
            return []
        stored = sources_with_articles(session, disabled_sources(config))
        specs = _specs(session, config, feed_keys(config, stored))
    digest = _fingerprint(specs, config)
    with _write_lock:
        unchanged = _last_written.get(str(feeds_dir)) == digest
        if not force and unchanged and (feeds_dir / "all.xml").exists():
            changed = []  # the newest entries are the same ones, same versions: nothing to render
        else:
            changed = write_feeds(
                specs, feeds_dir, base_url=config.herald.base_url, hub=config.feeds.websub_hub
            )
            _last_written[str(feeds_dir)] = digest
    with rt.session() as session:
        if get_counter(session, FEEDS_BUILT) < generation:
            set_counter(session, FEEDS_BUILT, generation)
    queue_pings(rt, changed)
    return changed


def _specs(session: Session, config: Config, keys: Sequence[str]) -> list[FeedSpec]:
    specs = []
    for key in keys:
        spec = feed_spec(session, config, key, limit=config.feeds.limit)
        if spec is not None:
            specs.append(spec)
    return specs


def _fingerprint(specs: list[FeedSpec], config: Config) -> str:
    """What the feeds would show: the addresses they name, and per feed its title and its
    entries' ids and versions, in order."""
    parts = [config.herald.base_url, config.feeds.websub_hub]
    parts += [
        f"{spec.key}:{spec.title}:" + ",".join(f"{a.id}.{a.version}" for a in spec.articles)
        for spec in specs
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
