"""Local fixture sites for the three CMS families herald reads: Hanweb, Hanweb JPaaS and TRS WCM.

``HanwebSite``, ``JpaasSite`` and ``TrsSite`` each serve one column of articles generated from the
seed article over a threaded ``http.server`` on 127.0.0.1. Their markup, URLs and paging calls
follow the real sites (as seen in public scrapers of them), not the parser one would wish for:

- Hanweb (大汉版通): the column page carries the first group of records as XML/CDATA inside
  ``<script type="text/xml"><datastore>``; further records come from ``dataproxy.jsp``
  (``startrecord``/``endrecord``/``perpage``, form fields by POST or the same as GET query).
- JPaaS: the column page holds only ``<script parseType="bulidstatic" url=… queryData="{'…'}">``;
  the list comes as JSON (``data.html``) from ``…/front/page/build/unit``, paged by ``paramJson``.
- TRS WCM: static ``index.html``, ``index_1.html``… with ``createPageHTML(pages, current, …)``
  (``current`` 0-based) and relative ``./YYYYMM/tYYYYMMDD_<id>.html`` links.

Every site offers strong ETags, Last-Modified and 304 answers, a configurable (and optionally
mislabelled) charset, latency, an ``anti_bot`` switch (412 or 521 with a JavaScript cookie
challenge), a ``layout`` switch ("classic" / "redesign") that renames the list markup, and
``expected()`` with the ground truth. Content is deterministic; pages render lazily and are cached.

It must NOT reach the network beyond its own listening socket, read ``/work/shared`` at run time,
or import herald modules other than ``worker.demo.site`` (the bundled seed and a tiny JPEG).
"""

from __future__ import annotations

import codecs
import hashlib
import html
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo

from worker.demo.pages import TINY_JPEG, Seed, load_seed

SHANGHAI = ZoneInfo("Asia/Shanghai")
START_DATE = date(2022, 10, 8)
TRUNCATE_AT = 30
# The column pauses after its 30 newest articles: the 31st is dated 273 days earlier (2022-01-08
# for the default start), so a 47-article column runs from 2022-10-08 back to 2021-12-23.
GAP_AFTER = 30
GAP_DAYS = 273
ANTI_BOT_STATUSES = (412, 521)
LAYOUTS = ("classic", "redesign")
ARTICLE_CACHE_SIZE = 256  # rendered article pages kept; bounds memory for 2,000-article sites
ASSET_MODIFIED = datetime(2022, 10, 8, 1, 30, tzinfo=UTC)
TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)

# Titles from the seed's title, sub-headings and captions; ``{n}`` is the article id. Templates 1,
# 2, 3 and 5 are longer than TRUNCATE_AT; template 3 holds 镕 (not in GB2312) and 𠮷 (not in GBK).
TITLE_TEMPLATES: tuple[str, ...] = (
    "打造全国地方科协综合改革示范区（第{n}期）",
    "拉开大幕：重庆市科协召开推进示范区建设工作会议，部署打造全国地方科协综合改革示范区（第{n}期）",
    "研判形势：《重庆打造全国地方科协综合改革示范区实施方案（2021-2025年）》正式印发（第{n}期）",
    "抓“牛鼻子”：记者陈镕、𠮷雅走访渝妹儿科普兴农分队，科技志愿服务送到田间地头（第{n}期）",
    "重庆科技融媒体中心揭牌仪式在科协大厦举行（第{n}期）",
    "深化科技社团改革成为打造全国地方科协综合改革示范区的“牛鼻子”——重庆样本（第{n}期）",
)
SOURCES: tuple[str, ...] = ("重庆市科协", "中国科协")


@dataclass
class CmsArticle:
    """One article of a fixture column; ``paragraphs`` are the plain body paragraphs in order."""

    id: int
    title: str
    published: datetime  # Beijing time
    source: str
    paragraphs: list[str]

    @property
    def day(self) -> date:
        """The publication day in Beijing."""
        return self.published.astimezone(SHANGHAI).date()

    @property
    def has_attachment(self) -> bool:
        """Whether the article page links one PDF attachment (every fourth article)."""
        return self.id % 4 == 1


@dataclass(frozen=True)
class Reply:
    """A rendered response: body, status, validators and extra headers."""

    body: bytes
    content_type: str
    status: int = 200
    etag: str = ""
    last_modified: datetime | None = None
    headers: tuple[tuple[str, str], ...] = ()


def make_title(article_id: int) -> str:
    """The deterministic full title of article ``article_id``."""
    return TITLE_TEMPLATES[article_id % len(TITLE_TEMPLATES)].format(n=article_id)


def truncate_title(title: str) -> str:
    """The list-page link text: long titles cut to ``TRUNCATE_AT`` characters plus "..."."""
    return title if len(title) <= TRUNCATE_AT else title[:TRUNCATE_AT] + "..."


def publish_time(article_id: int) -> dt_time:
    """A deterministic time of day between 08:00 and 16:59 (Beijing)."""
    return dt_time(8 + article_id % 9, (article_id * 7) % 60)


def article_day(start: date, index: int) -> date:
    """The day of the ``index``-th newest article: one day apart, with a pause after GAP_AFTER."""
    if index < GAP_AFTER:
        return start - timedelta(days=index)
    return start - timedelta(days=GAP_DAYS + index - GAP_AFTER)


def make_paragraphs(seed: Seed, article_id: int) -> list[str]:
    """The seed paragraphs rotated by the id, plus a closing note with 镕 and 𠮷."""
    shift = article_id % len(seed.paragraphs)
    rotated = list(seed.paragraphs[shift:] + seed.paragraphs[:shift])
    note = f"（案例编号 CAST-{article_id:05d}。记者 陈镕 通讯员 𠮷雅）"
    return [*rotated, note]


def make_etag(body: bytes) -> str:
    """A strong ETag: a hash of the response body."""
    return '"' + hashlib.sha1(body).hexdigest() + '"'


def format_http_date(moment: datetime) -> str:
    """An HTTP date (IMF-fixdate, GMT)."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def hex_id(kind: str, number: int) -> str:
    """A stable 32-hex identifier, the way CMSs name articles and files."""
    return hashlib.md5(f"{kind}-{number}".encode()).hexdigest()


def is_not_modified(if_none_match: str | None, if_modified_since: str | None, reply: Reply) -> bool:
    """Whether a conditional GET may be answered with 304 (If-None-Match wins when present)."""
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return any(tag == "*" or tag.removeprefix("W/") == reply.etag for tag in tags)
    if not if_modified_since or reply.last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since >= reply.last_modified.replace(microsecond=0)


def parse_params(text: str) -> dict[str, str]:
    """Query or form fields (first value wins; undecodable bytes replaced)."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        params.setdefault(key, value)
    return params


