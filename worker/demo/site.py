"""A local Hanweb-style (大汉版通) column site on 127.0.0.1, generated from the seed article.

``DemoSite`` serves paginated list pages, article pages, an RSS 2.0 feed and tiny JPEG images over
a threaded ``http.server``, with strong ETags, Last-Modified and 304 answers, a configurable (and
optionally mislabelled) charset and an optional per-request latency. Content is deterministic:
the same arguments always give the same pages. Pages are rendered lazily and cached until changed.

It must NOT reach the network beyond its own listening socket, read ``/work/shared`` at run time,
or import herald modules other than ``worker.models``.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import importlib.resources
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from string import Template
from typing import Any, ClassVar
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
PUBLISH_TIME = dt_time(9, 30)
TRUNCATE_AT = 30
COLUMN_ID = 1
COLUMN_NAME = "工作案例"
SITE_NAME = "科协改革进行时"
SOURCE_NAME = "中国科协"

# Title patterns built from the seed's title, sub-headings and captions. ``{n}`` is the article id.
TITLE_TEMPLATES: tuple[str, ...] = (
    "打造全国地方科协综合改革示范区（第{n}期）",
    "拉开大幕：重庆市科协召开推进示范区建设工作会议（第{n}期）",
    "研判形势：重庆打造全国地方科协综合改革示范区实施方案正式印发推动科技社团提升影响力（第{n}期）",
    "抓“牛鼻子”：记者陈镕、𠮷雅走访渝妹儿科普兴农分队（第{n}期）",
    "重庆科技融媒体中心揭牌仪式在科协大厦举行（第{n}期）",
    "深化科技社团改革成为打造全国地方科协综合改革示范区的“牛鼻子”——重庆样本（第{n}期）",
)

# A 1x1 grey baseline JPEG (SOI, JFIF, DQT, SOF0, two one-code DHTs, SOS, one MCU, EOI).
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300"
    + "01" * 64
    + "ffc0000b080001000101011100"
    + "ffc40014000100000000000000000000000000000000"
    + "ffc40014100100000000000000000000000000000000"
    + "ffda0008010100003f003fffd9"
)
TINY_JPEG_MODIFIED = datetime(2022, 10, 8, 1, 30, tzinfo=UTC)

_LIST_PATH = re.compile(rf"^/col/col{COLUMN_ID}/index(?:_(\d+))?\.html$")
_ARTICLE_PATH = re.compile(rf"^/art/(\d{{4}})/(\d{{1,2}})/(\d{{1,2}})/art_{COLUMN_ID}_(\d+)\.html$")
_IMAGE_PATH = re.compile(r"^/art/(?:[^/]+/)*img/[^/]+\.jpe?g$")
_SEED_IMAGE = re.compile(r"^\*\*!\[\]\((\./img/[0-9a-f]{32}\.jpeg)\)\*\*$")
_SEED_BOLD = re.compile(r"^\*\*(.+?)\*\*$")


@dataclass
class DemoArticle:
    """One article of the demo column; ``paragraphs`` are the plain body paragraphs in page order.

    The page also shows bold sub-headings and image captions between them (from the seed).
    """

    id: int
    title: str
    published: datetime
    paragraphs: list[str]
    images: list[str]


@dataclass(frozen=True)
class Seed:
    """The seed article split into plain paragraphs and the blocks placed between them."""

    title: str
    paragraphs: tuple[str, ...]
    inserts: tuple[tuple[int, str], ...]  # (index of the paragraph it precedes, HTML block)
    images: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    """A rendered response body with its validators."""

    body: bytes
    content_type: str
    etag: str
    last_modified: datetime


def parse_seed(text: str) -> Seed:
    """Split the seed Markdown into title, paragraphs, sub-headings and figures."""
    lines = [line.strip() for line in text.splitlines()]
    titles = [line[2:].strip() for line in lines if line.startswith("# ")]
    starts = [i for i, line in enumerate(lines) if line.startswith("发布时间：")]
    ends = [i for i, line in enumerate(lines) if line.startswith("中国科学技术协会版权所有")]
    if not titles or not starts or not ends:
        raise ValueError("demo: seed lacks a title, a 发布时间 line or the footer")
    paragraphs: list[str] = []
    inserts: list[tuple[int, str]] = []
    images: list[str] = []
    after_image = False
    for line in lines[starts[0] + 1 : ends[0]]:
        if not line:
            continue
        image = _SEED_IMAGE.match(line)
        bold = _SEED_BOLD.match(line)
        if image:
            images.append(image.group(1))
            img = f'<img src="{image.group(1)}" border="0">'
            block = f'<p style="text-align: center;"><strong>{img}</strong></p>'
            inserts.append((len(paragraphs), block))
        elif bold:
            style = ' style="text-align: center;"' if after_image else ""
            block = f"<p{style}><strong>{html.escape(bold.group(1).strip())}</strong></p>"
            inserts.append((len(paragraphs), block))
        else:
            paragraphs.append(line)
        after_image = bool(image)
    if not paragraphs or not images:
        raise ValueError("demo: seed has no body paragraphs or no images")
    return Seed(titles[0], tuple(paragraphs), tuple(inserts), tuple(images))


def load_seed() -> Seed:
    """Read the seed article bundled with this package."""
    text = importlib.resources.files("worker.demo").joinpath("seed.md").read_text("utf-8")
    return parse_seed(text)


def make_title(article_id: int) -> str:
    """The deterministic full title of article ``article_id``."""
    return TITLE_TEMPLATES[article_id % len(TITLE_TEMPLATES)].format(n=article_id)


def make_paragraphs(seed: Seed, article_id: int) -> list[str]:
    """The seed paragraphs rotated by the id, plus a closing note naming the article."""
    count = len(seed.paragraphs)
    shift = article_id % count
    rotated = list(seed.paragraphs[shift:] + seed.paragraphs[:shift])
    note = (
        f"（本文为{COLUMN_NAME}第{article_id}期，案例编号 CAST-{article_id:05d}。"
        "记者 陈镕 通讯员 𠮷雅）"
    )
    return [*rotated, note]


def truncate_title(title: str) -> str:
    """The list-page link text: long titles cut to ``TRUNCATE_AT`` characters plus "..."."""
    return title if len(title) <= TRUNCATE_AT else title[:TRUNCATE_AT] + "..."


def article_path(article: DemoArticle) -> str:
    """The site path of an article page, e.g. ``/art/2022/10/8/art_1_12.html``."""
    day = article.published.astimezone(SHANGHAI)
    return f"/art/{day.year}/{day.month}/{day.day}/art_{COLUMN_ID}_{article.id}.html"


def list_page_path(page: int) -> str:
    """The site path of list page ``page`` (1-based)."""
    suffix = "" if page == 1 else f"_{page}"
    return f"/col/col{COLUMN_ID}/index{suffix}.html"


def make_etag(body: bytes) -> str:
    """A strong ETag: a hash of the response body."""
    return '"' + hashlib.sha1(body).hexdigest() + '"'


def encode_text(text: str, encoding: str) -> bytes:
    """Encode a page; characters the encoding lacks become numeric character references."""
    return text.encode(encoding, errors="xmlcharrefreplace")


def format_http_date(moment: datetime) -> str:
    """An HTTP date (IMF-fixdate, GMT)."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def is_not_modified(if_none_match: str | None, if_modified_since: str | None, page: Page) -> bool:
    """Whether a conditional GET may be answered with 304 (If-None-Match wins when present)."""
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return any(tag == "*" or tag.removeprefix("W/") == page.etag for tag in tags)
    if not if_modified_since:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since >= page.last_modified.replace(microsecond=0)


