"""Source kinds: each reads a source's list (feed, page, CMS API) into discovered items.

``discover`` fetches the first list page (conditional GET), hands it to the kind's reader,
which follows paging through the same fetcher. It must not fetch article pages or touch the
database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from worker.config import SourceConfig
from worker.fetch import Fetcher, FetchResult
from worker.health import layout_fingerprint
from worker.models import Discovered
from worker.sources.base import SourceError
from worker.sources.feed import parse_feed
from worker.sources.html import parse_list

__all__ = ["READERS", "Discovery", "ReadContext", "SourceError", "discover"]


@dataclass(frozen=True)
class Discovery:
    """What one poll of a list found. ``not_modified`` means a 304: nothing was parsed."""

    items: list[Discovered]
    etag: str
    last_modified: str
    not_modified: bool = False
    pages: int = 0
    fingerprint: str = ""
    kind: str = ""  # the kind that read it (what ``auto`` detected)

    @property
    def dated(self) -> int:
        return sum(1 for item in self.items if item.published_at is not None)


@dataclass(frozen=True)
class ReadContext:
    fetcher: Fetcher
    source: SourceConfig
    tz: tzinfo
    now: datetime
    max_pages: int


@dataclass(frozen=True)
class Listing:
    """A reader's answer: items in list order, list pages read, layout fingerprint."""

    items: list[Discovered]
    pages: int
    fingerprint: str = ""
    kind: str = ""


Reader = Callable[[FetchResult, ReadContext], Listing]


def merge_items(*groups: list[Discovered]) -> list[Discovered]:
    """Items of several pages, first occurrence of each URL kept, order kept."""
    seen: dict[str, Discovered] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item.url, item)
    return list(seen.values())


def read_feed(first: FetchResult, ctx: ReadContext) -> Listing:
    pages, page, collected = 0, first, []
    seen_pages = {first.url}
    while True:
        listing = parse_feed(page.content, page.url, tz=ctx.tz, content_type=page.content_type)
        collected.append(listing.items)
        pages += 1
        if pages >= ctx.max_pages or not listing.next_url or listing.next_url in seen_pages:
            break
        seen_pages.add(listing.next_url)
        page = ctx.fetcher.get(listing.next_url)
    return Listing(merge_items(*collected), pages, kind="feed")


def read_html(first: FetchResult, ctx: ReadContext) -> Listing:
    selectors = ctx.source.list
    if selectors is None:
        raise SourceError(
            f"html: source {ctx.source.name!r} has no [sources.list] selectors", reason="config"
        )
    pages, page, collected = 0, first, []
    seen_pages = {first.url}
    while True:
        listing = parse_list(page.text, page.url, selectors, tz=ctx.tz, now=ctx.now)
        collected.append(listing.items)
        pages += 1
        if pages >= ctx.max_pages or not listing.next_url or listing.next_url in seen_pages:
            break
        seen_pages.add(listing.next_url)
        page = ctx.fetcher.get(listing.next_url)
    fingerprint = layout_fingerprint(first.text, first.url, (i.url for i in collected[0]))
    return Listing(merge_items(*collected), pages, fingerprint, kind="html")


READERS: dict[str, Reader] = {"feed": read_feed, "html": read_html}


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
    """Fetch the first list page (conditional GET) and let the source's kind read the rest.

    Raises ``FetchError`` or ``SourceError``; the caller records them as source health.
    """
    reader = READERS.get(source.kind)
    if reader is None:
        raise SourceError(f"{source.kind}: unknown source kind", reason="config")
    first = fetcher.get(source.url, etag=etag, last_modified=last_modified)
    if first.not_modified:
        return Discovery(
            [], etag=first.etag or etag, last_modified=first.last_modified or last_modified,
            not_modified=True,
        )  # fmt: skip
    listing = reader(first, ReadContext(fetcher, source, tz, now, max_pages))
    return Discovery(
        listing.items, first.etag, first.last_modified, False, listing.pages,
        listing.fingerprint, listing.kind or source.kind,
    )  # fmt: skip
