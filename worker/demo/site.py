"""A local Hanweb-style (大汉版通) column site on 127.0.0.1, generated from the seed article.

``DemoSite`` serves paginated list pages, article pages, an RSS 2.0 feed and tiny JPEG images over
a threaded ``http.server``, with strong ETags, Last-Modified and 304 answers, a configurable (and
optionally mislabelled) charset and an optional per-request latency. Content is deterministic:
the same arguments always give the same pages. Pages are rendered lazily and cached until changed.

It must NOT reach the network beyond its own listening socket, read ``/work/shared`` at run time,
or import herald modules other than ``worker.models`` and its own ``worker.demo`` parts
(``pages``: content and markup; ``server``: the HTTP handler).
"""

from __future__ import annotations

import codecs
import threading
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import ClassVar
from xml.sax.saxutils import escape as xml_escape

from worker.demo.pages import (
    ARTICLE_PATH,
    COLUMN_ID,
    COLUMN_NAME,
    IMAGE_PATH,
    LIST_PATH,
    PUBLISH_TIME,
    RSS_TEMPLATE,
    SHANGHAI,
    SITE_NAME,
    SOURCE_NAME,
    TINY_JPEG,
    TINY_JPEG_MODIFIED,
    DemoArticle,
    Page,
    article_html,
    article_path,
    encode_text,
    feed_item_xml,
    list_html,
    list_page_path,
    load_seed,
    make_etag,
    make_paragraphs,
    make_title,
    not_found_html,
    pager_html,
)
from worker.demo.server import DemoServer