def render_challenge(status: int, path: str) -> Reply:
    """A WAF answer: 412 (an obfuscating script vendor) or 521 (a cookie-clearance vendor)."""
    token = hashlib.sha1(f"{status}:{path}".encode()).hexdigest()
    if status == 412:
        body = (
            '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" '
            'content="text/html; charset=utf-8"><meta http-equiv="Cache-Control" '
            'content="no-cache, no-store, must-revalidate">'
            f'<meta id="{token[:22]}" content="{token}{token[:24]}" r="m">'
            f'<script type="text/javascript" r="m">$_ts=window[\'$_ts\'];if(!$_ts)$_ts={{}};'
            f'$_ts.nsd=58012;$_ts.cd="qEEErrAlqGq{token[:30]}";'
            f'document.cookie="J6Kp2Xw0SnT={token}; path=/";location.reload()</script>'
            "</head><body></body></html>"
        )
        cookie = f"J6Kp2Xw0SnO={token[:40]}; Path=/; HttpOnly"
    else:
        parts = "+".join(f"('{char}')" for char in "__jsl_clearance_s=")
        body = (
            f"<html><body><script>document.cookie={parts}+('1665192060.{token[:3]}|0|')"
            f"+('{token[:24]}')+(';max-age=3600;path=/');"
            "location.href=location.pathname+location.search</script></body></html>"
        )
        cookie = f"__jsluid_h={token[:32]}; max-age=31536000; path=/; HttpOnly"
    return Reply(
        body.encode(),
        "text/html; charset=utf-8",
        status=status,
        headers=(("Set-Cookie", cookie), ("Cache-Control", "no-cache")),
    )


class CmsServer(ThreadingHTTPServer):
    """The HTTP server of one fixture site."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], site: CmsSite) -> None:
        super().__init__(address, CmsHandler)
        self.site = site

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients dropping connections is normal under benchmarks."""


