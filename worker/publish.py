"""Stage: write the feed files (RSS 2.0, Atom, JSON Feed) from the store, when it changed.

Compares the store's change generation with the one last built, so repeated calls are cheap.
It must not fetch or send anything.
"""

from __future__ import annotations

import threading
from pathlib import Path

from worker.feeds import FeedSpec, write_feeds
from worker.runtime import Runtime
from worker.store import queries

FEED_LIMIT = 200
_write_lock = threading.Lock()  # feedgen's RSS dates switch the process locale: one at a time


def build_feeds(rt: Runtime, *, force: bool = False) -> list[Path]:
    """Rebuild every feed if articles changed since the last build; returns the files rewritten."""
    config = rt.config
    with rt.session() as session:
        generation = queries.get_counter(session, queries.FEEDS_GENERATION)
        built = queries.get_counter(session, queries.FEEDS_BUILT)
        if not force and generation == built and (config.herald.feeds_dir / "all.xml").exists():
            return []
        specs = [
            FeedSpec(
                "all", "herald — all sources", queries.recent_articles(session, limit=FEED_LIMIT)
            )
        ]
        for source in config.sources:
            articles = queries.recent_articles(session, limit=FEED_LIMIT, source_name=source.name)
            specs.append(FeedSpec(f"sources/{source.name}", source.name, articles))
    with _write_lock:
        changed = write_feeds(specs, config.herald.feeds_dir, base_url=config.herald.base_url)
    with rt.session() as session:
        if queries.get_counter(session, queries.FEEDS_BUILT) < generation:
            queries.set_counter(session, queries.FEEDS_BUILT, generation)
    return changed


def feeds_stale(rt: Runtime) -> bool:
    with rt.session() as session:
        return queries.get_counter(session, queries.FEEDS_GENERATION) != queries.get_counter(
            session, queries.FEEDS_BUILT
        )