class DemoSite:
    """A deterministic Hanweb-style column with ``articles`` articles, served on ``host:port``."""

    LIST_SELECTORS: ClassVar[dict[str, str]] = {
        "item": "div.news-list div.item",
        "link": "a",
        "title": "a",
        "date": "em",
        "next": "a.next",
    }
    ARTICLE_SELECTORS: ClassVar[dict[str, str]] = {
        "title": "h1.title",
        "date": ".info",
        "body": "#zoom",
    }

    def __init__(
        self,
        *,
        articles: int = 12,
        page_size: int = 10,
        encoding: str = "utf-8",
        declared_charset: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        start_date: date = date(2022, 10, 8),
        latency: float = 0.0,
    ) -> None:
        if articles < 0 or page_size < 1:
            raise ValueError("demo: articles must be >= 0 and page_size >= 1")
        codecs.lookup(encoding)  # fail early on an unknown codec
        self.page_size = page_size
        self.encoding = encoding
        self.charset = declared_charset or encoding
        self.host = host
        self.port = port
        self.latency = latency
        self.start_date = start_date
        self.seed = load_seed()
        self.articles: list[DemoArticle] = [
            self.make_article(articles - offset, start_date - timedelta(days=offset))
            for offset in range(articles)
        ]
        self.requests_log: list[tuple[str, str, int]] = []
        self._by_id = {article.id: article for article in self.articles}
        self._modified: dict[int, datetime] = {}
        self._article_pages: dict[int, Page] = {}
        self._list_pages: dict[int, Page] = {}
        self._feed_page: Page | None = None
        self._lock = threading.RLock()
        self._server: DemoServer | None = None
        self._thread: threading.Thread | None = None
        self._base = ""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a daemon thread; return the base URL (``http://127.0.0.1:PORT``)."""
        if self._server is not None:
            return self._base
        server = DemoServer((self.host, self.port), self)
        host, port = server.server_address[:2]
        self._base = f"http://{host!s}:{port}"
        with self._lock:
            self._feed_page = None
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self._base

    def stop(self) -> None:
        """Stop serving and close the socket (safe to call twice)."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> DemoSite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- URLs ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The base URL; raises if the site is not started."""
        if not self._base:
            raise RuntimeError("demo: site is not started")
        return self._base

    @property
    def list_url(self) -> str:
        """The first list page of the column."""
        return self.base_url + list_page_path(1)

    def source_toml(self, name: str, *, interval: str = "1h", settings: str = "") -> str:
        """A ``[[sources]]`` entry that reads this column with its selectors; ``settings`` are
        further lines of the entry (``backfill = 5``)."""
        sel, art = self.LIST_SELECTORS, self.ARTICLE_SELECTORS
        return f"""
[[sources]]
name = "{name}"
url = "{self.list_url}"
kind = "html"
interval = "{interval}"
{settings.strip()}
[sources.list]
item = "{sel["item"]}"
link = "{sel["link"]}"
title = "{sel["title"]}"
date = "{sel["date"]}"
next = "{sel["next"]}"
[sources.article]
title = "{art["title"]}"
date = "{art["date"]}"
body = "{art["body"]}"
"""

    @property
    def feed_url(self) -> str:
        """The RSS 2.0 feed of the newest ``page_size`` articles."""
        return self.base_url + f"/col/col{COLUMN_ID}/rss.xml"

    def article_url(self, article_id: int) -> str:
        """The absolute URL of an article page."""
        return self.base_url + article_path(self.get_article(article_id))

    @property
    def page_count(self) -> int:
        """How many list pages the column has (at least one)."""
        with self._lock:
            return max(1, -(-len(self.articles) // self.page_size))

    # -- content changes -------------------------------------------------------------------

    def make_article(self, article_id: int, day: date) -> DemoArticle:
        """Build article ``article_id`` published on ``day`` at 09:30 Beijing time."""
        return DemoArticle(
            id=article_id,
            title=make_title(article_id),
            published=datetime.combine(day, PUBLISH_TIME, tzinfo=SHANGHAI),
            paragraphs=make_paragraphs(self.seed, article_id),
            images=list(self.seed.images),
        )

    def get_article(self, article_id: int) -> DemoArticle:
        """The article with this id; KeyError if there is none."""
        with self._lock:
            try:
                return self._by_id[article_id]
            except KeyError:
                raise KeyError(f"demo: no article {article_id}") from None

    def add_article(self, title: str | None = None) -> DemoArticle:
        """Publish a new newest article, one day after the current newest one."""
        with self._lock:
            if self.articles:
                newest = self.articles[0]
                article_id = max(self._by_id) + 1
                day = newest.published.astimezone(SHANGHAI).date() + timedelta(days=1)
            else:
                article_id, day = 1, self.start_date
            article = self.make_article(article_id, day)
            if title is not None:
                article.title = title
            self.articles.insert(0, article)
            self._by_id[article_id] = article
            self._list_pages.clear()
            self._feed_page = None
            return article

    def edit_article(
        self,
        article_id: int,
        extra_paragraph: str = "",
        *,
        title: str | None = None,
        respace: bool = False,
    ) -> None:
        """Edit an article as its editors would: append a paragraph, correct its title, or only
        re-indent its paragraphs (``respace``: the page changes, its words do not). Its page,
        ETag and Last-Modified change either way."""
        with self._lock:
            article = self.get_article(article_id)
            if extra_paragraph:
                article.paragraphs.append(extra_paragraph)
            if title is not None:
                article.title = title
                self._list_pages.clear()
            if respace:
                article.paragraphs[:] = [f"\u3000\u3000{p.strip()}\n" for p in article.paragraphs]
            previous = self.modified_at(article)
            now = datetime.now(UTC).replace(microsecond=0)
            self._modified[article_id] = max(
                now, previous.replace(microsecond=0) + timedelta(seconds=1)
            )
            self._article_pages.pop(article_id, None)
            self._feed_page = None

    def modified_at(self, article: DemoArticle) -> datetime:
        """When the article last changed: its last edit, else its publication."""
        with self._lock:
            return self._modified.get(article.id, article.published)

    # -- request bookkeeping ---------------------------------------------------------------

    def log_request(self, method: str, path: str, status: int) -> None:
        """Record one answered request."""
        with self._lock:
            self.requests_log.append((method, path, status))

    def hits(self, path_prefix: str) -> int:
        """How many requests asked for a path starting with ``path_prefix``."""
        with self._lock:
            return sum(1 for _, path, _ in self.requests_log if path.startswith(path_prefix))

    # -- rendering -------------------------------------------------------------------------

    def render_path(self, path: str) -> Page | None:
        """The page for a request path, or None when the path is unknown."""
        listing = LIST_PATH.match(path)
        if listing:
            page = int(listing.group(1) or "1")
            if listing.group(1) is not None and page < 2:
                return None
            return self.render_list(page)
        if path == f"/col/col{COLUMN_ID}/rss.xml":
            return self.render_feed()
        found = ARTICLE_PATH.match(path)
        if found:
            return self.render_article_path(path, int(found.group(4)))
        if IMAGE_PATH.match(path):
            return Page(TINY_JPEG, "image/jpeg", make_etag(TINY_JPEG), TINY_JPEG_MODIFIED)
        return None

    def render_article_path(self, path: str, article_id: int) -> Page | None:
        """The article page when the id exists and the dated path is its own."""
        with self._lock:
            article = self._by_id.get(article_id)
            if article is None or article_path(article) != path:
                return None
            return self.render_article(article)

    def make_page(self, text: str, content_type: str, last_modified: datetime) -> Page:
        """Encode a rendered text and attach its validators."""
        body = encode_text(text, self.encoding)
        return Page(body, f"{content_type}; charset={self.charset}", make_etag(body), last_modified)

    def render_article(self, article: DemoArticle) -> Page:
        """The article page (cached until the article is edited)."""
        with self._lock:
            cached = self._article_pages.get(article.id)
            if cached is not None:
                return cached
            text = article_html(article, self.seed, self.charset)
            page = self.make_page(text, "text/html", self.modified_at(article))
            self._article_pages[article.id] = page
            return page

    def render_list(self, page: int) -> Page | None:
        """List page ``page`` (cached until an article is added), or None past the last page."""
        with self._lock:
            if page > self.page_count:
                return None
            cached = self._list_pages.get(page)
            if cached is not None:
                return cached
            start = (page - 1) * self.page_size
            shown = self.articles[start : start + self.page_size]
            pager = pager_html(page, self.page_count, len(self.articles))
            text = list_html(shown, pager, self.charset)
            newest = self.articles[0].published if self.articles else TINY_JPEG_MODIFIED
            rendered = self.make_page(text, "text/html", newest)
            self._list_pages[page] = rendered
            return rendered

    def render_feed(self) -> Page:
        """The RSS 2.0 feed of the newest ``page_size`` articles (cached until a change)."""
        with self._lock:
            if self._feed_page is not None:
                return self._feed_page
            shown = self.articles[: self.page_size]
            items = "\n".join(feed_item_xml(article, self.base_url) for article in shown)
            changed = [self.modified_at(article) for article in shown]
            last_modified = max(changed) if changed else TINY_JPEG_MODIFIED
            text = RSS_TEMPLATE.substitute(
                charset=xml_escape(self.charset),
                title=xml_escape(f"{COLUMN_NAME} - {SITE_NAME}"),
                link=xml_escape(self.list_url),
                description=xml_escape(f"{SOURCE_NAME}{SITE_NAME}{COLUMN_NAME}栏目"),
                build_date=format_datetime(last_modified.astimezone(SHANGHAI)),
                items=items,
            )
            page = self.make_page(text, "application/rss+xml", last_modified)
            self._feed_page = page
            return page

    def render_not_found(self) -> Page:
        """A small 404 page."""
        return self.make_page(not_found_html(self.charset), "text/html", TINY_JPEG_MODIFIED)


def main() -> None:
    """Serve a demo site until interrupted (``python -m worker.demo.site``)."""
    site = DemoSite(articles=24, port=8765)
    site.start()
    print(f"demo site: {site.list_url}  feed: {site.feed_url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        site.stop()


if __name__ == "__main__":
    main()