class CmsHandler(BaseHTTPRequestHandler):
    """Routes GET/HEAD/POST to the site; answers conditional GETs; logs to ``requests_log``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    sys_version = ""

    def do_GET(self) -> None:
        self.answer(send_body=True)

    def do_HEAD(self) -> None:
        self.answer(send_body=False)

    def do_POST(self) -> None:
        self.answer(send_body=True)

    def version_string(self) -> str:
        """The Server header of the site's family."""
        assert isinstance(self.server, CmsServer)
        return self.server.site.server_header

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded in ``CmsSite.requests_log`` instead."""

    def read_form(self) -> dict[str, str]:
        """The urlencoded request body of a POST (empty otherwise)."""
        length = int(self.headers.get("Content-Length") or 0)
        if self.command != "POST" or length <= 0:
            return {}
        return parse_params(self.rfile.read(length).decode("latin-1"))

    def answer(self, *, send_body: bool) -> None:
        """Serve one request: latency, routing, conditional GET, logging."""
        assert isinstance(self.server, CmsServer)
        site = self.server.site
        if site.latency > 0:
            time.sleep(site.latency)
        parts = urlsplit(self.path)
        form = self.read_form()
        reply = site.respond(self.command, parts.path, parse_params(parts.query), form)
        status = reply.status
        if (
            status == 200
            and reply.etag
            and self.command in ("GET", "HEAD")
            and is_not_modified(
                self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"), reply
            )
        ):
            status = 304
        site.log_request(self.command, self.path, status)
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
        if reply.etag:
            self.send_header("ETag", reply.etag)
        if reply.last_modified is not None:
            self.send_header("Last-Modified", format_http_date(reply.last_modified))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if send_body and status != 304:
            self.wfile.write(reply.body)


class CmsSite:
    """A deterministic column of ``articles`` articles of one CMS family, served on ``host:port``.

    Subclasses render the family's pages; this class holds the articles, the server lifecycle,
    caching, the anti-bot and layout switches and the request log.
    """

    family: ClassVar[str] = ""
    server_header: ClassVar[str] = "nginx"
    site_name: ClassVar[str] = "科协改革进行时"
    column_name: ClassVar[str] = "工作案例"
    default_per_page: ClassVar[int] = 15

    def __init__(
        self,
        *,
        articles: int = 47,
        per_page: int | None = None,
        encoding: str = "utf-8",
        declared_charset: str | None = None,
        latency: float = 0.0,
        anti_bot: int | None = None,
        layout: str = "classic",
        start_date: date = START_DATE,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if articles < 0:
            raise ValueError(f"{self.family}: articles must be >= 0")
        codecs.lookup(encoding)  # fail early on an unknown codec
        self.per_page = self.default_per_page if per_page is None else per_page
        if self.per_page < 1:
            raise ValueError(f"{self.family}: per_page must be >= 1")
        self.encoding = encoding
        self.charset = declared_charset or encoding
        self.latency = latency
        self.start_date = start_date
        self.host = host
        self.port = port
        self.seed = load_seed()
        self.articles: list[CmsArticle] = [
            self.make_article(articles - index, article_day(start_date, index))
            for index in range(articles)
        ]
        self.requests_log: list[tuple[str, str, int]] = []
        self._by_id = {article.id: article for article in self.articles}
        self._modified: dict[int, datetime] = {}
        self._article_cache: dict[int, Reply] = {}
        self._list_cache: dict[str, Reply] = {}
        self._lock = threading.RLock()
        self._anti_bot: int | None = None
        self._layout = "classic"
        self.anti_bot = anti_bot
        self.layout = layout
        self._server: CmsServer | None = None
        self._thread: threading.Thread | None = None
        self._base = ""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a daemon thread; return the base URL (``http://127.0.0.1:PORT``)."""
        if self._server is not None:
            return self._base
        server = CmsServer((self.host, self.port), self)
        host, port = server.server_address[:2]
        self._base = f"http://{host!s}:{port}"
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

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- switches --------------------------------------------------------------------------

    @property
    def anti_bot(self) -> int | None:
        """None, or the status (412 or 521) every request is answered with, plus a JS challenge."""
        return self._anti_bot

    @anti_bot.setter
    def anti_bot(self, status: int | None) -> None:
        if status is not None and status not in ANTI_BOT_STATUSES:
            raise ValueError(f"{self.family}: anti_bot must be None, 412 or 521, not {status}")
        self._anti_bot = status

    @property
    def layout(self) -> str:
        """ "classic" or "redesign": the redesign renames the list containers and classes."""
        return self._layout

    @layout.setter
    def layout(self, name: str) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"{self.family}: layout must be one of {LAYOUTS}, not {name!r}")
        with self._lock:
            self._layout = name
            self._list_cache.clear()

    # -- URLs ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The base URL; raises if the site is not started."""
        if not self._base:
            raise RuntimeError(f"{self.family}: site is not started")
        return self._base

    @property
    def list_path(self) -> str:
        """The site path of the column (list) page."""
        raise NotImplementedError

    @property
    def list_url(self) -> str:
        """The absolute URL of the column (list) page."""
        return self.base_url + self.list_path

    def article_path(self, article: CmsArticle) -> str:
        """The site path of an article page."""
        raise NotImplementedError

    def article_url(self, article_id: int) -> str:
        """The absolute URL of an article page."""
        return self.base_url + self.article_path(self.get_article(article_id))

    def expected(self) -> list[dict[str, str]]:
        """Ground truth, newest first: ``{"url", "title" (full), "date" (YYYY-MM-DD)}``."""
        with self._lock:
            return [
                {
                    "url": self.base_url + self.article_path(article),
                    "title": article.title,
                    "date": article.day.isoformat(),
                }
                for article in self.articles
            ]

    # -- content changes -------------------------------------------------------------------

    def make_article(self, article_id: int, day: date) -> CmsArticle:
        """Build article ``article_id`` published on ``day`` (Beijing time)."""
        return CmsArticle(
            id=article_id,
            title=make_title(article_id),
            published=datetime.combine(day, publish_time(article_id), tzinfo=SHANGHAI),
            source=SOURCES[article_id % len(SOURCES)],
            paragraphs=make_paragraphs(self.seed, article_id),
        )

    def get_article(self, article_id: int) -> CmsArticle:
        """The article with this id; KeyError if there is none."""
        with self._lock:
            try:
                return self._by_id[article_id]
            except KeyError:
                raise KeyError(f"{self.family}: no article {article_id}") from None

    def add_article(self, title: str | None = None) -> CmsArticle:
        """Publish a new newest article, one day after the current newest one."""
        with self._lock:
            if self.articles:
                article_id = max(self._by_id) + 1
                day = self.articles[0].day + timedelta(days=1)
            else:
                article_id, day = 1, self.start_date
            article = self.make_article(article_id, day)
            if title is not None:
                article.title = title
            self.articles.insert(0, article)
            self._by_id[article_id] = article
            self.index_article(article)
            self._list_cache.clear()
            return article

    def edit_article(self, article_id: int, extra_paragraph: str) -> None:
        """Append a paragraph to an article's body; its page, ETag and Last-Modified change."""
        with self._lock:
            article = self.get_article(article_id)
            article.paragraphs.append(extra_paragraph)
            previous = self.modified_at(article).replace(microsecond=0)
            now = datetime.now(UTC).replace(microsecond=0)
            self._modified[article_id] = max(now, previous + timedelta(seconds=1))
            self._article_cache.pop(article_id, None)

    def index_article(self, article: CmsArticle) -> None:
        """Hook for subclasses that index articles by another key."""

    def modified_at(self, article: CmsArticle) -> datetime:
        """When the article last changed: its last edit, else its publication."""
        with self._lock:
            return self._modified.get(article.id, article.published)

    def newest_change(self) -> datetime:
        """Last-Modified of list pages: the newest publication (list content changes then)."""
        with self._lock:
            return self.articles[0].published if self.articles else ASSET_MODIFIED

    # -- request bookkeeping ---------------------------------------------------------------

    def log_request(self, method: str, path: str, status: int) -> None:
        """Record one answered request (path with query)."""
        with self._lock:
            self.requests_log.append((method, path, status))

    def hits(self, path_prefix: str) -> int:
        """How many requests asked for a path (with query) starting with ``path_prefix``."""
        with self._lock:
            return sum(1 for _, path, _ in self.requests_log if path.startswith(path_prefix))

    # -- dispatch --------------------------------------------------------------------------

    def respond(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply:
        """The reply to one request: the anti-bot wall, the family's route, or 404."""
        if self.anti_bot is not None:
            return render_challenge(self.anti_bot, path)
        reply = self.route(method, path, params, form)
        if reply is None:
            return self.render_status(404, "404 页面不存在")
        if method == "POST" and not reply.allows_post:
            return self.render_status(405, "405 Method Not Allowed")
        return reply.reply

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Routed | None:
        """The family's page for a path, or None when the path is unknown."""
        raise NotImplementedError

    # -- rendering helpers -----------------------------------------------------------------

    def make_page(
        self, text: str, last_modified: datetime, content_type: str = "text/html"
    ) -> Reply:
        """Encode a text in the site's encoding, label it with the declared charset."""
        body = text.encode(self.encoding, errors="xmlcharrefreplace")
        return Reply(
            body, f"{content_type}; charset={self.charset}", 200, make_etag(body), last_modified
        )

    def render_status(self, status: int, message: str) -> Reply:
        """A small error page."""
        text = (
            f'<!DOCTYPE html><html><head><meta charset="{html.escape(self.charset)}">'
            f"<title>{status}</title></head><body><h1>{html.escape(message)}</h1></body></html>\n"
        )
        body = text.encode(self.encoding, errors="xmlcharrefreplace")
        return Reply(body, f"text/html; charset={self.charset}", status)

    def cached_article(self, article: CmsArticle) -> Reply:
        """The article page, kept (newest ``ARTICLE_CACHE_SIZE`` pages) until the article changes.

        Rendering is deterministic, so an evicted page comes back with the same ETag.
        """
        with self._lock:
            cached = self._article_cache.get(article.id)
            if cached is None:
                cached = self.make_page(self.render_article(article), self.modified_at(article))
                if len(self._article_cache) >= ARTICLE_CACHE_SIZE:
                    del self._article_cache[next(iter(self._article_cache))]
                self._article_cache[article.id] = cached
            return cached

    def cached_list(self, key: str, render: Callable[[], Reply]) -> Reply:
        """A list page or API answer, rendered once per layout until an article is added."""
        with self._lock:
            full_key = f"{self._layout}:{key}"
            cached = self._list_cache.get(full_key)
            if cached is None:
                cached = render()
                self._list_cache[full_key] = cached
            return cached

    def render_article(self, article: CmsArticle) -> str:
        """The article page HTML of the family."""
        raise NotImplementedError

    def image_src(self, article: CmsArticle, index: int, seed_src: str) -> str:
        """Where the family stores the ``index``-th image of an article."""
        raise NotImplementedError

    def render_body(self, article: CmsArticle) -> str:
        """The body HTML: paragraphs with the seed's sub-headings and figures between them."""
        inserts: dict[int, list[str]] = {}
        image_index = 0
        for position, block in self.seed.inserts:
            if "<img" in block:
                seed_src = self.seed.images[image_index]
                src = html.escape(self.image_src(article, image_index, seed_src))
                block = block.replace(f'src="{seed_src}"', f'src="{src}"')
                image_index += 1
            inserts.setdefault(position, []).append(block)
        blocks: list[str] = []
        for index, paragraph in enumerate(article.paragraphs):
            blocks.extend(inserts.pop(index, []))
            blocks.append(f"<p>{html.escape(paragraph)}</p>")
        for rest in inserts.values():
            blocks.extend(rest)
        return "\n".join(blocks)


@dataclass(frozen=True)
class Routed:
    """A routed reply and whether its endpoint accepts POST."""

    reply: Reply
    allows_post: bool = False


def asset(body: bytes, content_type: str, *extra: tuple[str, str]) -> Routed:
    """A static file (image or attachment) with validators."""
    return Routed(Reply(body, content_type, 200, make_etag(body), ASSET_MODIFIED, tuple(extra)))


def page_count(total: int, size: int) -> int:
    """How many pages of ``size`` hold ``total`` records (at least one)."""
    return max(1, -(-total // size))


# ==============================================================================================
# Hanweb classic (大汉版通 JCMS)
# ==============================================================================================

_HANWEB_HEAD = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" \
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<meta http-equiv="X-UA-Compatible" content="IE=edge" />
<meta name="Generator" content="大汉版通" />
<meta name="Author" content="大汉网络" />
<meta name="SiteName" content="{site}" />
<meta name="SiteDomain" content="kxgg.example.cn" />
<meta name="SiteIDCode" content="bm73000001" />
<meta name="ColumnName" content="{column}" />
<meta name="ColumnType" content="{column}" />
{meta}<title>{title}</title>
<link href="/images/2022/style.css" rel="stylesheet" type="text/css" />
<script language="javascript" src="/module/jslib/jquery/jquery.js"></script>
<script language="javascript" src="/module/jslib/urite/urite.min.js"></script>
</head>
<body>
<div class="header"><div class="logo"><a href="/">{site}</a></div>
<ul class="nav">
<li><a href="/">首页</a></li>
<li class="on"><a href="/col/col{col}/index.html">工作案例</a></li>
<li><a href="/col/col1229580315/index.html">十年之路</a></li>
<li><a href="/col/col1229580316/index.html">视频回顾</a></li>
<li><a href="/col/col1229580317/index.html">媒体聚焦</a></li>
<li><a href="/col/col1229580318/index.html">案例总览</a></li>
</ul></div>
<table class="bt-position" width="1200" cellspacing="0" cellpadding="0" align="center"><tr>
<td><a href="/">首页</a></td>
<td>&nbsp;&gt;&nbsp;<a href="/col/col{col}/index.html">{column}</a></td>
</tr></table>
"""

_HANWEB_FOOT = """<div class="footer">
<p>中国科学技术协会版权所有</p>
<p>中国科协宣传文化部主办　中国科协信息中心承办</p>
<p>地址：北京市海淀区复兴路3号 邮编：100863</p>
<div style="display:none"><a href="http://www.hanweb.com" target="_blank">\
Produced By 大汉网络 大汉版通发布系统</a></div>
</div>
</body>
</html>
"""


class HanwebSite(CmsSite):
    """Classic Hanweb: ``/col/col<ID>/index.html`` with an XML datastore and ``dataproxy.jsp``.

    The column page carries the first group (``per_page * group_size`` records) in
    ``<div id="<unitid>"><script type="text/xml"><datastore>``; ``dataproxy.jsp`` answers any
    ``startrecord``..``endrecord`` range with ``<totalrecord>``. Missing ``columnid``/``unitid``
    give 400, wrong ones an empty recordset. The column page ignores its query string
    (``?uid=…&pageNum=2`` is handled by the browser's jpage script on real sites).
    """

    family = "hanweb"
    server_header = "Apache-Coyote/1.1"
    COLUMN_ID: ClassVar[int] = 1229580314
    UNIT_ID: ClassVar[int] = 6983417
    WEB_ID: ClassVar[int] = 67
    ARTICLE_BASE: ClassVar[int] = 7_640_000
    PROXY_PATH: ClassVar[str] = "/module/web/jpage/dataproxy.jsp"
    DOWNLOAD_PATH: ClassVar[str] = "/module/download/downfile.jsp"

    def __init__(self, *, group_size: int = 3, **options: Any) -> None:
        if group_size < 1:
            raise ValueError("hanweb: group_size must be >= 1")
        self.group_size = group_size
        super().__init__(**options)
        self._article_path = re.compile(
            rf"^/art/\d{{4}}/\d{{1,2}}/\d{{1,2}}/art_{self.COLUMN_ID}_(\d+)\.html$"
        )

    @property
    def list_path(self) -> str:
        return f"/col/col{self.COLUMN_ID}/index.html"

    @property
    def proxy_url(self) -> str:
        """The absolute URL of ``dataproxy.jsp`` (without query)."""
        return self.base_url + self.PROXY_PATH

    @property
    def group(self) -> int:
        """Records per group: what the column page holds and one jpage proxy call fetches."""
        return self.per_page * self.group_size

    def proxy_form(self) -> dict[str, str]:
        """The form fields the site's jpage script posts to ``dataproxy.jsp``."""
        return {
            "col": "1",
            "appid": "1",
            "webid": str(self.WEB_ID),
            "path": "/",
            "columnid": str(self.COLUMN_ID),
            "sourceContentType": "1",
            "unitid": str(self.UNIT_ID),
            "webname": self.site_name,
            "permissiontype": "0",
        }

    def article_path(self, article: CmsArticle) -> str:
        day = article.day
        number = self.ARTICLE_BASE + article.id
        return f"/art/{day.year}/{day.month}/{day.day}/art_{self.COLUMN_ID}_{number}.html"

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Routed | None:
        if path == self.list_path:
            return Routed(self.cached_list("column", self.render_column))
        if path == self.PROXY_PATH:
            return Routed(self.render_proxy({**params, **form}), allows_post=True)
        found = self._article_path.match(path)
        if found:
            with self._lock:
                article = self._by_id.get(int(found.group(1)) - self.ARTICLE_BASE)
                if article is None or self.article_path(article) != path:
                    return None
                return Routed(self.cached_article(article))
        if re.match(r"^/picture/(?:[\w-]+/)*[\w-]+\.(?:jpg|jpeg|png|gif)$", path):
            return asset(TINY_JPEG, "image/jpeg")
        if path == self.DOWNLOAD_PATH and params.get("filename", "").endswith(".pdf"):
            disposition = f'attachment; filename="{params["filename"]}"'
            return asset(TINY_PDF, "application/octet-stream", ("Content-Disposition", disposition))
        return None

    # -- list ------------------------------------------------------------------------------

    def render_record(self, article: CmsArticle) -> str:
        """One record's HTML (the CDATA content)."""
        title = html.escape(article.title)
        shown = html.escape(truncate_title(article.title))
        href = self.article_path(article)
        if self.layout == "classic":
            return (
                f'<li><a href="{href}" title="{title}" target="_blank">{shown}</a>'
                f"<span>{article.day:%Y-%m-%d}</span></li>"
            )
        return (
            f'<div class="zc-news-item"><a class="zc-news-title" href="{href}" title="{title}" '
            f'target="_blank">{shown}</a><i class="zc-news-date">{article.day:%Y.%m.%d}</i></div>'
        )

    def render_recordset(self, shown: Sequence[CmsArticle]) -> str:
        """``<recordset>`` with one CDATA ``<record>`` per article."""
        records = "".join(
            f"<record><![CDATA[\n{self.render_record(article)}]]></record>\n" for article in shown
        )
        return f"<recordset>\n{records}</recordset>\n"

    def nextgroup_href(self) -> str:
        """The ``dataproxy.jsp`` URL a column page names in ``<nextgroup>``."""
        return (
            f"{self.PROXY_PATH}?page=1&appid=1&appid=1&webid={self.WEB_ID}&path=/"
            f"&columnid={self.COLUMN_ID}&unitid={self.UNIT_ID}"
            f"&webname={quote(self.site_name)}&permissiontype=0"
        )

    def render_column(self) -> Reply:
        """The column page: chrome, the first group of records in XML, the jpage config."""
        with self._lock:
            shown = self.articles[: self.group]
            total = len(self.articles)
            datastore = (
                "<datastore>\n"
                f'<nextgroup><![CDATA[<a href="{self.nextgroup_href()}"></a>]]></nextgroup>\n'
                + self.render_recordset(shown)
                + "</datastore>"
            )
            classic = self.layout == "classic"
            before = '<ul class="list">' if classic else '<div class="zc-news-list">'
            after = "</ul>" if classic else "</div>"
            wrapper = "default_pgContainer list-box" if classic else "zc-column-main"
            config = (
                f"$(function(){{$('#{self.UNIT_ID}').jpage({{themeName:'default',"
                f"showMode:'full',totalRecord:{total},openCookies:false,"
                f"dataBefore:'{before}',dataAfter:'{after}',groupSize:{self.group_size},"
                f"proxyUrl:'{self.PROXY_PATH}',perPage:{self.per_page},barPosition:'bottom',"
                f"ajaxParam:{{col:1,appid:'1',webid:{self.WEB_ID},path:'/',"
                f"columnid:{self.COLUMN_ID},sourceContentType:1,unitid:'{self.UNIT_ID}',"
                f"webname:'{self.site_name}',permissiontype:0}}}});}});"
            )
            text = (
                self.render_head(f"{self.column_name} {self.site_name}")
                + f'<div class="main"><div class="{wrapper}">\n'
                + f'<div class="column-title">{self.column_name}</div>\n'
                + f'<div id="{self.UNIT_ID}"><script type="text/xml">{datastore}</script>'
                + '<script language="javascript" src="/module/web/jpage/jpage.js"></script>'
                + f'<script type="text/javascript">{config}</script></div>\n'
                + "</div></div>\n"
                + _HANWEB_FOOT
            )
            return self.make_page(text, self.newest_change())

    def render_proxy(self, fields: Mapping[str, str]) -> Reply:
        """``dataproxy.jsp``: records ``startrecord``..``endrecord`` as a datastore."""
        columnid, unitid = fields.get("columnid", ""), fields.get("unitid", "")
        if not columnid or not unitid:
            return self.render_status(400, "HTTP Status 400 - Bad Request")
        try:
            if "startrecord" in fields:
                start = int(fields["startrecord"])
                end = int(fields.get("endrecord") or start + self.group - 1)
            else:
                page = int(fields.get("page") or "1")
                start, end = (page - 1) * self.group + 1, page * self.group
            per_page = int(fields.get("perpage") or self.per_page)
        except ValueError:
            return self.render_status(400, "HTTP Status 400 - Bad Request")
        with self._lock:
            known = columnid == str(self.COLUMN_ID) and unitid == str(self.UNIT_ID)
            rows = self.articles if known else []
            shown = rows[max(start, 1) - 1 : max(end, 0)]
            total = len(rows)
            text = (
                f"<datastore><totalrecord>{total}</totalrecord>"
                f"<totalpage>{page_count(total, max(per_page, 1)) if total else 0}</totalpage>\n"
                + self.render_recordset(shown)
                + "</datastore>\n"
            )
            return self.make_page(text, self.newest_change(), "text/xml")

    # -- article ---------------------------------------------------------------------------

    def image_src(self, article: CmsArticle, index: int, seed_src: str) -> str:
        name = seed_src.rsplit("/", 1)[-1].split(".")[0]
        return f"/picture/0/{article.day:%y%m%d}{name[:16]}.jpg"

    def render_head(self, title: str, meta: str = "") -> str:
        """The shared head, header, navigation and breadcrumb."""
        return _HANWEB_HEAD.format(
            charset=html.escape(self.charset),
            site=self.site_name,
            column=self.column_name,
            col=self.COLUMN_ID,
            meta=meta,
            title=html.escape(title),
        )

    def render_article(self, article: CmsArticle) -> str:
        local = article.published.astimezone(SHANGHAI)
        title = html.escape(article.title)
        meta = f'<meta name="ArticleTitle" content="{title}" />\n'
        if article.id % 3:
            meta += f'<meta name="PubDate" content="{local:%Y-%m-%d %H:%M}" />\n'
        meta += f'<meta name="ContentSource" content="{article.source}" />\n'
        if article.id % 2 == 0:
            shown_date = f"发布日期：{local:%Y-%m-%d %H:%M}"
        else:
            shown_date = f"发布时间：{local.year}年{local.month}月{local.day}日"
        attachment = ""
        if article.has_attachment:
            href = html.escape(
                f"{self.DOWNLOAD_PATH}?classid=0&filename={hex_id('hanweb-file', article.id)}.pdf"
            )
            attachment = f'\n<p>附件：<a href="{href}" target="_blank">实施方案.pdf</a></p>'
        number = self.ARTICLE_BASE + article.id
        return (
            self.render_head(article.title, meta)
            + '<div class="main"><table class="article" width="1000" align="center">\n'
            + f'<tr><td class="title" align="center">{title}</td></tr>\n'
            + f'<tr><td class="info" align="center"><span>{shown_date}</span>'
            + f"<span>来源：{article.source}</span><span>浏览次数："
            + '<script language="javascript" src="/module/visitcount/articlehits.jsp?'
            + f'colid={self.COLUMN_ID}&amp;artid={number}"></script></span>'
            + '<span class="font">【字体：<a href="javascript:doZoom(20)">大</a> '
            + '<a href="javascript:doZoom(16)">中</a> <a href="javascript:doZoom(14)">小</a>】'
            + "</span></td></tr>\n"
            + f'<tr><td><div id="zoom">\n{self.render_body(article)}{attachment}\n'
            + "</div></td></tr>\n"
            + '<tr><td class="print" align="right">【<a href="javascript:window.print()">打印本页'
            + '</a>】【<a href="javascript:window.close()">关闭窗口</a>】</td></tr>\n'
            + "</table></div>\n"
            + '<script language="javascript">function doZoom(size){'
            + 'document.getElementById("zoom").style.fontSize=size+"px";}</script>\n'
            + _HANWEB_FOOT
        )


# ==============================================================================================
# Hanweb JPaaS
# ==============================================================================================

_JPAAS_HEAD = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}">
<meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="SiteName" content="中国科学技术协会">
<meta name="SiteDomain" content="www.cast.example.cn">
<meta name="SiteIDCode" content="bm73000002">
<meta name="ColumnName" content="{column}">
<meta name="ColumnType" content="{column}">
{meta}<title>{title}</title>
<link rel="stylesheet" type="text/css" href="/static/css/common.css">
<script type="text/javascript" src="/static/js/jquery.min.js"></script>
</head>
<body>
<div class="header"><a class="logo" href="/">中国科学技术协会</a>
<ul class="nav"><li><a href="/">首页</a></li><li class="on"><a href="/xw/">新闻</a></li>
<li><a href="/xs/">学术</a></li><li><a href="/kp/">科普</a></li>
<li><a href="/zk/">智库</a></li></ul>
</div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/xw/">新闻</a> &gt; \
<a href="/xw/gzal/index.html">{column}</a></div>
"""

_JPAAS_FOOT = """<div class="footer">
<p>版权所有：中国科学技术协会　主办：中国科协宣传文化部</p>
<p>地址：北京市海淀区复兴路3号 邮编：100863</p>
</div>
</body>
</html>
"""


class JpaasSite(CmsSite):
    """Hanweb JPaaS: a column page with a ``bulidstatic`` script; the list comes as JSON.

    The API answers GET with the ``queryData`` fields plus ``paramJson={"pageNo":N,"pageSize":M}``
    (both optional: default page 1 of ``per_page``; pageSize capped at 100). Unknown ``webId`` or
    ``pageId`` give ``{"success":false,…}``; a wrong ``parseType``/``tagId``/``tplSetId`` gives
    ``success`` with an empty ``data.html``, as the real service does. JSON is always UTF-8;
    ``encoding`` applies to the HTML pages.
    """

    family = "jpaas"
    server_header = "nginx"
    WEB_ID: ClassVar[str] = "2bd2e5f1a6c04e0b9c8d7e6f5a4b3c21"
    PAGE_ID: ClassVar[str] = "8f3c2a1b0d9e4f7a6b5c4d3e2f1a0b9c"
    TPL_SET_ID: ClassVar[str] = "qK7vN2xR9mLp4TzW8sYb3"
    TAG_IDS: ClassVar[dict[str, str]] = {"classic": "当前栏目list", "redesign": "内容区域"}
    API_PATH: ClassVar[str] = "/api-gateway/jpaas-publish-server/front/page/build/unit"
    COLUMN_DIR: ClassVar[str] = "/xw/gzal/"
    FILES_DIR: ClassVar[str] = "/cms_files/filemanager/1941250064/attach/"
    MAX_PAGE_SIZE: ClassVar[int] = 100

    def __init__(self, **options: Any) -> None:
        self._by_hex: dict[str, int] = {}
        super().__init__(**options)
        for article in self.articles:
            self.article_hex(article)
        self._article_path = re.compile(
            rf"^{re.escape(self.COLUMN_DIR)}art/\d{{4}}/art_([0-9a-f]{{32}})\.html$"
        )

    @property
    def list_path(self) -> str:
        return f"{self.COLUMN_DIR}index.html"

    @property
    def api_url(self) -> str:
        """The absolute URL of the ``build/unit`` API (without query)."""
        return self.base_url + self.API_PATH

    @property
    def tag_id(self) -> str:
        """The template tag the column's list unit is published under (changes on redesign)."""
        return self.TAG_IDS[self.layout]

    def query_data(self) -> dict[str, str]:
        """The fields of the column page's ``queryData`` attribute."""
        return {
            "parseType": "bulidstatic",
            "webId": self.WEB_ID,
            "tplSetId": self.TPL_SET_ID,
            "pageType": "column",
            "tagId": self.tag_id,
            "editType": "null",
            "pageId": self.PAGE_ID,
        }

    def article_hex(self, article: CmsArticle) -> str:
        """The 32-hex name of an article page (indexed for lookups)."""
        name = hex_id("jpaas-article", article.id)
        self._by_hex[name] = article.id
        return name

    def index_article(self, article: CmsArticle) -> None:
        self.article_hex(article)

    def article_path(self, article: CmsArticle) -> str:
        return f"{self.COLUMN_DIR}art/{article.day.year}/art_{self.article_hex(article)}.html"

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Routed | None:
        if path in (self.list_path, self.COLUMN_DIR):
            return Routed(self.cached_list("column", self.render_column))
        if path == self.API_PATH:
            return Routed(self.render_api(params))
        found = self._article_path.match(path)
        if found:
            with self._lock:
                article_id = self._by_hex.get(found.group(1))
                article = self._by_id.get(article_id) if article_id is not None else None
                if article is None or self.article_path(article) != path:
                    return None
                return Routed(self.cached_article(article))
        if path.startswith(self.FILES_DIR):
            if re.search(r"\.(?:jpg|jpeg|png)$", path):
                return asset(TINY_JPEG, "image/jpeg")
            if path.endswith(".pdf"):
                return asset(TINY_PDF, "application/pdf")
        return None

    # -- list ------------------------------------------------------------------------------

    def render_column(self) -> Reply:
        """The column page: chrome and the ``bulidstatic`` script, no list items."""
        fields = ",".join(f"'{key}':'{value}'" for key, value in self.query_data().items())
        box = "column-list" if self.layout == "classic" else "zl-main-list"
        text = (
            self.render_head(f"{self.column_name}-中国科学技术协会")
            + f'<div class="main"><div class="{box}">\n'
            + f'<div class="column-name">{self.column_name}</div>\n'
            + f'<div id="{html.escape(self.tag_id)}">'
            + f'<script parseType="bulidstatic" id="{self.tag_id}-unit" '
            + f'url="{self.API_PATH}" queryData="{html.escape(f"{{{fields}}}", quote=False)}" '
            + 'type="text/javascript" language="javascript"></script></div>\n'
            + "</div></div>\n"
            + _JPAAS_FOOT
        )
        return self.make_page(text, self.newest_change())

    def render_items(self, shown: Sequence[CmsArticle], page: int, pages: int) -> str:
        """The ``data.html`` fragment: list items and a pager with the counts."""
        total = len(self.articles)
        pager = (
            f'<span class="total">共{total}条 第{page}/{pages}页</span>'
            f'<a href="javascript:;" class="first" pageno="1">首页</a>'
            f'<a href="javascript:;" class="prev" pageno="{max(page - 1, 1)}">上一页</a>'
            f'<a href="javascript:;" class="next" pageno="{min(page + 1, pages)}">下一页</a>'
            f'<a href="javascript:;" class="last" pageno="{pages}">尾页</a>'
        )
        rows: list[str] = []
        for article in shown:
            title = html.escape(article.title)
            shown_title = html.escape(truncate_title(article.title))
            href = self.article_path(article)
            if self.layout == "classic":
                rows.append(
                    f'<li><a href="{href}" title="{title}" target="_blank">{shown_title}</a>'
                    f"<span>{article.day:%Y-%m-%d}</span></li>"
                )
            else:
                rows.append(
                    f'<dl class="news-item"><dt><a href="{href}" title="{title}" '
                    f'target="_blank">{shown_title}</a></dt>'
                    f'<dd class="news-date">{article.day:%Y/%m/%d}</dd></dl>'
                )
        if self.layout == "classic":
            return f'<ul class="list-ul">{"".join(rows)}</ul><div class="pagination">{pager}</div>'
        return f'<div class="news-list">{"".join(rows)}</div><div class="page-box">{pager}</div>'

    def render_api(self, params: Mapping[str, str]) -> Reply:
        """The ``build/unit`` JSON answer for one page of the column."""
        if params.get("webId") != self.WEB_ID or params.get("pageId") != self.PAGE_ID:
            return self.make_json(
                {"success": False, "code": 500, "message": "页面不存在", "data": {"html": ""}}
            )
        try:
            paging = json.loads(params.get("paramJson") or "{}")
            page = int(paging.get("pageNo", 1))
            size = min(int(paging.get("pageSize", self.per_page)), self.MAX_PAGE_SIZE)
        except (ValueError, TypeError, AttributeError):
            return self.make_json(
                {"success": False, "code": 500, "message": "参数格式错误", "data": {"html": ""}}
            )
        wanted = self.query_data()
        if any(params.get(key) != wanted[key] for key in ("parseType", "tagId", "tplSetId")):
            return self.make_json(
                {"success": True, "code": 200, "message": "操作成功", "data": {"html": ""}}
            )
        return self.cached_list(f"api:{page}:{size}", lambda: self.render_api_page(page, size))

    def render_api_page(self, page: int, size: int) -> Reply:
        """One page of list items as the API's JSON."""
        with self._lock:
            page, size = max(page, 1), max(size, 1)
            pages = page_count(len(self.articles), size)
            shown = self.articles[(page - 1) * size : page * size]
            answer = {
                "success": True,
                "code": 200,
                "message": "操作成功",
                "data": {"html": self.render_items(shown, page, pages) if shown else ""},
            }
            return self.make_json(answer, self.newest_change())

    def make_json(self, answer: dict[str, Any], last_modified: datetime | None = None) -> Reply:
        """A UTF-8 JSON reply (validators only for successful pages)."""
        body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if last_modified is None:
            return Reply(body, "application/json;charset=UTF-8")
        return Reply(body, "application/json;charset=UTF-8", 200, make_etag(body), last_modified)

    # -- article ---------------------------------------------------------------------------

    def image_src(self, article: CmsArticle, index: int, seed_src: str) -> str:
        name = hex_id(f"jpaas-image-{index}", article.id)
        return f"{self.FILES_DIR}{article.day:%Y%m}/{name}.jpg"

    def render_head(self, title: str, meta: str = "") -> str:
        """The shared head, header and breadcrumb."""
        return _JPAAS_HEAD.format(
            charset=html.escape(self.charset),
            column=self.column_name,
            meta=meta,
            title=html.escape(title),
        )

    def render_article(self, article: CmsArticle) -> str:
        local = article.published.astimezone(SHANGHAI)
        title = html.escape(article.title)
        meta = (
            f'<meta name="ArticleTitle" content="{title}">\n'
            f'<meta name="PubDate" content="{local:%Y-%m-%d %H:%M}">\n'
            f'<meta name="ContentSource" content="{article.source}">\n'
            f'<meta name="Description" content="{html.escape(article.paragraphs[0][:60])}">\n'
        )
        attachment = ""
        if article.has_attachment:
            href = f"{self.FILES_DIR}{article.day:%Y%m}/{hex_id('jpaas-file', article.id)}.pdf"
            attachment = f'\n<p>附件：<a href="{href}" target="_blank">实施方案.pdf</a></p>'
        return (
            self.render_head(f"{article.title}-中国科学技术协会", meta)
            + '<div class="main"><div class="article">\n'
            + f'<h1 class="article-title">{title}</h1>\n'
            + f'<div class="article-info"><span>来源：{article.source}</span>'
            + f"<span>发布时间：{local:%Y-%m-%d %H:%M}</span>"
            + '<span class="font">字号：<a href="javascript:;" onclick="doZoom(20)">大</a>'
            + '<a href="javascript:;" onclick="doZoom(16)">中</a>'
            + '<a href="javascript:;" onclick="doZoom(14)">小</a></span></div>\n'
            + f'<div id="zoom" class="article-con">\n{self.render_body(article)}{attachment}\n'
            + "</div>\n"
            + '<div class="share">分享到：<a class="share-wx" href="javascript:;">微信</a>'
            + '<a class="share-wb" href="javascript:;">微博</a>'
            + '<a class="share-qq" href="javascript:;">QQ空间</a></div>\n'
            + '<div class="print"><a href="javascript:window.print()">打印</a>'
            + '<a href="javascript:window.close()">关闭</a></div>\n'
            + "</div></div>\n"
            + _JPAAS_FOOT
        )


# ==============================================================================================
# TRS WCM (拓尔思)
# ==============================================================================================

_TRS_HEAD = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" \
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<meta name="SiteName" content="重庆市科学技术协会" />
<meta name="SiteDomain" content="kx.cq.example.cn" />
<meta name="SiteIDCode" content="5000000003" />
<meta name="ColumnName" content="通知公告" />
<meta name="ColumnType" content="通知公告" />
{meta}<title>{title}</title>
<link href="/images/public.css" rel="stylesheet" type="text/css" />
</head>
<body>
<div class="header"><a class="logo" href="/">重庆市科学技术协会</a>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/col/kxyw/">科协要闻</a></li>
<li class="on"><a href="/col/tzgg/">通知公告</a></li><li><a href="/col/zwgk/">政务公开</a></li></ul>
</div>
<div class="crumb">您当前的位置：<a href="/">首页</a> &gt; <a href="/col/tzgg/">通知公告</a></div>
"""

_TRS_FOOT = """<div class="footer">
<p>主办：重庆市科学技术协会　网站标识码：5000000003</p>
<p>渝ICP备05000000号-1　渝公网安备 50010302000000号</p>
</div>
</body>
</html>
"""

_TRS_PAGER_FUNCTION = """function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
if(_nPageCount == null || _nPageCount<=1){ return; }
var n = _nCurrIndex || 0, p = _sPageName, e = "." + _sPageExt;
function at(i){ return i == 0 ? p + e : p + "_" + i + e; }
document.write(n == 0 ? "<span>首页</span>&nbsp;" : "<a href=\\"" + at(0) + "\\">首页</a>&nbsp;");
if(n > 0) document.write("<a href=\\"" + at(n - 1) + "\\">上一页</a>&nbsp;");
if(n + 1 < _nPageCount) document.write("<a href=\\"" + at(n + 1) + "\\">下一页</a>&nbsp;");
document.write("<a href=\\"" + at(_nPageCount - 1) + "\\">尾页</a>");
document.write("&nbsp;共" + _nPageCount + "页&nbsp;当前第" + (n + 1) + "页");
}"""


class TrsSite(CmsSite):
    """TRS WCM: static list pages ``index.html``, ``index_1.html``… with ``createPageHTML``.

    ``createPageHTML(pages, current, "index", "html")`` counts pages from 0 (``index.html`` is 0,
    ``index_1.html`` is 1); ``index_0.html`` and pages past the last are 404, as on the real
    static sites. Items link relatively (``./202210/t20221008_<id>.html``); article images and
    attachments are relative too (``./W0….jpg``, ``./P0….pdf``), the attachment sitting after
    the ``.TRS_Editor`` body.
    """

    family = "trs"
    server_header = "TRS Web Server"
    default_per_page = 20
    COLUMN_DIR: ClassVar[str] = "/col/tzgg/"
    ARTICLE_BASE: ClassVar[int] = 5_123_000

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._list_re = re.compile(rf"^{re.escape(self.COLUMN_DIR)}index(?:_(\d+))?\.html$")
        self._article_re = re.compile(
            rf"^{re.escape(self.COLUMN_DIR)}(\d{{6}})/t(\d{{8}})_(\d+)\.html$"
        )
        self._file_re = re.compile(rf"^{re.escape(self.COLUMN_DIR)}\d{{6}}/([WP])0\d+\.(\w+)$")

    @property
    def list_path(self) -> str:
        return f"{self.COLUMN_DIR}index.html"

    @property
    def page_count(self) -> int:
        """How many list pages the column has (at least one)."""
        with self._lock:
            return page_count(len(self.articles), self.per_page)

    def list_page_url(self, index: int) -> str:
        """The absolute URL of list page ``index`` (0-based, as createPageHTML counts)."""
        name = "index.html" if index == 0 else f"index_{index}.html"
        return f"{self.base_url}{self.COLUMN_DIR}{name}"

    def article_path(self, article: CmsArticle) -> str:
        day = article.day
        return f"{self.COLUMN_DIR}{day:%Y%m}/t{day:%Y%m%d}_{self.ARTICLE_BASE + article.id}.html"

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Routed | None:
        if path == self.COLUMN_DIR:
            path = self.list_path
        listing = self._list_re.match(path)
        if listing:
            index = int(listing.group(1)) if listing.group(1) is not None else 0
            if (listing.group(1) is not None and index < 1) or index >= self.page_count:
                return None
            return Routed(self.cached_list(f"page:{index}", lambda: self.render_list(index)))
        found = self._article_re.match(path)
        if found:
            with self._lock:
                article = self._by_id.get(int(found.group(3)) - self.ARTICLE_BASE)
                if article is None or self.article_path(article) != path:
                    return None
                return Routed(self.cached_article(article))
        stored = self._file_re.match(path)
        if stored and stored.group(1) == "W" and stored.group(2) in ("jpg", "jpeg", "png"):
            return asset(TINY_JPEG, "image/jpeg")
        if stored and stored.group(1) == "P" and stored.group(2) == "pdf":
            return asset(TINY_PDF, "application/pdf")
        return None

    # -- list ------------------------------------------------------------------------------

    def render_item(self, article: CmsArticle) -> str:
        """One list entry with a relative link."""
        title = html.escape(article.title)
        shown = html.escape(truncate_title(article.title))
        href = "." + self.article_path(article).removeprefix(self.COLUMN_DIR.rstrip("/"))
        day = article.day
        if self.layout == "classic":
            return (
                f'<li><a href="{href}" title="{title}" target="_blank">{shown}</a>'
                f"<span>{day:%Y-%m-%d}</span></li>"
            )
        return (
            f'<div class="item"><a class="item-title" href="{href}" title="{title}" '
            f'target="_blank">{shown}</a>'
            f'<span class="item-time">{day.year}年{day.month:02d}月{day.day:02d}日</span></div>'
        )

    def render_list(self, index: int) -> Reply:
        """List page ``index`` (0-based) with its items and the createPageHTML call."""
        with self._lock:
            pages = self.page_count
            shown = self.articles[index * self.per_page : (index + 1) * self.per_page]
            items = "\n".join(self.render_item(article) for article in shown)
            if self.layout == "classic":
                box = f'<div class="list-box">\n<ul class="list">\n{items}\n</ul>\n'
                end = "</div>\n"
            else:
                box = f'<div class="zwgk-main">\n<div class="zwgk-list">\n{items}\n</div>\n'
                end = "</div>\n"
            script = (
                f"<script>\n//wcm分页，总记录：{len(self.articles)}\n"
                f"var currentPage = {index};//所在页从0开始\n"
                f"var countPage = {pages}//共多少页\n"
                f"{_TRS_PAGER_FUNCTION}\n"
                f'createPageHTML({pages}, {index}, "index", "html");\n</script>\n'
            )
            text = (
                self.render_head("通知公告")
                + '<div class="main">\n'
                + box
                + f'<div class="page">{script}</div>\n'
                + end
                + "</div>\n"
                + _TRS_FOOT
            )
            return self.make_page(text, self.newest_change())

    # -- article ---------------------------------------------------------------------------

    def stored_name(self, prefix: str, article: CmsArticle, index: int) -> str:
        """A TRS file name, e.g. ``W020221008512304700.jpg`` (W images, P attachments)."""
        return f"{prefix}0{article.day:%Y%m%d}{self.ARTICLE_BASE + article.id}{index:02d}"

    def image_src(self, article: CmsArticle, index: int, seed_src: str) -> str:
        return f"./{self.stored_name('W', article, index)}.jpg"

    def render_head(self, title: str, meta: str = "") -> str:
        """The shared head, header and breadcrumb."""
        return _TRS_HEAD.format(
            charset=html.escape(self.charset), meta=meta, title=html.escape(title)
        )

    def render_article(self, article: CmsArticle) -> str:
        local = article.published.astimezone(SHANGHAI)
        title = html.escape(article.title)
        meta = (
            f'<meta name="ArticleTitle" content="{title}" />\n'
            f'<meta name="PubDate" content="{local:%Y-%m-%d %H:%M}" />\n'
            f'<meta name="ContentSource" content="{article.source}" />\n'
        )
        attachment = ""
        if article.has_attachment:
            name = self.stored_name("P", article, 0)
            attachment = (
                f'<div class="fujian">附件：<a href="./{name}.pdf" '
                'target="_blank">实施方案.pdf</a></div>\n'
            )
        editor_style = (
            '<style type="text/css">.TRS_Editor P{margin-top:5px;margin-bottom:5px;'
            "line-height:2;font-family:宋体;font-size:12pt;}.TRS_Editor DIV{line-height:2;}"
            "</style>"
        )
        return (
            self.render_head(article.title, meta)
            + '<div class="main"><div class="detail">\n'
            + f'<h2 class="detail-title">{title}</h2>\n'
            + f'<div class="detail-info"><span>发布日期：{local:%Y年%m月%d日}</span>'
            + f"<span>来源：{article.source}</span>"
            + '<span class="font">【字号：<a href="javascript:;" onclick="doZoom(18)">大</a> '
            + '<a href="javascript:;" onclick="doZoom(16)">中</a> '
            + '<a href="javascript:;" onclick="doZoom(14)">小</a>】</span></div>\n'
            + f'<div class="TRS_Editor">{editor_style}<div class="Custom_UnionStyle">\n'
            + f"{self.render_body(article)}\n</div></div>\n"
            + attachment
            + '<div class="bdsharebuttonbox share">分享到：<a href="#" class="bds_weixin" '
            + 'data-cmd="weixin">微信</a><a href="#" class="bds_tsina" data-cmd="tsina">新浪微博'
            + '</a><a href="#" class="bds_qzone" data-cmd="qzone">QQ空间</a></div>\n'
            + '<div class="print">【<a href="javascript:window.print()">打印</a>】'
            + '【<a href="javascript:window.close()">关闭</a>】</div>\n'
            + "</div></div>\n"
            + _TRS_FOOT
        )