_HEAD = Template(
    """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta charset="$charset">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="Generator" content="大汉版通">
<meta name="Author" content="大汉网络">
<meta name="SiteName" content="$site_name">
<meta name="ColumnName" content="$column_name">
$extra_meta<title>$page_title</title>
<style type="text/css">
 td{padding-left: 5px;}
 .news-list .item{overflow: hidden; line-height: 36px; border-bottom: 1px dashed #ddd;}
 .news-list .item em{float: right; font-style: normal; color: #999;}
 #zoom{font-size: 16px; line-height: 2;}
</style>
</head>
<body>
<div class="header">
<div class="logo"><a href="/col/col1/index.html">$site_name</a></div>
<ul class="nav">
<li><a href="/col/col1/index.html">首页</a></li>
<li class="on"><a href="/col/col1/index.html">工作案例</a></li>
<li><a href="/col/col2/index.html">十年之路</a></li>
<li><a href="/col/col3/index.html">视频回顾</a></li>
<li><a href="/col/col4/index.html">媒体聚焦</a></li>
<li><a href="/col/col5/index.html">案例总览</a></li>
</ul>
</div>
<div class="main">
<table class="bt-position" cellspacing="0" cellpadding="0"><tr>
<td><a href="/col/col1/index.html">首页</a></td>
<td>&nbsp;&gt;&nbsp;<a href="/col/col1/index.html">$column_name</a></td>
</tr></table>
"""
)

