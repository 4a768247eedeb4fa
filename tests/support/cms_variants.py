"""Realistic variants of the CMS families herald reads, served on 127.0.0.1 with ground truth.

``tests.support.cms_sites`` serves one tidy column per family; the sites here each reproduce one
way a real site departs from it (markup, charset, paging calls, sidebars, article metadata):

- ``HanwebTable``: Hanweb, GBK with the charset only in ``<meta>``, records as single-quoted
  ``<table><tr><td>``, dataproxy at ``/module/jslib/jquery/jpage/dataproxy.jsp`` by GET only.
- ``HanwebLi``: Hanweb, date before the title, empty ``<nextgroup>``, proxy named only in the
  jpage script (``var param_<unit>``), POST only, a sidebar datastore, list URL with a query.
- ``JpaasDiv``: JPaaS, API URL without a leading slash, ``<div class="list">`` rows and a
  ``<table class="pagination">`` pager.
- ``JpaasLi``: JPaaS, two bulidstatic units (sidebar first), yearless list dates, no pager, no
  article metas.
- ``TrsPageDiv``: TRS, ``createPageHTML('page_div',…)`` with ``list_2.shtml`` pages and
  ``./c7104<n>/content.shtml`` article URLs.
- ``TrsCountPage``: TRS, GBK, configured by its directory URL, ``var countPage`` paging,
  ``年月日`` dates, a sidebar of dated links into another column.
- ``GenericList``: no CMS, ``ul/li`` with a ``下一页`` link, body left to trafilatura.

Every site runs a threaded ``http.server`` in daemon threads (``start``/``stop`` or ``with``),
has ``list_url``, ``expected()`` (``{"url", "title", "date"}``, date = Beijing day),
``paragraphs()``, ``side_urls()`` and an ``anti_bot`` switch (412 with a JavaScript cookie
challenge, optionally only below ``anti_bot_prefix``). Content is deterministic.

It must NOT reach the network beyond its own listening socket or import herald modules.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
START_DATE = date(2022, 10, 8)
ANTI_BOT_STATUSES = (412,)
TINY_JPEG = b"\xff\xd8\xff\xd9"

TITLES: tuple[str, ...] = (
    "关于开展2022年度全市科普示范基地认定工作的通知（第{n}号）",
    "市科协党组召开理论学习中心组学习会议深入学习贯彻党的二十大精神（{n}）",
    "我市举办“全国科技工作者日”主题活动暨优秀科技工作者表彰大会第{n}场",
    "科技志愿服务队走进乡村振兴一线 陈镕团队送技术到田间地头（{n}）",
    "关于公布第{n}批市级学会党建工作示范点名单的公示",
    "省科协调研组来我市调研基层科协组织“三长”制工作开展情况——之{n}",
    "𠮷林路社区科普e站正式启用 居民家门口就能体验前沿科技（{n}）",
)
SENTENCES: tuple[str, ...] = (
    "会议强调，要把学习宣传贯彻党的二十大精神作为当前和今后一个时期的首要政治任务。",
    "各级科协组织要立足“四服务”职责定位，团结引领广大科技工作者建功新时代。",
    "活动现场设置了科普展板、互动体验区和专家咨询台，吸引了众多市民驻足参与。",
    "据介绍，今年以来全市已建成科普示范基地四十余个，覆盖全部区县。",
    "下一步，市科协将持续深化科技社团改革，推动学会治理能力现代化。",
    "专家团队围绕果树病虫害防治、农产品电商销售等内容进行了现场指导。",
    "与会人员一致表示，要以更加饱满的热情投入到科技创新和科学普及工作中。",
    "此次调研采取实地走访、座谈交流、查阅资料等方式进行，听取了基层意见建议。",
)
SOURCES: tuple[str, ...] = ("市科协办公室", "科普部", "学会部")
# Text of the page chrome (navigation, info bars, footers) that must not reach an article's body.
FOOTER_MARKERS: tuple[str, ...] = (
    "版权所有",
    "ICP备",
    "网站标识码",
    "浏览次数",
    "打印本页",
    "关闭窗口",
    "分享到",
    "上一篇",
    "下一篇",
    "当前位置",
    "您的位置",
    "技术支持",
    "主办单位",
)
WAF_412 = (
    '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" '
    'content="text/html; charset=utf-8">'
    '<meta id="9DhefwqGPrzGxEp9hPaoag" content="{t}" r="m">'
    '<script type="text/javascript" r="m">'
    "$_ts=window['$_ts'];if(!$_ts)$_ts={{}};$_ts.nsd=84361;$_ts.cd=\"{t}\";"
    'document.cookie="FSSBBIl1UgzbN7N80T={t}; path=/";location.reload()</script>'
    "</head><body></body></html>"
)


# -- articles ------------------------------------------------------------------------------


@dataclass
class VariantArticle:
    """One article of a variant site; ``n`` is unique within the site, ``idx`` 0 is newest."""

    n: int
    idx: int
    title: str
    published: datetime  # Beijing time, aware
    source: str
    paragraphs: list[str]

    @property
    def day(self) -> date:
        return self.published.date()


def make_articles(
    count: int, site_key: str, *, start: date = START_DATE, base: int = 100
) -> list[VariantArticle]:
    """``count`` articles, newest first, from ``start`` backwards with some gaps between days.

    Publication times cycle through the day, including 00:xx (the previous day in UTC).
    """
    out = []
    day = start
    for i in range(count):
        n = base + count - i  # the newest has the highest number
        title = TITLES[n % len(TITLES)].format(n=n)
        hour = (0, 7, 9, 10, 14, 16, 23)[i % 7]
        minute = (i * 13) % 60
        published = datetime.combine(day, dt_time(hour, minute), BEIJING)
        k = int(hashlib.md5(f"{site_key}{n}".encode()).hexdigest(), 16)
        paras = [SENTENCES[(k >> (3 * j)) % len(SENTENCES)] for j in range(4)]
        paras.append(f"（本文编号 {site_key.upper()}-{n:05d}，记者 陈镕 摄影 𠮷雅）")
        out.append(VariantArticle(n, i, title, published, SOURCES[n % 3], paras))
        day -= timedelta(days=1 + (i % 3 == 2))
    return out


def truncate_title(title: str, at: int = 22, mark: str = "...") -> str:
    """The title as a list shows it: cut after ``at`` characters with ``mark``."""
    return title if len(title) <= at else title[:at] + mark


def escape_html(text: str) -> str:
    return html.escape(text, quote=True)


def render_body(article: VariantArticle, img: str = "") -> str:
    """The body paragraphs as HTML, with an optional image after the second one."""
    parts = [f'<p style="text-indent:2em">{escape_html(p)}</p>' for p in article.paragraphs]
    if img:
        parts.insert(2, f'<p style="text-align:center"><img src="{img}" border="0"></p>')
    return "\n".join(parts)


def count_pages(items: int, per_page: int) -> int:
    return -(-items // per_page)


# -- HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def render_waf(status: int, target: str) -> Reply:
    """A Ruishu-style JavaScript cookie challenge, as WAFs in front of these sites answer."""
    token = hashlib.sha1(target.encode()).hexdigest()
    cookie = f"FSSBBIl1UgzbN7N80S={token[:30]}; Path=/; HttpOnly"
    return Reply(status, "text/html", WAF_412.format(t=token).encode(), (("Set-Cookie", cookie),))


class VariantServer(ThreadingHTTPServer):
    """The HTTP server of one variant site."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], site: VariantSite) -> None:
        super().__init__(address, VariantHandler)
        self.site = site

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients dropping connections is normal."""


class VariantHandler(BaseHTTPRequestHandler):
    """Routes GET/HEAD/POST to the site and records each answer in ``requests_log``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded in ``VariantSite.requests_log`` instead."""

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.answer()

    def do_HEAD(self) -> None:
        self.answer()

    def read_form(self) -> dict[str, str]:
        """The urlencoded body of a POST (empty otherwise)."""
        if self.command != "POST":
            return {}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("latin-1")
        return dict(parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="replace"))

    def answer(self) -> None:
        assert isinstance(self.server, VariantServer)
        site = self.server.site
        reply = site.respond(self.command, self.path, self.read_form())
        site.log_request(self.command, self.path, reply.status)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


class VariantSite:
    """A deterministic column (plus optional sidebar articles) of one CMS variant.

    Subclasses set the class attributes and implement ``route`` and ``article_path``.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""  # what `herald sources detect` should name
    charset: ClassVar[str] = "utf-8"
    header_charset: ClassVar[bool] = True  # False: only the page's <meta> names the charset
    list_path: ClassVar[str] = "/"
    key: ClassVar[str] = ""  # seeds the article bodies
    number_base: ClassVar[int] = 100
    default_articles: ClassVar[int] = 30
    default_per_page: ClassVar[int] = 10
    side_count: ClassVar[int] = 0  # articles of another column linked from a sidebar
    side_base: ClassVar[int] = 0
    side_start: ClassVar[date] = START_DATE

    def __init__(
        self,
        *,
        articles: int | None = None,
        per_page: int | None = None,
        anti_bot: int | None = None,
        anti_bot_prefix: str = "",
    ) -> None:
        count = self.default_articles if articles is None else articles
        self.per_page = self.default_per_page if per_page is None else per_page
        if count < 1 or self.per_page < 1:
            raise ValueError(f"{self.name}: articles and per_page must be >= 1")
        self.articles = make_articles(count, self.key, base=self.number_base)
        self.side = make_articles(
            self.side_count, self.key + "side", base=self.side_base, start=self.side_start
        )
        self._side_ids = {a.n for a in self.side}
        self._by_n = {a.n: a for a in self.articles + self.side}
        self._anti_bot: int | None = None
        self.anti_bot = anti_bot
        self.anti_bot_prefix = anti_bot_prefix
        self.requests_log: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self._server: VariantServer | None = None
        self._thread: threading.Thread | None = None
        self._base = ""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a daemon thread; return the base URL (``http://127.0.0.1:PORT``)."""
        if self._server is not None:
            return self._base
        server = VariantServer(("127.0.0.1", 0), self)
        self._base = f"http://127.0.0.1:{server.server_address[1]}"
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

    # -- switches and ground truth ---------------------------------------------------------

    @property
    def anti_bot(self) -> int | None:
        """None, or the status (412) answered with a JavaScript cookie challenge."""
        return self._anti_bot

    @anti_bot.setter
    def anti_bot(self, status: int | None) -> None:
        if status is not None and status not in ANTI_BOT_STATUSES:
            raise ValueError(f"{self.name}: anti_bot must be None or 412, not {status}")
        self._anti_bot = status

    @property
    def base_url(self) -> str:
        if not self._base:
            raise RuntimeError(f"{self.name}: site is not started")
        return self._base

    @property
    def list_url(self) -> str:
        """The URL a user would configure for the column."""
        return self.base_url + self.list_path

    def article_path(self, article: VariantArticle) -> str:
        raise NotImplementedError

    def is_side(self, article: VariantArticle) -> bool:
        return article.n in self._side_ids

    def expected(self) -> list[dict[str, str]]:
        """Ground truth, newest first: ``{"url", "title" (full), "date" (Beijing YYYY-MM-DD)}``."""
        return [
            {
                "url": self.base_url + self.article_path(a),
                "title": a.title,
                "date": a.day.isoformat(),
            }
            for a in self.articles
        ]

    def paragraphs(self) -> dict[str, list[str]]:
        """The plain body paragraphs of every column article, by URL."""
        return {self.base_url + self.article_path(a): list(a.paragraphs) for a in self.articles}

    def side_urls(self) -> list[str]:
        """URLs linked from the page that are NOT part of the column (sidebars)."""
        return [self.base_url + self.article_path(a) for a in self.side]

    # -- requests --------------------------------------------------------------------------

    def log_request(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests_log.append((method, path, status))

    def hits(self, path_prefix: str) -> int:
        """How many requests asked for a path (with query) starting with ``path_prefix``."""
        with self._lock:
            return sum(1 for _, path, _ in self.requests_log if path.startswith(path_prefix))

    def respond(self, method: str, target: str, form: Mapping[str, str]) -> Reply:
        """The answer to ``method target`` (path with query): the WAF challenge, the variant's
        page, a 404, or a 500 naming the error."""
        parts = urlsplit(target)
        path = parts.path
        if self.anti_bot is not None and path.startswith(self.anti_bot_prefix):
            return render_waf(self.anti_bot, target)
        params = dict(
            parse_qsl(parts.query, keep_blank_values=True, encoding="utf-8", errors="replace")
        )
        try:
            reply = self.route(method, path, params, form)
        except Exception as exc:
            traceback.print_exc()
            return Reply(500, "text/plain", f"{self.name}: {exc}".encode())
        if reply is None:
            return Reply(404, "text/html", b"<html><body><h1>404 Not Found</h1></body></html>")
        return reply

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        raise NotImplementedError

    def page(self, text: str, content_type: str = "text/html") -> Reply:
        """A 200 page in the site's charset (GBK-family labels are sent as gb18030)."""
        header = f"{content_type}; charset={self.charset}" if self.header_charset else content_type
        gbk = self.charset.lower() in ("gbk", "gb2312")
        return Reply(200, header, text.encode("gb18030" if gbk else self.charset))

    def article_by_n(self, n: str) -> VariantArticle | None:
        return self._by_n.get(int(n))


def render_hanweb_recordset(
    rows: Sequence[VariantArticle], render: Callable[[VariantArticle], str], *, sep: str
) -> str:
    """A Hanweb ``<recordset>`` of CDATA records (``sep`` ends each record's content)."""
    records = "".join(f"<record><![CDATA[\n{render(a)}{sep}]]></record>\n" for a in rows)
    return "<recordset>\n" + records + "</recordset>\n"


# -- Hanweb: table records, GBK, GET-only proxy ---------------------------------------------

H1_COL, H1_UNIT, H1_WEBID = 1229580319, 7012345, 81
H1_PROXY = "/module/jslib/jquery/jpage/dataproxy.jsp"
H1_WEBNAME = "某市科学技术协会"
H1_HEAD = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
    '<html xmlns="http://www.w3.org/1999/xhtml"><head>\n'
    '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />\n'
    '<meta name="Generator" content="大汉版通" />\n'
    '<meta name="Author" content="大汉网络" />\n'
    "{meta}<title>{title}</title>\n"
    '<link href="/images/style.css" rel="stylesheet" type="text/css" />\n'
    '<script type="text/javascript" src="/module/jslib/jquery/jquery.js"></script>\n'
    "</head><body>\n"
    '<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="top">\n'
    '<tr><td><img src="/images/banner.jpg" alt="某市科学技术协会" /></td></tr></table>\n'
    '<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="nav">'
    "<tr>\n"
    '<td><a href="/">首页</a></td><td><a href="/col/col1229580311/index.html">机构概况</a></td>\n'
    '<td><a href="/col/col1229580319/index.html">工作动态</a></td>'
    '<td><a href="/col/col1229580320/index.html">通知公告</a></td>\n'
    '<td><a href="/col/col1229580321/index.html">科普之窗</a></td>'
    '<td><a href="/col/col1229580322/index.html">学会园地</a></td></tr></table>\n'
    '<table width="1000" align="center" class="weizhi"><tr><td>当前位置：<a href="/">首页</a> '
    '&gt; <a href="/col/col1229580319/index.html">工作动态</a></td></tr></table>\n'
)
H1_FOOT = (
    '<table width="1000" border="0" align="center" class="foot"><tr><td align="center">\n'
    "主办单位：某市科学技术协会　地址：某市人民路100号　邮编：400000<br/>\n"
    "版权所有：某市科学技术协会　网站标识码：5001000001　某ICP备05001234号<br/>\n"
    '<span style="display:none">Produced By 大汉网络 大汉版通发布系统</span></td></tr></table>\n'
    "</body></html>"
)


class HanwebTable(VariantSite):
    """Hanweb, GBK (charset only in <meta>), table records, proxy by GET only (POST -> 405).

    Article pages: ArticleTitle meta, ``<td class="title">``, ``发布日期：Y-M-D`` in an ``.info``
    bar with 来源/浏览次数, body in ``.bt_content``.
    """

    name = "hanweb-table"
    family = "hanweb"
    charset = "gb2312"
    header_charset = False
    list_path = f"/col/col{H1_COL}/index.html"
    key, number_base = "h1", 4000
    default_articles, default_per_page = 73, 20
    group_size = 3

    def article_path(self, article: VariantArticle) -> str:
        d = article.day
        return f"/art/{d.year}/{d.month}/{d.day}/art_{H1_COL}_{article.n}.html"

    def render_record(self, a: VariantArticle) -> str:
        return (
            "<table width='100%' border='0' cellspacing='0' cellpadding='0'><tr>"
            "<td width='12'><img src='/images/dot.gif'></td>"
            f"<td align='left'><a href='{self.article_path(a)}' title='{escape_html(a.title)}' "
            f"target='_blank'>{escape_html(truncate_title(a.title))}</a></td>"
            f"<td width='90' align='right' class='bt_time'>{a.day:%Y-%m-%d}</td></tr></table>"
        )

    def render_recordset(self, rows: Sequence[VariantArticle]) -> str:
        return render_hanweb_recordset(rows, self.render_record, sep="\n")

    def render_column(self) -> Reply:
        first = self.articles[: self.per_page * self.group_size]
        nextgroup = (
            f"{H1_PROXY}?page=1&appid=1&webid={H1_WEBID}&path=/&columnid={H1_COL}"
            f"&unitid={H1_UNIT}&webname={H1_WEBNAME}&permissiontype=0"
        )
        datastore = (
            f'<datastore>\n<nextgroup><![CDATA[<a href="{nextgroup}"></a>]]></nextgroup>\n'
            + self.render_recordset(first)
            + "</datastore>"
        )
        script = (
            f"<script>$(document).ready(function(){{$('#{H1_UNIT}').jpage({{themeName:'default',"
            f"showMode:'full',dataStore:'',proxyUrl:'{H1_PROXY}',perPage:{self.per_page},"
            f"groupSize:{self.group_size},barPosition:'bottom',totalRecord:{len(self.articles)},"
            f"ajaxParam:{{col:1,appid:1,webid:{H1_WEBID},path:'/',columnid:{H1_COL},"
            f"sourceContentType:1,unitid:{H1_UNIT},webname:'{H1_WEBNAME}',permissiontype:0}}}});"
            "});</script>"
        )
        side = "".join(
            f'<tr><td><a href="/col/col{c}/index.html">{t}</a></td></tr>'
            for c, t in (
                (1229580319, "工作动态"),
                (1229580323, "基层科协"),
                (1229580324, "媒体聚焦"),
            )
        )
        text = (
            H1_HEAD.format(meta="", title=f"工作动态 {H1_WEBNAME}")
            + '<table width="1000" align="center"><tr>'
            + '<td width="220" valign="top" class="left">'
            + f'<table class="lm">{side}</table></td><td valign="top" class="right">'
            + '<table width="100%"><tr><td class="lmname">工作动态</td></tr></table>'
            + f'<div id="{H1_UNIT}"><script type="text/xml">{datastore}</script></div>'
            + '<script language="javascript" '
            + 'src="/module/jslib/jquery/jpage/jquery.page.min.js"></script>'
            + script
            + "</td></tr></table>\n"
            + H1_FOOT
        )
        return self.page(text)

    def render_proxy(self, method: str, fields: Mapping[str, str]) -> Reply:
        if method != "GET":
            return Reply(
                405,
                "text/html;charset=utf-8",
                b"<html><head><title>Apache Tomcat/7.0.68 - Error report</title></head><body>"
                b"<h1>HTTP Status 405 - Request method 'POST' not supported</h1></body></html>",
            )
        xml_type = "text/xml;charset=GBK"
        if fields.get("columnid") != str(H1_COL) or fields.get("unitid") != str(H1_UNIT):
            empty = (
                b"<?xml version='1.0' encoding='GBK'?><datastore><totalrecord>0</totalrecord>"
                b"<recordset></recordset></datastore>"
            )
            return Reply(200, xml_type, empty)
        try:
            start = int(fields.get("startrecord", 1))
            end = int(fields.get("endrecord", start + self.per_page * self.group_size - 1))
        except ValueError:
            return Reply(400, "text/plain", b"bad")
        rows = self.articles[max(start, 1) - 1 : end]
        total = len(self.articles)
        xml = (
            f"<?xml version='1.0' encoding='GBK'?><datastore><totalrecord>{total}</totalrecord>"
            f"<totalpage>{count_pages(total, self.per_page)}</totalpage>\n"
            + self.render_recordset(rows)
            + "</datastore>"
        )
        return Reply(200, xml_type, xml.encode("gb18030"))

    def render_article(self, a: VariantArticle) -> Reply:
        meta = (
            f'<meta name="ArticleTitle" content="{escape_html(a.title)}" />\n'
            '<meta name="ColumnName" content="工作动态" />\n'
        )
        text = (
            H1_HEAD.format(meta=meta, title=escape_html(a.title))
            + '<table width="1000" align="center" class="bt_article"><tr><td>'
            + '<table width="100%"><tr>'
            + f'<td class="title" align="center">{escape_html(a.title)}</td></tr>'
            + f'<tr><td align="center"><div class="info"><span>发布日期：{a.day:%Y-%m-%d}</span>'
            + "&nbsp;&nbsp;"
            + f"<span>来源：{a.source}</span>&nbsp;&nbsp;<span>浏览次数："
            + '<script language="javascript" '
            + f'src="/module/visitcount/articlehits.jsp?colid={H1_COL}&artid={a.n}"></script>'
            + "</span>&nbsp;&nbsp;"
            + '<span>【字体：<a href="javascript:doZoom(18)">大</a> '
            + '<a href="javascript:doZoom(16)">中</a> '
            + '<a href="javascript:doZoom(14)">小</a>】</span></div></td></tr>'
            + '<tr><td><div class="bt_content">\n'
            + render_body(a, f"/picture/0/{a.n}.jpg")
            + "\n</div></td></tr>"
            + '<tr><td align="right">【<a href="javascript:window.print()">打印本页</a>】'
            + '【<a href="javascript:window.close()">关闭窗口</a>】</td></tr></table>'
            + "</td></tr></table>\n"
            + H1_FOOT
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path == self.list_path:
            return self.render_column()
        if path == H1_PROXY:
            return self.render_proxy(method, {**params, **form})
        m = re.match(rf"^/art/\d{{4}}/\d{{1,2}}/\d{{1,2}}/art_{H1_COL}_(\d+)\.html$", path)
        article = self.article_by_n(m.group(1)) if m else None
        if article is not None and self.article_path(article) == path:
            return self.render_article(article)
        if path.startswith("/picture/"):
            return Reply(200, "image/jpeg", TINY_JPEG)
        return None


# -- Hanweb: date first, empty nextgroup, POST-only proxy, sidebar datastore ----------------

H2_COL, H2_UNIT, H2_WEBID = 5561, 23456, 12
H2_SIDE_COL, H2_SIDE_UNIT = 5570, 23460
H2_PROXY = "/module/jpage/dataproxy.jsp"
H2_WEBNAME = "某区科学技术协会"
H2_HEAD = (
    "<!DOCTYPE html>\n"
    "<html><head>\n"
    '<meta charset="utf-8">\n'
    '<meta name="Generator" content="大汉版通">\n'
    "{meta}<title>{title}</title>\n"
    '<link rel="stylesheet" href="/images/2019/css/main.css">\n'
    '<script src="/module/jslib/jquery/jquery.js"></script>\n'
    "</head><body>\n"
    '<div class="header"><div class="w1200"><img src="/images/2019/logo.png" alt="{site}">\n'
    '<div class="search"><form action="/module/search/index.jsp"><input name="q">'
    "<button>搜索</button></form></div></div></div>\n"
    '<div class="navbar"><ul><li><a href="/">首页</a></li>'
    '<li><a href="/col/col5560/index.html">科协概况</a></li>\n'
    '<li class="on"><a href="/col/col5561/index.html">工作动态</a></li>'
    '<li><a href="/col/col5562/index.html">通知公告</a></li>\n'
    '<li><a href="/col/col5563/index.html">科学普及</a></li>'
    '<li><a href="/col/col5564/index.html">信息公开</a></li></ul></div>\n'
    '<div class="w1200 crumb">您的位置：<a href="/">首页</a> &gt; '
    '<a href="/col/col5561/index.html">工作动态</a></div>\n'
)
H2_FOOT = (
    '<div class="footer"><div class="w1200"><p>主办单位：{site}　技术支持：大汉网络</p>\n'
    "<p>版权所有 © {site}　网站标识码：5001120002　某ICP备12004567号-1</p>\n"
    '<p><a href="/col/col5599/index.html">网站地图</a> | '
    '<a href="/col/col5598/index.html">联系我们</a></p></div></div>\n'
    "</body></html>"
)


class HanwebLi(VariantSite):
    """Hanweb, ``<li>`` records with the date before an untitled, cut link; empty nextgroup.

    The proxy is named only in the jpage script (fields in ``var param_<unit>``) and answers POST
    only (GET -> 400). A sidebar datastore lists another column. Article pages: title only in
    ``<title>标题_栏目_站点`` and ``<div class="tit">``, 发布时间 with 信息来源, body ``#zoom``.
    """

    name = "hanweb-li"
    family = "hanweb"
    list_path = f"/col/col{H2_COL}/index.html"
    key, number_base = "h2", 2300
    default_articles, default_per_page = 52, 15
    side_count, side_base = 6, 1800
    group_size = 3

    @property
    def list_url(self) -> str:
        """The column URL as copied from a browser (jpage's query included)."""
        return self.base_url + self.list_path + f"?uid={H2_UNIT}&pageNum=1"

    def article_path(self, article: VariantArticle) -> str:
        d, col = article.day, H2_SIDE_COL if self.is_side(article) else H2_COL
        return f"/art/{d.year}/{d.month}/{d.day}/art_{col}_{article.n}.html"

    def render_record(self, a: VariantArticle) -> str:
        return (
            '<li><span class="bt-data-time" style="font-size:14px;">'
            f"[{a.day:%Y-%m-%d}]</span>"
            f'<a href="{self.base_url}{self.article_path(a)}" target="_blank" '
            'style="line-height:40px;">'
            f"{escape_html(truncate_title(a.title, 20, '…'))}</a></li>"
        )

    def render_side_record(self, a: VariantArticle) -> str:
        return (
            f'<li><a href="{self.article_path(a)}" title="{escape_html(a.title)}" '
            f'target="_blank">{escape_html(truncate_title(a.title, 14))}</a></li>'
        )

    def render_column(self) -> Reply:
        first = self.articles[: self.per_page * self.group_size]
        main_store = (
            "<datastore>\n<nextgroup><![CDATA[]]></nextgroup>\n"
            + render_hanweb_recordset(first, self.render_record, sep="")
            + "</datastore>"
        )
        side_store = (
            "<datastore>\n"
            + render_hanweb_recordset(self.side, self.render_side_record, sep="")
            + "</datastore>"
        )
        script = (
            f"<script>\nvar param_{H2_UNIT} = {{col:1,appid:1,webid:{H2_WEBID},path:'/',"
            f"columnid:{H2_COL},sourceContentType:1,unitid:'{H2_UNIT}',webname:'{H2_WEBNAME}',"
            "permissiontype:0};\n"
            f"$(function(){{\n  $('#{H2_UNIT}').jpage({{\n"
            "    dataBefore:'<ul class=\"bt-list\">',dataAfter:'</ul>',\n"
            f"    proxyUrl:'{H2_PROXY}',\n    perPage:{self.per_page},\n"
            f"    groupSize:{self.group_size},\n"
            f"    showMode:'full',barPosition:'bottom',\n    ajaxParam:param_{H2_UNIT},\n"
            f"    totalRecord:{len(self.articles)}\n  }});\n}});\n</script>"
        )
        text = (
            H2_HEAD.format(meta="", title=f"工作动态_{H2_WEBNAME}", site=H2_WEBNAME)
            + '<div class="w1200 main"><div class="left-box">'
            + '<div class="bt-lm-title">热点信息</div>'
            + f'<div id="{H2_SIDE_UNIT}" class="hot"><script type="text/xml">{side_store}</script>'
            + "</div></div>"
            + '<div class="right-box"><div class="bt-lm-title">工作动态</div>'
            + f'<div id="{H2_UNIT}"><script type="text/xml">{main_store}</script></div>'
            + '<script src="/module/jpage/jpage.js"></script>'
            + script
            + "</div></div>\n"
            + H2_FOOT.format(site=H2_WEBNAME)
        )
        return self.page(text)

    def render_proxy(
        self, method: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply:
        if method != "POST":
            return Reply(400, "text/html;charset=utf-8", b"<h1>HTTP Status 400 - Bad Request</h1>")
        fields = {**params, **form}
        xml_type = "text/xml;charset=UTF-8"
        if form.get("columnid") != str(H2_COL) or form.get("unitid") != str(H2_UNIT):
            empty = b"<datastore><totalrecord>0</totalrecord><recordset></recordset></datastore>"
            return Reply(200, xml_type, empty)
        start = int(fields.get("startrecord", 1))
        end = int(fields.get("endrecord", start + self.per_page * self.group_size - 1))
        rows = self.articles[max(start, 1) - 1 : end]
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<datastore><totalrecord>{len(self.articles)}</totalrecord>\n"
            + render_hanweb_recordset(rows, self.render_record, sep="")
            + "</datastore>"
        )
        return Reply(200, xml_type, xml.encode())

    def render_article(self, a: VariantArticle) -> Reply:
        p = a.published
        text = (
            H2_HEAD.format(
                meta='<meta name="keywords" content="科协,工作动态">\n',
                title=f"{escape_html(a.title)}_工作动态_{H2_WEBNAME}",
                site=H2_WEBNAME,
            )
            + '<div class="w1200 main article">'
            + f'<div class="tit">{escape_html(a.title)}</div>'
            + '<div class="bt-info">'
            + f"<span>发布时间：{p.year}年{p.month:02d}月{p.day:02d}日 {p:%H:%M}</span>"
            + f'<span>信息来源：{a.source}</span><span>浏览次数：<b id="hits">128</b></span>'
            + '<span class="fontsize">字号：<a href="javascript:;" onclick="doZoom(18)">大</a>'
            + '<a href="javascript:;" onclick="doZoom(16)">中</a>'
            + '<a href="javascript:;" onclick="doZoom(14)">小</a></span></div>'
            + f'<div id="zoom">\n{render_body(a, f"/picture/0/{a.n}.jpg")}\n</div>'
            + '<div class="bt-share">分享到：<a href="javascript:;" class="wx">微信</a>'
            + '<a href="javascript:;" class="wb">微博</a></div>'
            + '<div class="prev-next"><p>上一篇：<a href="#">无</a></p>'
            + '<p>下一篇：<a href="#">无</a></p></div>'
            + "</div>\n"
            + H2_FOOT.format(site=H2_WEBNAME)
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path == self.list_path:
            return self.render_column()
        if path == H2_PROXY:
            return self.render_proxy(method, params, form)
        m = re.match(r"^/art/\d{4}/\d{1,2}/\d{1,2}/art_(\d+)_(\d+)\.html$", path)
        article = self.article_by_n(m.group(2)) if m else None
        if article is not None and self.article_path(article) == path:
            return self.render_article(article)
        if path.startswith("/picture/"):
            return Reply(200, "image/jpeg", TINY_JPEG)
        return None


# -- JPaaS: relative API URL, div rows, table pager ------------------------------------------

JPAAS_API = "/api-gateway/jpaas-publish-server/front/page/build/unit"
J1_WEBID, J1_PAGEID, J1_TPL = "2758", "1229743684", "kUBgoFENJiaYxr31jYEph"
J1_TAG = "当前栏目列表"
J1_SITE = "某省人力资源和社会保障厅"
J1_HEAD = (
    '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="UTF-8">\n'
    '<meta name="SiteName" content="{site}"><meta name="ColumnName" content="工作动态">\n'
    "{meta}<title>{title}</title>\n"
    '<link rel="stylesheet" href="/static/css/index.css"></head><body>\n'
    '<div class="top"><div class="logo"><a href="/"><img src="/static/img/logo.png" '
    'alt="{site}"></a></div>\n'
    '<ul class="nav"><li><a href="/">首页</a></li>'
    '<li><a href="/col/col1229743680/index.html">机构概况</a></li>\n'
    '<li><a href="/col/col1229743684/index.html">工作动态</a></li>'
    '<li><a href="/col/col1229743690/index.html">政策文件</a></li></ul></div>\n'
    '<div class="crumb">当前位置：<a href="/">首页</a> &gt; '
    '<a href="/col/col1229743684/index.html">工作动态</a></div>\n'
)
J1_FOOT = (
    '<div class="foot"><p>主办：{site}　地址：某市某区某路1号</p>'
    "<p>网站标识码：3300000023　某ICP备05011111号</p></div></body></html>"
)
JSON_TYPE = "application/json;charset=UTF-8"


def render_jpaas_answer(payload: dict[str, Any], content_type: str = JSON_TYPE) -> Reply:
    return Reply(200, content_type, json.dumps(payload, ensure_ascii=False).encode())


class JpaasDiv(VariantSite):
    """JPaaS, bulidstatic script with ``url="api-gateway/…"`` (relative) and a paramJson whose
    pageSize is a string; answers hold ``<div class="list"><a title><span class="title">…``
    and a ``<table class="pagination" count rows pageno>``. Article pages: ArticleTitle and
    PubDate metas, ``.detail-title``, an ``.info`` bar, body ``.bt_content``.
    """

    name = "jpaas-div"
    family = "jpaas"
    list_path = f"/col/col{J1_PAGEID}/index.html"
    key, number_base = "j1", 700
    default_articles, default_per_page = 41, 15

    def article_hex(self, article: VariantArticle) -> str:
        return hashlib.md5(f"j1-{article.n}".encode()).hexdigest()

    def article_path(self, article: VariantArticle) -> str:
        return f"/col/col{J1_PAGEID}/art/{article.day.year}/art_{self.article_hex(article)}.html"

    def render_querydata(self) -> str:
        return (
            f"{{'webId':'{J1_WEBID}','pageId':'{J1_PAGEID}','parseType':'bulidstatic',"
            f"'pageType':'column','tagId':'{J1_TAG}','tplSetId':'{J1_TPL}',"
            f"'paramJson':'{{\"pageSize\":\"{self.per_page}\"}}'}}"
        )

    def render_column(self) -> Reply:
        qd = escape_html(self.render_querydata())
        text = (
            J1_HEAD.format(site=J1_SITE, meta="", title=f"工作动态-{J1_SITE}")
            + '<div class="main"><div class="lm-name">工作动态</div>'
            + f'<div id="{J1_TAG}"><script parseType="bulidstatic" '
            + 'url="api-gateway/jpaas-publish-server/front/page/build/unit" '
            + f'queryData="{qd}" type="text/javascript" language="javascript"></script>'
            + "</div></div>\n"
            + J1_FOOT.format(site=J1_SITE)
        )
        return self.page(text)

    def render_api(self, params: Mapping[str, str]) -> Reply:
        if params.get("webId") != J1_WEBID or params.get("pageId") != J1_PAGEID:
            return render_jpaas_answer({"success": False, "code": "500", "message": "页面不存在"})
        pj = json.loads(params.get("paramJson") or "{}")
        page, size = int(pj.get("pageNo", 1)), int(pj.get("pageSize", 10))
        rows = self.articles[(page - 1) * size : page * size]
        items = "".join(
            f'<a href="{self.article_path(a)}" title="{escape_html(a.title)}" target="_blank">'
            f'<span class="title">{escape_html(truncate_title(a.title, 24))}</span>'
            f'<span class="date">{a.day:%Y-%m-%d}</span></a>'
            for a in rows
        )
        unit = {"webId": J1_WEBID, "pageId": J1_PAGEID, "tagId": J1_TAG}
        qd = escape_html(json.dumps(unit, ensure_ascii=False))
        frag = (
            (
                f'<div class="list">{items}</div>'
                f'<table class="pagination" querydata="{qd}" uniturl="{self.list_path}" '
                f'count="{len(self.articles)}" rows="{size}" pageno="{page}"></table>'
            )
            if rows
            else ""
        )
        data = {"html": frag}
        return render_jpaas_answer(
            {"code": "200", "success": True, "message": "操作成功", "data": data}
        )

    def render_article(self, a: VariantArticle) -> Reply:
        meta = (
            f'<meta name="ArticleTitle" content="{escape_html(a.title)}">\n'
            f'<meta name="PubDate" content="{a.published:%Y-%m-%d %H:%M}">\n'
            f'<meta name="ContentSource" content="{a.source}">\n'
        )
        text = (
            J1_HEAD.format(site=J1_SITE, meta=meta, title=f"{escape_html(a.title)}-{J1_SITE}")
            + '<div class="main detail">'
            + f'<div class="detail-title">{escape_html(a.title)}</div>'
            + f'<div class="info"><span>发布日期：{a.published:%Y-%m-%d %H:%M}</span>'
            + f"<span>来源：{a.source}</span>"
            + '<span>浏览次数：<i id="viewCount"></i></span></div>'
            + f'<div class="bt_content">\n{render_body(a)}\n</div>'
            + '<div class="bottom-tool"><a href="javascript:window.print()">【打印本页】</a>'
            + '<a href="javascript:window.close()">【关闭窗口】</a></div>'
            + "</div>\n"
            + J1_FOOT.format(site=J1_SITE)
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path in (self.list_path, f"/col/col{J1_PAGEID}/"):
            return self.render_column()
        if path == JPAAS_API:
            return self.render_api(params)
        m = re.match(rf"^/col/col{J1_PAGEID}/art/\d{{4}}/art_([0-9a-f]{{32}})\.html$", path)
        for article in self.articles if m else ():
            if self.article_path(article) == path:
                return self.render_article(article)
        return None


# -- JPaaS: two units (sidebar first), yearless dates, no pager, no metas -------------------

J2_WEBID, J2_PAGEID = "a1b2c3d4e5f60718293a4b5c6d7e8f90", "QsEYSlCrONSfZWIdi077J"
J2_TPL = "LmNssD6Eo0DO7Gf77breT"
J2_SITE = "某市人民政府"
J2_SIDE_TAG, J2_LIST_TAG = "右侧热点", "当前栏目list"
J2_FOOT = (
    f'<div class="footer"><p>主办：{J2_SITE}办公室</p>'
    "<p>网站标识码：3210000001　某ICP备10000001号</p></div></body></html>"
)


class JpaasLi(VariantSite):
    """JPaaS, a sidebar unit ("热点", links to another column) before the column unit; querydata
    without paramJson (server default page size), answers without pager or total, yearless
    ``10-08`` dates, no title attributes. Article pages: no metas, ``<div class="bt-title">``,
    ``<title>标题-某市人民政府``, 发布时间 in ``.bt-info``, body ``#zoom``.
    """

    name = "jpaas-li"
    family = "jpaas"
    list_path = "/xxgk/tzgg/index.html"
    key, number_base = "j2", 900
    default_articles, default_per_page = 38, 12
    side_count, side_base = 5, 500

    def article_hex(self, article: VariantArticle) -> str:
        return hashlib.md5(f"j2-{article.n}".encode()).hexdigest()

    def article_path(self, article: VariantArticle) -> str:
        folder = "gzdt" if self.is_side(article) else "tzgg"
        return f"/xxgk/{folder}/art/{article.day.year}/art_{self.article_hex(article)}.html"

    def render_script(self, tag: str) -> str:
        qd = (
            f"{{'webId':'{J2_WEBID}','pageId':'{J2_PAGEID}','parseType':'bulidstatic',"
            f"'pageType':'column','tagId':'{tag}','tplSetId':'{J2_TPL}','editType':'null'}}"
        )
        return (
            f'<script parseType="bulidstatic" id="{tag}-u" url="{JPAAS_API}" '
            f'queryData="{html.escape(qd)}" '
            'type="text/javascript" language="javascript"></script>'
        )

    def render_column(self) -> Reply:
        text = (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f"<title>通知公告-{J2_SITE}</title>"
            '<script src="/static/js/jquery.min.js"></script></head><body>'
            '<div class="header"><div class="logo">'
            f'<img src="/static/img/logo.png" alt="{J2_SITE}"></div>'
            '<div class="nav"><a href="/">首页</a><a href="/xxgk/index.html">信息公开</a>'
            '<a href="/hdjl/index.html">互动交流</a></div></div>'
            '<div class="crumb">当前位置：<a href="/">首页</a> &gt; '
            '<a href="/xxgk/index.html">信息公开</a> &gt; 通知公告</div>'
            '<div class="main"><div class="left"><div class="hot-title">热点</div>'
            f'<div id="热点">{self.render_script(J2_SIDE_TAG)}</div></div>'
            '<div class="right"><div class="lm-title">通知公告</div>'
            f'<div id="当前栏目list">{self.render_script(J2_LIST_TAG)}</div></div></div>' + J2_FOOT
        )
        return self.page(text)

    def render_api(self, params: Mapping[str, str]) -> Reply:
        if params.get("webId") != J2_WEBID or params.get("pageId") != J2_PAGEID:
            return render_jpaas_answer({"success": False, "code": "500"}, "application/json")
        tag = params.get("tagId")
        pj = json.loads(params.get("paramJson") or "{}")
        page, size = int(pj.get("pageNo", 1)), int(pj.get("pageSize", self.per_page))
        frag = ""
        if tag == J2_SIDE_TAG:
            frag = (
                '<ul class="hot">'
                + "".join(
                    f'<li><a href="{self.article_path(a)}" title="{escape_html(a.title)}">'
                    f"{escape_html(truncate_title(a.title, 12))}</a>"
                    f"<span>{a.day:%m-%d}</span></li>"
                    for a in self.side
                )
                + "</ul>"
            )
        elif tag == J2_LIST_TAG:
            rows = self.articles[(page - 1) * size : page * size]
            items = "".join(
                f'<li><a class="bt_link" href="{self.article_path(a)}" target="_blank">'
                f"{escape_html(truncate_title(a.title, 20, '…'))}</a>"
                f'<span class="bt_time">{a.day:%m-%d}</span></li>'
                for a in rows
            )
            frag = f'<ul class="bt-list">{items}</ul>' if rows else ""
        return render_jpaas_answer({"success": True, "code": "200", "data": {"html": frag}})

    def render_article(self, a: VariantArticle) -> Reply:
        text = (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f"<title>{escape_html(a.title)}-{J2_SITE}</title>"
            '<meta name="keywords" content=""></head><body>'
            '<div class="header"><div class="logo">'
            f'<img src="/static/img/logo.png" alt="{J2_SITE}"></div></div>'
            '<div class="crumb">当前位置：<a href="/">首页</a> &gt; '
            '<a href="/xxgk/tzgg/index.html">通知公告</a></div>'
            f'<div class="main"><div class="bt-title">{escape_html(a.title)}</div>'
            f'<div class="bt-info"><span>发布时间：{a.published:%Y-%m-%d %H:%M}</span>'
            f"<span>来源：{a.source}</span>"
            '<span>浏览次数：<em id="c">0</em></span>'
            '<span class="bt-font">【字体：<a href="javascript:;">大</a> '
            '<a href="javascript:;">中</a> <a href="javascript:;">小</a>】</span></div>'
            f'<div id="zoom">{render_body(a)}</div>'
            '<div class="bt-print"><a href="javascript:window.print()">打印</a> '
            '<a href="javascript:window.close()">关闭</a></div></div>' + J2_FOOT
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path == self.list_path:
            return self.render_column()
        if path == JPAAS_API:
            return self.render_api(params)
        m = re.match(r"^/xxgk/\w+/art/\d{4}/art_([0-9a-f]{32})\.html$", path)
        for article in self.articles + self.side if m else ():
            if self.article_path(article) == path:
                return self.render_article(article)
        return None


# -- TRS: createPageHTML('page_div', …), list_N.shtml, c7104<n>/content.shtml ---------------

T1_DIR = "/zwgk/tzgg/"
T1_SITE = "某市人民政府"
T1_PAGER_JS = """function createPageHTML(divName, countPage, currentPage, pageName, pageExt, \
allCount){
 var d = document.getElementById(divName); if(!d || countPage <= 1) return;
 var h = '共' + allCount + '条 ';
 for (var i = 1; i <= countPage; i++) {
  var n = i == 1 ? pageName + '.' + pageExt : pageName + '_' + i + '.' + pageExt;
  h += (i == currentPage) ? '<span>' + i + '</span>' : '<a href="' + n + '">' + i + '</a>';
 }
 d.innerHTML = h;
}"""
T1_HEADER = (
    '<div class="header"><div class="logo"><a href="/">'
    f'<img src="/images/logo.png" alt="{T1_SITE}"></a></div></div>'
)
T1_FOOT = (
    f'<div class="footer"><p>主办：{T1_SITE}办公室　承办：某市大数据发展局</p>'
    "<p>网站标识码：5000000001　某ICP备05003300号</p></div>"
    "</body></html>"
)
T1_METAS = (
    '<meta name="SiteName" content="某市人民政府"><meta name="ColumnName" content="通知公告">'
)


class TrsPageDiv(VariantSite):
    """TRS, ``createPageHTML('page_div',pages,current,'list','shtml',count)`` (current 1-based)
    with ``list_2.shtml`` pages; table rows; article URLs ``./c7104<n>/content.shtml``. Article
    pages: only a ``firstpublishedtime`` meta, ``.pages-title``, an unlabelled ``.pages-date``,
    body ``#UCAP-CONTENT .trs_editor_view``.
    """

    name = "trs-pagediv"
    family = "trs"
    list_path = T1_DIR + "list.shtml"
    key, number_base = "t1", 5500
    default_articles, default_per_page = 58, 20

    def article_path(self, article: VariantArticle) -> str:
        return f"{T1_DIR}c7104{article.n}/content.shtml"

    @property
    def pages(self) -> int:
        return count_pages(len(self.articles), self.per_page)

    def render_listing(self, page: int) -> Reply:  # 1-based
        rows = self.articles[(page - 1) * self.per_page : page * self.per_page]
        trs = "\n".join(
            '<tr><td class="info">'
            f'<a class="list" href="./c7104{a.n}/content.shtml" title="{escape_html(a.title)}" '
            f'target="_blank">{escape_html(truncate_title(a.title, 26))}</a></td>'
            f'<td class="time">{a.day:%Y-%m-%d}</td></tr>'
            for a in rows
        )
        text = (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f"<title>通知公告_{T1_SITE}</title>"
            + T1_METAS
            + '<link rel="stylesheet" href="/images/common.css"></head><body>'
            + T1_HEADER
            + '<div class="nav"><ul><li><a href="/">首页</a></li>'
            + '<li><a href="/zwgk/">政务公开</a></li><li><a href="/bsfw/">办事服务</a></li>'
            + '<li><a href="/hdjl/">互动交流</a></li></ul></div>'
            + '<div class="main"><div class="left-nav"><ul>'
            + '<li><a href="/zwgk/zcwj/list.shtml">政策文件</a></li>'
            + '<li class="on"><a href="/zwgk/tzgg/list.shtml">通知公告</a></li>'
            + '<li><a href="/zwgk/rsxx/list.shtml">人事信息</a></li></ul></div>'
            + f'<div class="right"><table class="list-table" width="100%"><tbody>\n{trs}\n'
            + "</tbody></table>"
            + '<div id="page_div" class="page"></div>'
            + f"<script>{T1_PAGER_JS}</script>"
            + f"<script>createPageHTML('page_div',{self.pages}, {page},'list','shtml',"
            + f"{len(self.articles)});</script>"
            + "</div></div>"
            + T1_FOOT
        )
        return self.page(text)

    def render_article(self, a: VariantArticle) -> Reply:
        text = (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f"<title>{escape_html(a.title)}_通知公告_{T1_SITE}</title>"
            f'<meta name="firstpublishedtime" content="{a.published:%Y-%m-%d-%H:%M}:35">'
            '<meta name="lastmodifiedtime" content="2023-03-01-09:00:00">'
            + T1_METAS
            + "</head><body>"
            + T1_HEADER
            + '<div class="BreadcrumbNav">当前位置：<a href="/">首页</a> &gt; '
            + '<a href="/zwgk/">政务公开</a> &gt; '
            + '<a href="/zwgk/tzgg/list.shtml">通知公告</a></div>'
            + '<div class="article oneColumn pub_border">'
            + f'<div class="pages-title">{escape_html(a.title)}</div>'
            + f'<div class="pages-date">{a.published:%Y-%m-%d %H:%M}'
            + f'<span class="font">来源：{a.source}</span>'
            + '<span class="font index_switchsize">'
            + "【字体：<span>大</span><span>中</span><span>小</span>】</span></div>"
            + '<div class="pages_content" id="UCAP-CONTENT">'
            + '<div class="trs_editor_view TRS_UEDITOR trs_paper_default trs_word">'
            + f"{render_body(a, f'./W0{a.n}.jpg')}</div></div>"
            + '<div class="editor">【我要纠错】 责任编辑：张三</div>'
            + '<div class="share-bar">分享到：<a href="#">微信</a><a href="#">微博</a></div>'
            + "</div>"
            + T1_FOOT
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path in (self.list_path, T1_DIR):
            return self.render_listing(1)
        m = re.match(rf"^{T1_DIR}list_(\d+)\.shtml$", path)
        if m and 2 <= int(m.group(1)) <= self.pages:
            return self.render_listing(int(m.group(1)))
        m = re.match(rf"^{T1_DIR}c7104(\d+)/content\.shtml$", path)
        article = self.article_by_n(m.group(1)) if m else None
        if article is not None and not self.is_side(article):
            return self.render_article(article)
        if re.match(rf"^{T1_DIR}c7104\d+/W0\d+\.jpg$", path):
            return Reply(200, "image/jpeg", TINY_JPEG)
        return None


# -- TRS: GBK, directory URL, var countPage paging, sidebar into another column -------------

T2_SITE = "某县人民政府"
T2_PAGER = """function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
 if(_nPageCount == null || _nPageCount<=1){ return; }
 var nCurrIndex = _nCurrIndex || 0;
 if(nCurrIndex == 0) document.write("首页&nbsp;上一页&nbsp;");
 else { document.write("<a href=\\"" + _sPageName + "." + _sPageExt + "\\">首页</a>&nbsp;"); }
 if(nCurrIndex + 1 < _nPageCount) document.write("<a href=\\"" + _sPageName + "_" + \
(nCurrIndex+1) + "." + _sPageExt + "\\">下一页</a>&nbsp;");
}"""
T2_FOOT = (
    '<table width="1002" align="center" class="bottom"><tr><td align="center">'
    "主办：某县人民政府办公室　联系电话：023-12345678<br />"
    "网站标识码：5002000001　某ICP备08001234号</td></tr></table></body></html>"
)


class TrsCountPage(VariantSite):
    """TRS classic WCM, GBK (gb2312 label), configured by its directory URL ``/tzgg/``; pages
    ``index.htm``, ``index_1.htm``… with ``var countPage = N`` and
    ``createPageHTML(countPage, currentPage, "index", "htm")``; ``年月日`` list dates beside a
    sidebar "最新文件" of dated links into ``/zcwj/``. Article pages: ArticleTitle/PubDate/
    ContentSource metas, ``.TRS_Editor`` body with a ``<style>``, a PDF attachment after it.
    """

    name = "trs-countpage"
    family = "trs"
    charset = "gb2312"
    list_path = "/tzgg/"
    key, number_base = "t2", 412300
    default_articles, default_per_page = 40, 15
    side_count, side_base, side_start = 8, 400100, date(2022, 10, 9)

    def article_path(self, article: VariantArticle) -> str:
        folder = "zcwj" if self.is_side(article) else "tzgg"
        d = article.day
        return f"/{folder}/{d:%Y%m}/t{d:%Y%m%d}_{article.n}.htm"

    @property
    def pages(self) -> int:
        return count_pages(len(self.articles), self.per_page)

    def render_head(self, title: str, meta: str = "") -> str:
        return (
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
            '<html xmlns="http://www.w3.org/1999/xhtml"><head>'
            '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />'
            f"{meta}<title>{title}</title>"
            '<link href="../images/css.css" rel="stylesheet" type="text/css" /></head><body>'
            '<table width="1002" border="0" align="center" cellpadding="0" cellspacing="0">'
            f'<tr><td><img src="/images/top.jpg" alt="{T2_SITE}" /></td></tr></table>'
            '<table width="1002" align="center" class="menu"><tr>'
            '<td><a href="/">网站首页</a></td><td><a href="/zwgk/">政务公开</a></td>'
            '<td><a href="/tzgg/">通知公告</a></td><td><a href="/zcwj/">政策文件</a></td>'
            '<td><a href="/hdjl/">政民互动</a></td></tr></table>'
        )

    def render_listing(self, index: int) -> Reply:  # 0-based
        rows = self.articles[index * self.per_page : (index + 1) * self.per_page]
        lis = "\n".join(
            f'<li><a href=".{self.article_path(a)[len("/tzgg") :]}" target="_blank" '
            f'title="{escape_html(a.title)}">{escape_html(truncate_title(a.title, 24))}</a>'
            f"<span>{a.day.year}年{a.day.month:02d}月{a.day.day:02d}日</span></li>"
            for a in rows
        )
        side = "\n".join(
            f'<li><a href="..{self.article_path(a)}" target="_blank" '
            f'title="{escape_html(a.title)}">{escape_html(truncate_title(a.title, 14))}</a>'
            f"<span>{a.day:%m-%d}</span></li>"
            for a in self.side
        )
        text = (
            self.render_head(f"通知公告_{T2_SITE}")
            + '<table width="1002" align="center"><tr><td width="260" valign="top">'
            + f'<div class="zxwj"><div class="bt">最新文件</div><ul>\n{side}\n</ul></div></td>'
            + '<td valign="top">'
            + '<div class="dqwz">当前位置：<a href="../">首页</a> &gt; 通知公告</div>'
            + f'<div class="list_con"><ul>\n{lis}\n</ul></div>'
            + f'<div class="fy"><script language="javascript">{T2_PAGER}</script>'
            + f"<script>var countPage = {self.pages}//共多少页\n"
            + f"var currentPage = {index}//当前页\n"
            + 'createPageHTML(countPage, currentPage, "index", "htm");</script></div>'
            + "</td></tr></table>"
            + T2_FOOT
        )
        return self.page(text)

    def render_article(self, a: VariantArticle) -> Reply:
        meta = (
            f'<meta name="ArticleTitle" content="{escape_html(a.title)}" />'
            f'<meta name="PubDate" content="{a.published:%Y-%m-%d %H:%M}" />'
            f'<meta name="ContentSource" content="{a.source}" />'
        )
        pdf = f"P0{a.day:%Y%m%d}{a.n}.pdf"
        text = (
            self.render_head(escape_html(a.title), meta)
            + '<table width="1002" align="center" class="xl"><tr><td>'
            + f'<div class="xl_bt">{escape_html(a.title)}</div>'
            + f'<div class="xl_info">发布日期：{a.published:%Y-%m-%d}　来源：{a.source}　'
            + '浏览次数：<span id="count"></span>　【字体：<a href="javascript:doZoom(16)">大</a> '
            + '<a href="javascript:doZoom(14)">中</a> '
            + '<a href="javascript:doZoom(12)">小</a>】</div>'
            + '<div class="TRS_Editor"><style type="text/css">'
            + ".TRS_Editor P{line-height:2;font-family:宋体;font-size:12pt;}</style>"
            + f'<div class="Custom_UnionStyle">{render_body(a, f"./W0{a.n}.jpg")}</div></div>'
            + f'<div class="fj">附件：<a href="./{pdf}">实施细则.pdf</a></div>'
            + '<div class="close">【<a href="javascript:window.print()">打印本页</a>】'
            + '【<a href="javascript:window.close()">关闭窗口</a>】</div>'
            + "</td></tr></table>"
            + T2_FOOT
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path in ("/tzgg/", "/tzgg/index.htm"):
            return self.render_listing(0)
        m = re.match(r"^/tzgg/index_(\d+)\.htm$", path)
        if m and 1 <= int(m.group(1)) < self.pages:
            return self.render_listing(int(m.group(1)))
        m = re.match(r"^/(tzgg|zcwj)/\d{6}/t\d{8}_(\d+)\.htm$", path)
        article = self.article_by_n(m.group(2)) if m else None
        if article is not None and self.article_path(article) == path:
            return self.render_article(article)
        if re.match(r"^/(tzgg|zcwj)/\d{6}/[WP]0\d+\.(jpg|pdf)$", path):
            return Reply(200, "application/octet-stream", b"%PDF-1.4\n%%EOF\n")
        return None


# -- no CMS: ul/li list with a 下一页 link --------------------------------------------------

G1_SITE = "某省科普作家协会"


class GenericList(VariantSite):
    """An association's news list: ``<ul class="news-list">`` pages ``index_N.html`` linked by
    ``下一页``, an undated "热门文章" sidebar, articles with ``<h1>``, a 发布时间 line and the
    body in ``<div class="content">`` (no known CMS container).
    """

    name = "generic-list"
    family = "html"
    list_path = "/news/index.html"
    key, number_base = "g1", 300
    default_articles, default_per_page = 30, 12

    def article_path(self, article: VariantArticle) -> str:
        return f"/news/{article.day:%Y}/{article.day:%m%d}/{article.n}.html"

    @property
    def pages(self) -> int:
        return count_pages(len(self.articles), self.per_page)

    def render_chrome(self, title: str, inner: str) -> str:
        hot = "".join(
            f'<li><a href="{self.article_path(a)}">'
            f"{escape_html(truncate_title(a.title, 10))}</a></li>"
            for a in self.articles[:5]
        )
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f'<header class="site-header"><a class="brand" href="/">{G1_SITE}</a>'
            '<nav><a href="/">首页</a>'
            '<a href="/about/">协会简介</a><a href="/news/index.html">新闻动态</a>'
            '<a href="/kp/">科普作品</a><a href="/join/">入会指南</a></nav></header>'
            f'<div class="container"><div class="col-main">{inner}</div>'
            f'<aside class="col-side"><h3>热门文章</h3><ol>{hot}</ol></aside></div>'
            f'<footer class="site-footer">Copyright © 2022 {G1_SITE} 版权所有　某ICP备19001234号'
            "</footer></body></html>"
        )

    def render_listing(self, page: int) -> Reply:
        rows = self.articles[(page - 1) * self.per_page : page * self.per_page]
        lis = "\n".join(
            f'<li><a href="{self.article_path(a)}" title="{escape_html(a.title)}">'
            f"{escape_html(truncate_title(a.title, 20, '…'))}</a>"
            f'<span class="time">{a.day:%Y-%m-%d}</span></li>'
            for a in rows
        )
        pager = []
        if page > 1:
            previous = "index.html" if page == 2 else f"index_{page - 1}.html"
            pager.append(f'<a href="{previous}">上一页</a>')
        pager.append(f"<span>第{page}页/共{self.pages}页</span>")
        if page < self.pages:
            pager.append(f'<a href="index_{page + 1}.html">下一页</a>')
        inner = (
            f'<h2>新闻动态</h2><ul class="news-list">\n{lis}\n</ul>'
            f'<div class="pager">{"".join(pager)}</div>'
        )
        return self.page(self.render_chrome(f"新闻动态 - {G1_SITE}", inner))

    def render_article(self, a: VariantArticle) -> Reply:
        inner = (
            f'<h1>{escape_html(a.title)}</h1><div class="meta">'
            f"发布时间：{a.published:%Y-%m-%d %H:%M}　作者：{a.source}</div>"
            f'<div class="content">{render_body(a)}</div>'
            '<div class="post-nav"><p>上一篇：<a href="#">无</a></p></div>'
        )
        return self.page(self.render_chrome(f"{escape_html(a.title)} - {G1_SITE}", inner))

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path == self.list_path:
            return self.render_listing(1)
        m = re.match(r"^/news/index_(\d+)\.html$", path)
        if m and 2 <= int(m.group(1)) <= self.pages:
            return self.render_listing(int(m.group(1)))
        m = re.match(r"^/news/\d{4}/\d{4}/(\d+)\.html$", path)
        article = self.article_by_n(m.group(1)) if m else None
        if article is not None and self.article_path(article) == path:
            return self.render_article(article)
        return None


VARIANTS: tuple[type[VariantSite], ...] = (
    HanwebTable,
    HanwebLi,
    JpaasDiv,
    JpaasLi,
    TrsPageDiv,
    TrsCountPage,
    GenericList,
)
