"""Source kinds: each reads a source's list (feed or page) into discovered items.

``discover`` fetches the list (conditionally), follows paging and hands the bytes to the
kind's parser. It must not fetch article pages or touch the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from worker.config import SourceConfig
from worker.fetch import Fetcher, FetchResult
from worker.models import Discovered
from worker.sources.base import ListPage, SourceError
from worker.sources.feed import parse_feed
from worker.sources.html import parse_list

__all__ = ["KINDS", "Discovery", "SourceError", "discover"]


@dataclass(frozen=True)
class Discovery:
    """What one poll of a list found. ``not_modified`` means a 304: nothing was parsed."""

    items: list[Discovered]
    etag: str
    last_modified: str
    not_modified: bool = False
    pages: int = 0


Parser = Callable[[FetchResult, SourceConfig, tzinfo, datetime], ListPage]


def _parse_feed_page(
    page: FetchResult, source: SourceConfig, tz: tzinfo, now: datetime
) -> ListPage:
    return parse_feed(page.content, page.url, tz=tz, content_type=page.content_type)


def _parse_html_page(
    page: FetchResult, source: SourceConfig, tz: tzinfo, now: datetime
) -> ListPage:
    if source.list is None:
        raise SourceError(
            f"html: source {source.name!r} has no [sources.list] selectors", reason="config"
        )
    listing = parse_list(page.text, page.url, source.list, tz=tz, now=now)
    if not listing.items:
        raise SourceError(
            f"html: selector {source.list.item!r} matched no items on {page.url}", reason="empty"
        )
    return listing


KINDS: dict[str, Parser] = {"feed": _parse_feed_page, "html": _parse_html_page}


def discover(
    fetcher: Fetcher,
    source: SourceConfig,
    *,
    tz: tzinfo,
    now: datetime,
    etag: str = "",
    last_modified: str = "",
    max_pages: int = 1,
) -> Discovery:
    """Fetch the first list page (conditional GET) and up to ``max_pages`` pages in all.

    Raises ``FetchError`` or ``SourceError``; the caller records them as source health.
    """
    parse = KINDS.get(source.kind)
    if parse is None:
        raise SourceError(f"{source.kind}: unknown source kind", reason="config")
    first = fetcher.get(source.url, etag=etag, last_modified=last_modified)
    if first.not_modified:
        return Discovery(
            [],
            etag=first.etag or etag,
            last_modified=first.last_modified or last_modified,
            not_modified=True,
        )
    items: dict[str, Discovered] = {}
    page, pages, seen_pages = first, 0, {first.url}
    while True:
        listing = parse(page, source, tz, now)
        pages += 1
        for item in listing.items:
            items.setdefault(item.url, item)
        next_url = listing.next_url
        if pages >= max_pages or not next_url or next_url in seen_pages:
            break
        seen_pages.add(next_url)
        page = fetcher.get(next_url)
    return Discovery(list(items.values()), first.etag, first.last_modified, False, pages)