_FOOT = """</div>
<div class="footer">
<p>中国科学技术协会版权所有</p>
<p>中国科协宣传文化部主办　中国科协信息中心承办</p>
<p>地址：北京市海淀区复兴路3号 邮编：100863</p>
<p><span class="hanweb" style="display: none;">Produced By 大汉网络 大汉版通发布系统</span></p>
</div>
</body>
</html>
"""

_ARTICLE = Template(
    """<div class="article">
<h1 class="title">$title</h1>
<div class="info">发布时间：$day　来源：$source</div>
<div class="tools">【字体：<a href="javascript:doZoom(20)">大</a>
<a href="javascript:doZoom(16)">中</a>
<a href="javascript:doZoom(14)">小</a>】</div>
<div id="zoom">
$body
</div>
<div class="print">
<a href="javascript:window.print()">【打印本页】</a>
<a href="javascript:window.close()">【关闭窗口】</a>
</div>
</div>
<script type="text/javascript">
function doZoom(size) { document.getElementById("zoom").style.fontSize = size + "px"; }
</script>
"""
)

_LIST = Template(
    """<div class="news-list">
$items
</div>
<div class="page">$pager</div>
"""
)

_RSS = Template(
    """<?xml version="1.0" encoding="$charset"?>
<rss version="2.0">
<channel>
<title>$title</title>
<link>$link</link>
<description>$description</description>
<language>zh-cn</language>
<generator>大汉版通</generator>
<lastBuildDate>$build_date</lastBuildDate>
$items
</channel>
</rss>
"""
)

_RSS_ITEM = Template(
    """<item>
<title>$title</title>
<link>$link</link>
<guid isPermaLink="true">$link</guid>
<pubDate>$pub_date</pubDate>
<description>$description</description>
</item>"""
)


class DemoServer(ThreadingHTTPServer):
    """The HTTP server of one ``DemoSite``."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], site: DemoSite) -> None:
        super().__init__(address, DemoHandler)
        self.site = site

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients dropping connections is normal under benchmarks."""


