"""Readers: walk a source's list pages through the fetcher, one reader per source kind.

Each reader gets the already-fetched first page and returns every item it found within the
page budget. Parsing is the kind modules' job (``feed``, ``html``, ``hanweb``, ``jpaas``,
``trs``, ``detect``); this module only decides which page to ask for next. It must not fetch
article pages or touch the database.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from urllib.parse import urlencode

from worker.config import SourceConfig
from worker.fetch import Fetcher, FetchError, FetchResult
from worker.health import layout_fingerprint
from worker.models import Discovered, ListSelectors
from worker.sources.base import ListPage, SourceError
from worker.sources.detect import convincing_families, detect_family, find_feed_links
from worker.sources.feed import parse_feed
from worker.sources.guess import guess_list
from worker.sources.hanweb import (
    DataProxy,
    HanwebList,
    dataproxy_request,
    find_datastores,
    parse_datastore,
    parse_hanweb_column,
)
from worker.sources.html import parse_list
from worker.sources.jpaas import (
    JpaasAnswer,
    JpaasQuery,
    find_jpaas_queries,
    jpaas_request,
    parse_jpaas_answer,
    read_answer_data,
)
from worker.sources.trs import parse_trs_list

MAX_REQUESTS = 200  # a hard stop for any one poll, whatever a site claims about its size
CATCH_UP_PAGES = 10  # pages read beyond the budget while every item on them is new
JPAAS_CANDIDATES = 6  # build scripts tried on a page (menus and banners have their own)


@dataclass(frozen=True)
class ReadContext:
    fetcher: Fetcher
    source: SourceConfig
    tz: tzinfo
    now: datetime
    max_pages: int
    # says whether none of these URLs is stored yet; lets a poll read on past its page budget
    # while whole pages are new (more articles appeared than one page holds)
    all_new: Callable[[list[str]], bool] | None = None

    @property
    def max_items(self) -> int:
        """Items one poll reads at most, pages included (the source's ``max_items``)."""
        return self.source.max_items

    def full(self, groups: list[list[Discovered]]) -> bool:
        """Whether the items read so far reach the poll's item cap."""
        return sum(len(group) for group in groups) >= self.max_items


def wants_more(ctx: ReadContext, pages: int, last: list[Discovered]) -> bool:
    """Read another list page? Within the budget yes; past it while the last page was all new."""
    if pages < ctx.max_pages:
        return True
    if ctx.all_new is None or not last or pages >= ctx.max_pages + CATCH_UP_PAGES:
        return False
    return ctx.all_new([item.url for item in last])


@dataclass(frozen=True)
class Listing:
    """A reader's answer: items in list order, list pages read, layout fingerprint, kind, and
    the entries skipped because they could not be read."""

    items: list[Discovered]
    pages: int
    fingerprint: str = ""
    kind: str = ""
    skipped: int = 0


Reader = Callable[[FetchResult, ReadContext], Listing]


def merge_items(*groups: list[Discovered]) -> list[Discovered]:
    """Items of several pages, first occurrence of each URL kept, order kept."""
    seen: dict[str, Discovered] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item.url, item)
    return list(seen.values())


def follow_next_links(
    first: FetchResult, ctx: ReadContext, parse: Callable[[FetchResult], ListPage]
) -> list[ListPage]:
    """Each page read, following the pages' own next links while the budget allows."""
    page, collected, seen_pages = first, [], {first.url}
    while True:
        listing = parse(page)
        collected.append(listing)
        if ctx.full([p.items for p in collected]):
            break
        if not wants_more(ctx, len(collected), listing.items):
            break
        if not listing.next_url or listing.next_url in seen_pages:
            break
        seen_pages.add(listing.next_url)
        page = ctx.fetcher.get(listing.next_url)
    return collected


def from_pages(pages: list[ListPage], fingerprint: str, kind: str) -> Listing:
    """One listing of the pages read: items merged, skipped entries added up."""
    items = merge_items(*(page.items for page in pages))
    skipped = sum(page.skipped for page in pages)
    return Listing(items, len(pages), fingerprint, kind, skipped)


def read_feed(first: FetchResult, ctx: ReadContext) -> Listing:
    def parse(page: FetchResult) -> ListPage:
        return parse_feed(
            page.content, page.url, tz=ctx.tz, content_type=page.content_type, limit=ctx.max_items
        )

    return from_pages(follow_next_links(first, ctx, parse), "", "feed")


