"""Stage: write the feed files (RSS 2.0, Atom, JSON Feed) from the store, when it changed.

Compares the store's change generation with the one last built, so repeated calls are cheap.
It must not fetch or send anything.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from worker.feeds import FeedSpec, write_feeds
from worker.runtime import Runtime
from worker.store.articles import recent_articles
from worker.store.counters import FEEDS_BUILT, FEEDS_GENERATION, get_counter, set_counter

FEED_LIMIT = 200
_write_lock = threading.Lock()  # feedgen's RSS dates switch the process locale: one at a time
_last_written: dict[str, str] = {}  # feeds_dir → digest of what was last rendered there


def build_feeds(rt: Runtime, *, force: bool = False) -> list[Path]:
    """Rebuild every feed if articles changed since the last build; returns the files rewritten."""
    config = rt.config
    with rt.session() as session:
        generation = get_counter(session, FEEDS_GENERATION)
        built = get_counter(session, FEEDS_BUILT)
        if not force and generation == built and (config.herald.feeds_dir / "all.xml").exists():
            return []
        specs = [
            FeedSpec("all", "herald — all sources", recent_articles(session, limit=FEED_LIMIT))
        ]
        for source in config.sources:
            articles = recent_articles(session, limit=FEED_LIMIT, source_name=source.name)
            specs.append(FeedSpec(f"sources/{source.name}", source.name, articles))
    digest = _digest(specs)
    feeds_dir = str(config.herald.feeds_dir)
    with _write_lock:
        unchanged = _last_written.get(feeds_dir) == digest
        if not force and unchanged and (config.herald.feeds_dir / "all.xml").exists():
            changed = []  # the newest articles are the same ones, same versions: nothing to render
        else:
            changed = write_feeds(specs, config.herald.feeds_dir, base_url=config.herald.base_url)
            _last_written[feeds_dir] = digest
    with rt.session() as session:
        if get_counter(session, FEEDS_BUILT) < generation:
            set_counter(session, FEEDS_BUILT, generation)
    return changed


def _digest(specs: list[FeedSpec]) -> str:
    """What the feeds would show: per feed, its articles' ids and versions, in order."""
    parts = [
        f"{spec.key}:" + ",".join(f"{a.id}.{a.version}" for a in spec.articles) for spec in specs
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