class DemoHandler(BaseHTTPRequestHandler):
    """Routes GET/HEAD requests to the site's pages; logs nothing to stderr."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "HanwebDemo/1.0"
    sys_version = ""

    def do_GET(self) -> None:
        self.answer(send_body=True)

    def do_HEAD(self) -> None:
        self.answer(send_body=False)

    def version_string(self) -> str:
        """The Server header."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded in ``DemoSite.requests_log`` instead."""

    def answer(self, *, send_body: bool) -> None:
        """Serve one request: latency, routing, conditional GET, logging."""
        assert isinstance(self.server, DemoServer)
        site = self.server.site
        if site.latency > 0:
            time.sleep(site.latency)
        page = site.render_path(urlsplit(self.path).path)
        if page is None:
            status, page = 404, site.render_not_found()
        elif is_not_modified(
            self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"), page
        ):
            status = 304
        else:
            status = 200
        site.log_request(self.command, self.path, status)
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
        if status != 404:
            self.send_header("ETag", page.etag)
            self.send_header("Last-Modified", format_http_date(page.last_modified))
        self.end_headers()
        if send_body and status != 304:
            self.wfile.write(page.body)


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

    def edit_article(self, article_id: int, extra_paragraph: str) -> None:
        """Append a paragraph to an article's body; its page, ETag and Last-Modified change."""
        with self._lock:
            article = self.get_article(article_id)
            article.paragraphs.append(extra_paragraph)
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
        listing = _LIST_PATH.match(path)
        if listing:
            page = int(listing.group(1) or "1")
            if listing.group(1) is not None and page < 2:
                return None
            return self.render_list(page)
        if path == f"/col/col{COLUMN_ID}/rss.xml":
            return self.render_feed()
        found = _ARTICLE_PATH.match(path)
        if found:
            return self.render_article_path(path, int(found.group(4)))
        if _IMAGE_PATH.match(path):
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

    def render_head(self, page_title: str, extra_meta: str = "") -> str:
        """The shared page head, header, navigation and breadcrumb."""
        return _HEAD.substitute(
            charset=html.escape(self.charset),
            site_name=SITE_NAME,
            column_name=COLUMN_NAME,
            extra_meta=extra_meta,
            page_title=html.escape(page_title),
        )

    def render_article(self, article: DemoArticle) -> Page:
        """The article page (cached until the article is edited)."""
        with self._lock:
            cached = self._article_pages.get(article.id)
            if cached is not None:
                return cached
            local = article.published.astimezone(SHANGHAI)
            meta = (
                f'<meta name="ArticleTitle" content="{html.escape(article.title)}">\n'
                f'<meta name="PubDate" content="{local:%Y-%m-%d %H:%M}">\n'
                f'<meta name="ContentSource" content="{SOURCE_NAME}">\n'
            )
            text = (
                self.render_head(f"{article.title}_{COLUMN_NAME}_{SITE_NAME}", meta)
                + _ARTICLE.substitute(
                    title=html.escape(article.title),
                    day=f"{local:%Y-%m-%d}",
                    source=SOURCE_NAME,
                    body=self.render_body(article),
                )
                + _FOOT
            )
            page = self.make_page(text, "text/html", self.modified_at(article))
            self._article_pages[article.id] = page
            return page

    def render_body(self, article: DemoArticle) -> str:
        """The ``#zoom`` HTML: paragraphs with the seed's sub-headings and figures between them."""
        inserts: dict[int, list[str]] = {}
        for position, block in self.seed.inserts:
            inserts.setdefault(position, []).append(block)
        blocks: list[str] = []
        for index, paragraph in enumerate(article.paragraphs):
            blocks.extend(inserts.pop(index, []))
            blocks.append(f"<p>{html.escape(paragraph)}</p>")
        for rest in inserts.values():
            blocks.extend(rest)
        return "\n".join(blocks)

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
            items = "\n".join(self.render_item(article) for article in shown)
            text = (
                self.render_head(f"{COLUMN_NAME}_{SITE_NAME}")
                + _LIST.substitute(items=items, pager=self.render_pager(page))
                + _FOOT
            )
            newest = self.articles[0].published if self.articles else TINY_JPEG_MODIFIED
            rendered = self.make_page(text, "text/html", newest)
            self._list_pages[page] = rendered
            return rendered

    def render_item(self, article: DemoArticle) -> str:
        """One list entry: a link with the full title attribute and truncated text, and a date."""
        title = html.escape(article.title)
        shown = html.escape(truncate_title(article.title))
        day = article.published.astimezone(SHANGHAI)
        return (
            f'<div class="item"><a href="{article_path(article)}" title="{title}" '
            f'target="_blank">{shown}</a><em>{day:%Y-%m-%d}</em></div>'
        )

    def render_pager(self, page: int) -> str:
        """The pager: counts, first/previous/next/last links."""
        pages = self.page_count
        parts = [f"<span>共{len(self.articles)}条　第{page}/{pages}页</span>"]
        parts.append(f'<a class="first" href="{list_page_path(1).rsplit("/", 1)[1]}">首页</a>')
        if page > 1:
            previous = list_page_path(page - 1).rsplit("/", 1)[1]
            parts.append(f'<a class="prev" href="{previous}">上一页</a>')
        if page < pages:
            following = list_page_path(page + 1).rsplit("/", 1)[1]
            parts.append(f'<a class="next" href="{following}">下一页</a>')
        parts.append(f'<a class="last" href="{list_page_path(pages).rsplit("/", 1)[1]}">尾页</a>')
        return " ".join(parts)

    def render_feed(self) -> Page:
        """The RSS 2.0 feed of the newest ``page_size`` articles (cached until a change)."""
        with self._lock:
            if self._feed_page is not None:
                return self._feed_page
            shown = self.articles[: self.page_size]
            items = "\n".join(self.render_feed_item(article) for article in shown)
            changed = [self.modified_at(article) for article in shown]
            last_modified = max(changed) if changed else TINY_JPEG_MODIFIED
            text = _RSS.substitute(
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

    def render_feed_item(self, article: DemoArticle) -> str:
        """One RSS item: title, link, guid, pubDate (+0800) and the first paragraph."""
        return _RSS_ITEM.substitute(
            title=xml_escape(article.title),
            link=xml_escape(self.base_url + article_path(article)),
            pub_date=format_datetime(article.published.astimezone(SHANGHAI)),
            description=xml_escape(article.paragraphs[0]),
        )

    def render_not_found(self) -> Page:
        """A small 404 page."""
        text = (
            f'<!DOCTYPE html><html><head><meta charset="{html.escape(self.charset)}">'
            "<title>404</title></head><body><h1>404 页面不存在</h1></body></html>\n"
        )
        return self.make_page(text, "text/html", TINY_JPEG_MODIFIED)


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
