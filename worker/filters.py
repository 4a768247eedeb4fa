"""Pure subscriber filters: which articles a subscriber asked for. No I/O but a log line.

``tags`` (any of them), ``include`` (any keyword in the title or summary), ``exclude`` (none
of them) and ``regex`` (searched in the title and summary). Sources are filtered by the query.
A subscriber's regex runs on the ``regex`` engine with a time limit on at most the first
``REGEX_MAX_CHARS`` characters: a pattern that backtracks for ever must not hold the ingest
transaction (and SQLite's write lock), so a timeout counts as "no match". It must not raise
into the caller for anything an article contains.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import regex

from worker.models import Article
from worker.subscriber import SubscriberOptions

log = logging.getLogger(__name__)

REGEX_TIMEOUT = 0.1  # seconds per (subscriber, article)
REGEX_MAX_CHARS = 10_000


@lru_cache(maxsize=256)
def compile_filter(pattern: str) -> regex.Pattern[str]:
    """The subscriber's pattern on the engine the filter runs (the config check uses it too)."""
    return regex.compile(pattern)


def wants(options: SubscriberOptions, article: Article) -> bool:
    """Does a subscriber with these options want this article?"""
    text = f"{article.title}\n{article.summary}".lower()
    tags = options.tags
    if tags and not set(tags) & set(article.tags):
        return False
    include = [k.lower() for k in options.include]
    if include and not any(k in text for k in include):
        return False
    if any(k.lower() in text for k in options.exclude):
        return False
    pattern = options.regex
    return not pattern or matches(pattern, article)


def matches(pattern: str, article: Article) -> bool:
    """Search the title and summary; a timeout or an unusable pattern is "no match", logged."""
    return search_text(pattern, f"{article.title}\n{article.summary}", f"article {article.id}")


def search_text(pattern: str, text: str, what: str) -> bool:
    """Search ``pattern`` in (the start of) ``text`` under the time limit; ``what`` names the
    text in the log line when the search times out or the pattern is unusable."""
    try:
        return (
            compile_filter(pattern).search(text[:REGEX_MAX_CHARS], timeout=REGEX_TIMEOUT)
            is not None
        )
    except TimeoutError:
        log.warning(
            "filter: regex %r timed out after %g s on %s: counted as no match",
            pattern, REGEX_TIMEOUT, what,
        )  # fmt: skip
    except regex.error as err:
        log.warning("filter: regex %r is unusable (%s): counted as no match", pattern, err)
    return False