def read_html(first: FetchResult, ctx: ReadContext) -> Listing:
    selectors = ctx.source.list
    if selectors is None:
        raise SourceError(
            f"html: source {ctx.source.name!r} has no [sources.list] selectors", reason="config"
        )
    collected = follow_next_links(
        first, ctx, lambda page: parse_list(page.text, page.url, selectors, tz=ctx.tz, now=ctx.now)
    )
    fingerprint = layout_fingerprint(first.text, first.url, (i.url for i in collected[0].items))
    return from_pages(collected, fingerprint, "html")


def read_hanweb(first: FetchResult, ctx: ReadContext) -> Listing:
    """The column page's embedded records, then ``dataproxy.jsp`` groups up to the budget."""
    column = parse_hanweb_column(first.text, first.url, tz=ctx.tz, now=ctx.now)
    records = "".join(r for store in find_datastores(first.text) for r in store.records)
    fingerprint = layout_fingerprint(records, first.url, (i.url for i in column.items))
    items, proxy, skipped = column.items, column.proxy, [column.skipped]
    perpage = proxy.perpage if proxy else max(len(items), 1)
    wanted = min(ctx.max_pages * perpage, ctx.max_items)
    if proxy is not None and len(items) < wanted:
        items = _read_proxy_groups(ctx, proxy, items, wanted, column.total_records, skipped)
    while (  # more new records than the budget: read on while whole pages are new
        proxy is not None
        and len(items) >= wanted
        and wanted + perpage <= ctx.max_items
        and wanted < (ctx.max_pages + CATCH_UP_PAGES) * perpage
        and wants_more(ctx, wanted // perpage, items[wanted - perpage : wanted])
    ):
        wanted += perpage
        if len(items) < wanted:
            items = _read_proxy_groups(ctx, proxy, items, wanted, column.total_records, skipped)
    pages = max(1, math.ceil(min(len(items), wanted) / perpage))
    return Listing(items[:wanted], pages, fingerprint, "hanweb", sum(skipped))


def _read_proxy_groups(
    ctx: ReadContext,
    proxy: DataProxy,
    items: list[Discovered],
    wanted: int,
    total: int | None,
    skipped: list[int],
) -> list[Discovered]:
    """Ask for groups of records until ``wanted`` are read; skipped records go to ``skipped``."""
    group = len(items) // proxy.group
    for _ in range(MAX_REQUESTS):
        if len(items) >= wanted or (total is not None and len(items) >= total):
            break
        answer = _fetch_group(ctx, proxy, group)
        skipped.append(answer.skipped)
        merged = merge_items(items, answer.items)
        if len(merged) == len(items):
            break  # the site gave nothing new: past the end
        items, group = merged, group + 1
    return items


def _fetch_group(ctx: ReadContext, proxy: DataProxy, group: int) -> HanwebList:
    """POST the column's form fields (what Hanweb's pages do); fall back to GET."""
    url, form, query = dataproxy_request(proxy, group)
    try:
        page = ctx.fetcher.post(url, form)
        return parse_datastore(page.text, url, tz=ctx.tz, now=ctx.now)
    except (FetchError, SourceError):
        page = ctx.fetcher.get(f"{url}&{urlencode(query)}")
        return parse_datastore(page.text, url, tz=ctx.tz, now=ctx.now)


def read_jpaas(first: FetchResult, ctx: ReadContext) -> Listing:
    """The page's build script names the unit API; ask it page by page (``paramJson``)."""
    queries = find_jpaas_queries(first.text, first.url)
    if not queries:
        raise SourceError(f"jpaas: no bulidstatic script on {first.url}", reason="empty")
    query, answer, fragment = _pick_jpaas_query(ctx, first.url, queries[:JPAAS_CANDIDATES])
    fingerprint = layout_fingerprint(fragment, first.url, (i.url for i in answer.items))
    collected, pages, skipped = [answer.items], 1, answer.skipped
    last_page = answer.page_count or ctx.max_pages + CATCH_UP_PAGES
    while (
        pages < min(last_page, MAX_REQUESTS)
        and not ctx.full(collected)
        and wants_more(ctx, pages, collected[-1])
    ):
        api_url, params = jpaas_request(query, pages + 1)
        page = ctx.fetcher.get(api_url, params=params)
        more = parse_jpaas_answer(page.text, first.url, tz=ctx.tz, now=ctx.now)
        seen = {i.url for g in collected for i in g}
        if not more.items or all(item.url in seen for item in more.items):
            break
        collected.append(more.items)
        skipped += more.skipped
        pages += 1
    return Listing(merge_items(*collected), pages, fingerprint, "jpaas", skipped)


def _pick_jpaas_query(
    ctx: ReadContext, page_url: str, queries: list[JpaasQuery]
) -> tuple[JpaasQuery, JpaasAnswer, str]:
    """The build script whose first page holds the most articles (the column's list)."""
    best: tuple[JpaasQuery, JpaasAnswer, str] | None = None
    error: Exception | None = None
    for query in queries:
        api_url, params = jpaas_request(query, 1)
        try:
            body = ctx.fetcher.get(api_url, params=params).text
            answer = parse_jpaas_answer(body, page_url, tz=ctx.tz, now=ctx.now)
        except SourceError as err:
            error = err
            continue
        if best is None or len(answer.items) > len(best[1].items):
            best = (query, answer, str(read_answer_data(body, page_url)["html"]))
    if best is None:
        assert error is not None
        raise error
    return best


def read_trs(first: FetchResult, ctx: ReadContext) -> Listing:
    """``index.html``, ``index_1.html`` … as many as ``createPageHTML`` says, within budget."""
    listing = parse_trs_list(first.text, first.url, tz=ctx.tz, now=ctx.now)
    fingerprint = layout_fingerprint(first.text, first.url, (i.url for i in listing.items))
    collected, pages, skipped = [listing.items], 1, listing.skipped
    for url in listing.page_urls(first.url)[1:MAX_REQUESTS]:
        if ctx.full(collected) or not wants_more(ctx, pages, collected[-1]):
            break
        page = ctx.fetcher.get(url)
        more = parse_trs_list(page.text, page.url, tz=ctx.tz, now=ctx.now)
        collected.append(more.items)
        skipped += more.skipped
        pages += 1
    return Listing(merge_items(*collected), pages, fingerprint, "trs", skipped)


@dataclass(frozen=True)
class Recognised:
    """What ``auto`` made of a list page: the listing, why, and what to configure it with."""

    listing: Listing
    evidence: list[str]
    selectors: ListSelectors | None = None
    feed_url: str = ""


def recognise(first: FetchResult, ctx: ReadContext) -> Recognised:
    """Read a page the way ``kind = "auto"`` does, never settling for nothing: each CMS family
    whose markers convince, strongest first; then the page as a feed, or the feed it links;
    then the densest block of dated links. A reader that finds no entries (or fails) hands on
    to the next; SourceError when none finds any."""
    evidence = list(detect_family(first.text, first.url)[1])
    for family in convincing_families(first.text, first.url):
        try:
            listing = FAMILY_READERS[family](first, ctx)
        except SourceError as err:
            evidence.append(f"{family} reader: {err}")
            continue
        if listing.items:
            return Recognised(replace(listing, kind=family), evidence)
        evidence.append(f"{family} markers, but its reader found no entries")
    if _looks_like_feed(first):
        return Recognised(read_feed(first, ctx), evidence)
    for feed_url in find_feed_links(first.text, first.url)[:1]:
        listing = read_feed(ctx.fetcher.get(feed_url), ctx)
        if listing.items:
            named = f'<link rel="alternate"> names the feed {feed_url}'
            return Recognised(listing, [*evidence, named], feed_url=feed_url)
    guessed = guess_list(first.text, first.url, tz=ctx.tz, now=ctx.now)
    if guessed is not None:
        listing = read_html(first, replace(ctx, source=replace(ctx.source, list=guessed.selectors)))
        if listing.items:
            found = f"a repeated block of {len(guessed.items)} dated links"
            return Recognised(replace(listing, kind="html"), [*evidence, found], guessed.selectors)
    raise SourceError(
        f"auto: no CMS family, feed or dated list with entries recognised on {first.url}"
        + (f" ({'; '.join(evidence[-2:])})" if evidence else ""),
        reason="empty",
    )


def read_auto(first: FetchResult, ctx: ReadContext) -> Listing:
    """``kind = "auto"``: see ``recognise``."""
    return recognise(first, ctx).listing


def _looks_like_feed(page: FetchResult) -> bool:
    if any(t in page.content_type for t in ("rss", "atom", "xml", "json")):
        return True
    head = page.text[:200].lstrip().lower()
    return head.startswith(("<?xml", "<rss", "<feed", "<rdf")) or head.startswith("{")


FAMILY_READERS: dict[str, Reader] = {"hanweb": read_hanweb, "jpaas": read_jpaas, "trs": read_trs}
READERS: dict[str, Reader] = {
    "feed": read_feed, "html": read_html, **FAMILY_READERS, "auto": read_auto,
}  # fmt: skip
