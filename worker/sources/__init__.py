"""Source kinds: each reads a source's list (feed, page, CMS API) into discovered items.

``discover`` fetches the first list page (conditional GET), hands it to the kind's reader,
which follows paging through the same fetcher; a list that needs its script run is read again
from the page headless Chromium rendered (the fetcher's ``render`` fallback). It must not
fetch article pages or touch the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from worker.config import SourceConfig
from worker.fetch import Fetcher, FetchError, FetchResult
from worker.models import Discovered
from worker.sources.base import SourceError
from worker.sources.crawl import READERS, Listing, ReadContext, Reader

__all__ = ["READERS", "Discovery", "ReadContext", "SourceError", "discover"]

log = logging.getLogger(__name__)


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
    skipped: int = 0  # entries that could not be read; each skipped on its own

    @property
    def dated(self) -> int:
        return sum(1 for item in self.items if item.published_at is not None)


def discover(
    fetcher: Fetcher,
    source: SourceConfig,
    *,
    tz: tzinfo,
    now: datetime,
    etag: str = "",
    last_modified: str = "",
    max_pages: int = 1,
    all_new: Callable[[list[str]], bool] | None = None,
) -> Discovery:
    """Fetch the first list page (conditional GET) and let the source's kind read the rest.

    At most ``source.max_items`` items are read; entries that cannot be read are skipped,
    counted and logged. Raises ``FetchError`` or ``SourceError``; the caller records them as
    source health.
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
    max_items = source.max_items
    context = ReadContext(fetcher, source, tz, now, max_pages, all_new)
    try:
        listing = reader(first, context)
    except SourceError as err:  # "found nothing" may be a list its script has yet to build
        if err.reason != "empty" or fetcher.render is None:
            raise
        if not fetcher.render.wants_render(first, 0):
            raise
        listing, first = _read_rendered(reader, context, first, Listing([], 1), err)
    else:
        if fetcher.render is not None and fetcher.render.wants_render(first, len(listing.items)):
            listing, first = _read_rendered(reader, context, first, listing)
    if listing.skipped:
        log.warning(
            "%s: skipped %d entries that could not be read; kept the other %d",
            source.name, listing.skipped, min(len(listing.items), max_items),
            extra={"source": source.name},
        )  # fmt: skip
    return Discovery(
        listing.items[:max_items], first.etag, first.last_modified, False, listing.pages,
        listing.fingerprint, listing.kind or source.kind, listing.skipped,
    )  # fmt: skip


def _read_rendered(
    reader: Reader,
    context: ReadContext,
    first: FetchResult,
    listing: Listing,
    empty: SourceError | None = None,
) -> tuple[Listing, FetchResult]:
    """The list read again from the page headless Chromium rendered (``render = "always"``, or a
    list with script that gave no items, or ``empty``); when rendering fails, the plain reading
    (``empty`` raised again) unless ``render = "always"``."""
    assert context.fetcher.render is not None
    why = "render = always" if context.source.render == "always" else "no items, page has script"
    try:
        rendered = context.fetcher.render.render(context.fetcher, context.source.url, why)
    except FetchError:
        if context.source.render == "always":
            raise
        if empty is not None:
            raise empty from None
        return listing, first
    # no validators: the plain page may stay the same while its script builds a new list
    return reader(rendered, context), rendered
