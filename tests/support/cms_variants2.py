"""More variants of the CMS families herald reads, served on 127.0.0.1 with ground truth.

Like ``tests.support.cms_variants`` (whose server, articles and helpers these reuse), each site
reproduces one way a real column departs from the tidy one in ``tests.support.cms_sites``:

- ``HanwebMore``: Hanweb ``morecolumndataproxy.jsp`` over three sub-columns
  (``columnid=a,b,c``), article URLs carrying the sub-column id, records whose link text is the
  (cut) title with no ``title`` attribute, ``2022/10/08`` dates, a list URL with
  ``?uid=…&pageNum=2``.
- ``HanwebGbkProxy``: UTF-8 column page, dataproxy answering GBK (``encoding="gbk"``
  declaration, ``text/xml`` without a charset, titles with 镕 and 𠮷).
- ``JpaasDateFirst``: JPaaS, ``<span class="time">`` before the link, relative API URL,
  ``pageSize`` as a string.
- ``JpaasTable``: JPaaS, the answer only a ``<table>``, ``2022.10.08`` dates, body in
  ``.bt_content``, ``年月日`` on the article page.
- ``TrsCdn``: TRS list on 127.0.0.1 whose article links are absolute to ``localhost``.
- ``TrsScript``: TRS, ``GB2312`` (upper case) pages with 镕/𠮷, ``createPageHTML`` inside a
  script with other code, ``<dl><dt><dd>`` rows, body in ``#UCAP-CONTENT``.
- ``GenericBracket``: no CMS, ``[10-08]`` dates, ``?page=N`` paging, site name in
  ``<h1 class="logo">``, article in ``.article-con``.
- ``GenericMetaOnly``: JEECMS-style ``.jhtml``, yearless dates across a year boundary, the
  article date only in ``<meta name="PubDate">``.

Sites start and stop like ``VariantSite`` (daemon threads, ``with``); ``expected()`` and
``paragraphs()`` are keyed by the URL herald should store. Content is deterministic.

It must NOT reach the network beyond its own listening socket or import herald modules.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import ClassVar

from tests.support.cms_variants import (
    START_DATE,
    TINY_JPEG,
    Reply,
    VariantArticle,
    VariantSite,
    count_pages,
    escape_html,
    make_articles,
    render_body,
    truncate_title,
)

__all__ = [
    "VARIANTS2",
    "GenericBracket",
    "GenericMetaOnly",
    "HanwebGbkProxy",
    "HanwebMore",
    "JpaasDateFirst",
    "JpaasTable",
    "TrsCdn",
    "TrsScript",
    "Variant2Site",
]


class Variant2Site(VariantSite):
    """A ``VariantSite`` whose column may start on another day and whose article URLs may sit
    on another host name than the one serving the list."""

    column_start: ClassVar[date] = START_DATE

    def __init__(
        self,
        *,
        articles: int | None = None,
        per_page: int | None = None,
        anti_bot: int | None = None,
        anti_bot_prefix: str = "",
    ) -> None:
        super().__init__(
            articles=articles, per_page=per_page, anti_bot=anti_bot, anti_bot_prefix=anti_bot_prefix
        )
        if self.column_start != START_DATE:
            count = len(self.articles)
            self.articles = make_articles(
                count, self.key, base=self.number_base, start=self.column_start
            )
        self.by_n = {a.n: a for a in self.articles}

    @property
    def pages(self) -> int:
        return count_pages(len(self.articles), self.per_page)

    def article_url(self, article: VariantArticle) -> str:
        """The absolute URL the column links ``article`` under."""
        return self.base_url + self.article_path(article)

    def expected(self) -> list[dict[str, str]]:
        return [
            {"url": self.article_url(a), "title": a.title, "date": a.day.isoformat()}
            for a in self.articles
        ]

    def paragraphs(self) -> dict[str, list[str]]:
        return {self.article_url(a): list(a.paragraphs) for a in self.articles}

    def find_article(self, n: str, path: str) -> VariantArticle | None:
        """The article numbered ``n`` if ``path`` is exactly its path."""
        article = self.by_n.get(int(n))
        if article is not None and self.article_path(article) == path:
            return article
        return None


# -- Hanweb: morecolumndataproxy over three sub-columns ---------------------------------------

H3_COL, H3_UNIT, H3_WEBID = 1693961, 5053245, 3257
H3_SUBS = (1228921836, 1228921837, 1228921838)
H3_PROXY = "/module/web/jpage/morecolumndataproxy.jsp"
H3_WEBNAME = "某市科学技术局"
H3_HEAD = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
    '<html xmlns="http://www.w3.org/1999/xhtml"><head><meta http-equiv="Content-Type" '
    'content="text/html; charset=utf-8" />\n'
    '<meta name="Generator" content="大汉版通" /><meta name="Author" content="大汉网络" />\n'
    "<title>{title}</title>"
    '<script type="text/javascript" src="/module/jslib/jquery/jquery.js"></script></head><body>\n'
    '<div class="top"><img src="/images/banner.jpg" /></div><div class="nav">'
    '<a href="/">首页</a><a href="/col/col1693960/index.html">机构设置</a>\n'
    '<a href="/col/col1693961/index.html">政策文件</a>'
    '<a href="/col/col1693962/index.html">工作动态</a></div>\n'
    '<div class="wz">您现在的位置：<a href="/">首页</a> &gt; 政策文件</div>'
)
H3_FOOT = (
    '<div class="foot">主办单位：某市科学技术局 版权所有 网站标识码：3301000031 '
    "浙ICP备05001234号<br/>\n"
    '<a href="http://www.hanweb.com" style="display:none">Produced By 大汉网络 大汉版通发布系统'
    "</a></div></body></html>"
)


class HanwebMore(Variant2Site):
    """Hanweb column aggregating three sub-columns through ``morecolumndataproxy.jsp``;
    article pages without metas, ``时间：2022/10/08``, body in ``#zoom``."""

    name = "hanweb-more"
    family = "hanweb"
    list_path = f"/col/col{H3_COL}/index.html"
    key, number_base = "h3", 7100
    default_articles, default_per_page = 52, 15
    group_size = 3

    @property
    def list_url(self) -> str:
        return self.base_url + self.list_path + f"?uid={H3_UNIT}&pageNum=2"

    def sub_column(self, article: VariantArticle) -> int:
        return H3_SUBS[article.n % 3]

    def article_path(self, article: VariantArticle) -> str:
        d = article.day
        return f"/art/{d.year}/{d.month}/{d.day}/art_{self.sub_column(article)}_{article.n}.html"

    def render_record(self, a: VariantArticle) -> str:
        return (
            '<table width="100%" border="0" cellspacing="0" cellpadding="0"><tr>'
            f'<td class="bt_link"><a href="{self.article_path(a)}" target="_blank">'
            f"{escape_html(truncate_title(a.title, 26))}</a></td>"
            f'<td width="90" class="bt_time">{a.day:%Y/%m/%d}</td></tr></table>'
        )

    def render_recordset(self, rows: Sequence[VariantArticle]) -> str:
        records = "".join(f"<record><![CDATA[{self.render_record(a)}]]></record>\n" for a in rows)
        return "<recordset>" + records + "</recordset>"

    def render_column(self) -> Reply:
        cols = ",".join(map(str, H3_SUBS))
        nextgroup = (
            f"{H3_PROXY}?page=1&appid=1&webid={H3_WEBID}&path=/&columnid={cols}"
            f"&unitid={H3_UNIT}&webname={H3_WEBNAME}&permissiontype=0"
        )
        datastore = (
            f'<datastore><nextgroup><![CDATA[<a href="{nextgroup}"></a>]]></nextgroup>'
            + self.render_recordset(self.articles[: self.per_page * self.group_size])
            + "</datastore>"
        )
        script = (
            f"<script>$(document).ready(function(){{$('#{H3_UNIT}').jpage({{themeName:'default',"
            f"showMode:'full',dataStore:dataStore,proxyUrl:'{H3_PROXY}',perPage:{self.per_page},"
            f"groupSize:{self.group_size},barPosition:'bottom',totalRecord:{len(self.articles)},"
            f"ajaxParam:{{col:1,appid:1,webid:{H3_WEBID},path:'/',columnid:'{cols}',"
            f"sourceContentType:1,unitid:{H3_UNIT},keyWordCount:30,webname:'{H3_WEBNAME}',"
            "permissiontype:0}});});</script>"
        )
        subs = "".join(
            f'<li><a href="/col/col{c}/index.html">子栏目{i}</a></li>'
            for i, c in enumerate(H3_SUBS)
        )
        text = (
            H3_HEAD.format(title=f"政策文件 {H3_WEBNAME}")
            + '<div class="main"><div class="left"><ul>'
            + subs
            + f'</ul></div><div class="right"><div class="lm">政策文件</div><div id="{H3_UNIT}">'
            + f'<script type="text/xml">{datastore}</script></div>'
            + '<script language="javascript" src="/module/web/jpage/jquery.page.min.js"></script>'
            + script
            + "</div></div>"
            + H3_FOOT
        )
        return self.page(text)

    def render_proxy(self, fields: Mapping[str, str]) -> Reply:
        xml_type = "text/xml;charset=UTF-8"
        if fields.get("columnid") != ",".join(map(str, H3_SUBS)):
            empty = (
                "<?xml version='1.0' encoding='UTF-8'?><datastore><totalrecord>0</totalrecord>"
                "<recordset></recordset></datastore>"
            )
            return Reply(200, xml_type, empty.encode())
        start = int(fields.get("startrecord", 1))
        end = int(fields.get("endrecord", start + self.per_page * self.group_size - 1))
        rows = self.articles[max(start, 1) - 1 : end]
        xml = (
            "<?xml version='1.0' encoding='UTF-8'?><datastore>"
            f"<totalrecord>{len(self.articles)}</totalrecord>"
            + self.render_recordset(rows)
            + "</datastore>"
        )
        return Reply(200, xml_type, xml.encode())

    def render_article(self, a: VariantArticle) -> Reply:
        text = (
            H3_HEAD.format(title=escape_html(a.title))
            + '<table width="1000" align="center"><tr>'
            + f'<td class="title" align="center">{escape_html(a.title)}</td></tr><tr>'
            + '<td class="info" align="center">'
            + f"时间：{a.day:%Y/%m/%d}　　信息来源：{a.source}　　"
            + '浏览次数：<span id="hits"></span>　【<a href="javascript:doZoom(16)">大</a> '
            + '<a href="javascript:doZoom(14)">中</a> <a href="javascript:doZoom(12)">小</a>】'
            + "</td></tr>"
            + f'<tr><td><div id="zoom">{render_body(a)}</div></td></tr>'
            + '<tr><td align="right"><a href="javascript:window.print()">打印本页</a> '
            + '<a href="javascript:window.close()">关闭窗口</a></td></tr></table>'
            + H3_FOOT
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path == self.list_path:
            return self.render_column()
        if path == H3_PROXY:
            return self.render_proxy({**params, **form})
        m = re.match(r"^/art/\d{4}/\d{1,2}/\d{1,2}/art_(\d+)_(\d+)\.html$", path)
        article = self.find_article(m.group(2), path) if m else None
        return self.render_article(article) if article is not None else None


# -- Hanweb: UTF-8 page, GBK dataproxy -------------------------------------------------------

H4_COL, H4_UNIT, H4_WEBID = 80791, 3372, 44
H4_PROXY = "/module/jslib/jquery/jpage/dataproxy.jsp"
H4_WEBNAME = "某省科学技术协会"
H4_HEAD = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="Generator" content="大汉版通">'
    '<meta name="Author" content="大汉网络">\n'
    '{meta}<title>{title}</title></head><body><div class="header">{site}</div><div class="nav">'
    '<a href="/">首页</a><a href="/col/col80791/index.html">科协要闻</a></div>'
)
H4_FOOT = (
    '<div class="footer">版权所有：某省科学技术协会 网站标识码：4400000012 粤ICP备05001234号 '
    '<span style="display:none">Produced By 大汉网络 大汉版通发布系统</span></div></body></html>'
)


class HanwebGbkProxy(Variant2Site):
    """Hanweb, UTF-8 column page holding one page of ``<li>`` records; the dataproxy (GET or
    POST) answers gb18030 bytes declared ``encoding="gbk"`` under ``text/xml`` without charset."""

    name = "hanweb-gbkproxy"
    family = "hanweb"
    list_path = f"/col/col{H4_COL}/index.html"
    key, number_base = "h4", 88000
    default_articles, default_per_page = 41, 12
    group_size = 1

    def article_path(self, article: VariantArticle) -> str:
        d = article.day
        return f"/art/{d.year}/{d.month}/{d.day}/art_{H4_COL}_{article.n}.html"

    def render_recordset(self, rows: Sequence[VariantArticle]) -> str:
        records = "".join(
            f'<record><![CDATA[<li><a href="{self.article_path(a)}" '
            f'title="{escape_html(a.title)}" target="_blank">'
            f"{escape_html(truncate_title(a.title, 20))}</a><span>{a.day:%Y-%m-%d}</span></li>]]>"
            "</record>\n"
            for a in rows
        )
        return "<recordset>" + records + "</recordset>"

    def render_column(self) -> Reply:
        nextgroup = (
            f"{H4_PROXY}?page=1&appid=1&webid={H4_WEBID}&path=/&columnid={H4_COL}"
            f"&unitid={H4_UNIT}&webname={H4_WEBNAME}&permissiontype=0"
        )
        datastore = (
            f'<datastore><nextgroup><![CDATA[<a href="{nextgroup}"></a>]]></nextgroup>'
            + self.render_recordset(self.articles[: self.per_page])
            + "</datastore>"
        )
        script = (
            f"<script>$(document).ready(function(){{$('#{H4_UNIT}').jpage({{themeName:'default',"
            f"showMode:'full',dataStore:dataStore,proxyUrl:'{H4_PROXY}',perPage:{self.per_page},"
            f"groupSize:{self.group_size},barPosition:'bottom',totalRecord:{len(self.articles)},"
            f"ajaxParam:{{col:1,appid:1,webid:{H4_WEBID},path:'/',columnid:{H4_COL},"
            f"sourceContentType:1,unitid:{H4_UNIT},webname:'{H4_WEBNAME}',permissiontype:0}}}});"
            "});</script>"
        )
        text = (
            H4_HEAD.format(meta="", title=f"科协要闻_{H4_WEBNAME}", site=H4_WEBNAME)
            + f'<div class="list"><ul id="{H4_UNIT}"><script type="text/xml">{datastore}</script>'
            + "</ul>"
            + script
            + "</div>"
            + H4_FOOT
        )
        return self.page(text)

    def render_proxy(self, fields: Mapping[str, str]) -> Reply:
        if fields.get("columnid") != str(H4_COL):
            empty = (
                '<?xml version="1.0" encoding="gbk"?><datastore><totalrecord>0</totalrecord>'
                "</datastore>"
            )
            return Reply(200, "text/xml", empty.encode())
        start = int(fields.get("startrecord", 1))
        end = int(fields.get("endrecord", start + self.per_page - 1))
        rows = self.articles[max(start, 1) - 1 : end]
        xml = (
            '<?xml version="1.0" encoding="gbk"?>\n<datastore>'
            f"<totalrecord>{len(self.articles)}</totalrecord>\n"
            + self.render_recordset(rows)
            + "</datastore>"
        )
        return Reply(200, "text/xml", xml.encode("gb18030"))

    def render_article(self, a: VariantArticle) -> Reply:
        meta = f'<meta name="ArticleTitle" content="{escape_html(a.title)}">'
        text = (
            H4_HEAD.format(meta=meta, title=escape_html(a.title), site=H4_WEBNAME)
            + f'<div class="art"><h1>{escape_html(a.title)}</h1>'
            + f'<div class="info">发布时间：{a.published:%Y-%m-%d %H:%M}　来源：{a.source}　'
            + '【字体：<a href="javascript:doZoom(20)">大</a> '
            + '<a href="javascript:doZoom(16)">中</a> '
            + '<a href="javascript:doZoom(12)">小</a>】</div>'
            + f'<div id="zoom">{render_body(a)}</div>'
            + '<div class="share">分享到：<a href="#">微信</a></div></div>'
            + H4_FOOT
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path == self.list_path:
            return self.render_column()
        if path == H4_PROXY:
            return self.render_proxy({**params, **form})
        m = re.match(rf"^/art/\d{{4}}/\d{{1,2}}/\d{{1,2}}/art_{H4_COL}_(\d+)\.html$", path)
        article = self.find_article(m.group(1), path) if m else None
        return self.render_article(article) if article is not None else None


# -- JPaaS: date before the link, relative API URL --------------------------------------------


def render_query(web_id: str, page_id: str, tag: str, tpl: str, param_json: str) -> str:
    """The ``queryData`` of a JPaaS bulidstatic unit (before HTML escaping)."""
    return (
        f"{{'webId':'{web_id}','pageId':'{page_id}','parseType':'bulidstatic',"
        f"'pageType':'column','tagId':'{tag}','tplSetId':'{tpl}','paramJson':'{param_json}'}}"
    )


J3_WEBID = "46e8b8bc2df4427d9a6e5bde2b2fa8e6"
J3_PAGEID = "1229635971"
J3_TPL = "a5f5b6c1d2e3f4a5b6c7d8e9f0a1b2c3"
JPAAS_API = "/api-gateway/jpaas-publish-server/front/page/build/unit"
J3_SITE = "中国科学技术协会"


class JpaasDateFirst(Variant2Site):
    """JPaaS, one bulidstatic unit with ``paramJson`` ``pageSize`` as a string and a relative
    ``url``; rows ``<li><span class="time">date</span><a>``; articles with metas, ``#zoom``."""

    name = "jpaas-datefirst"
    family = "jpaas"
    list_path = f"/col/col{J3_PAGEID}/index.html"
    key, number_base = "j3", 6100
    default_articles, default_per_page = 34, 10

    def article_path(self, article: VariantArticle) -> str:
        d = article.day
        return f"/art/{d.year}/{d.month}/{d.day}/art_{J3_PAGEID}_{article.n}.html"

    def render_column(self) -> Reply:
        query = render_query(
            J3_WEBID,
            J3_PAGEID,
            "内容区域",
            J3_TPL,
            f'{{"pageNo":"1","pageSize":"{self.per_page}"}}',
        )
        text = (
            '<!DOCTYPE html><html lang="zh"><head><meta charset="UTF-8">'
            f'<meta name="SiteName" content="{J3_SITE}">'
            f"<title>工作案例_{J3_SITE}</title>"
            '<link rel="stylesheet" href="/static/css/bootstrap.min.css"></head><body>'
            f'<header><div class="logo">{J3_SITE}</div><nav><a href="/">首页</a>'
            f'<a href="/col/{J3_PAGEID}/index.html">工作案例</a>'
            '<a href="/col/col1229635972/index.html">十年之路</a></nav></header>'
            '<div class="container"><ol class="breadcrumb"><li><a href="/">首页</a></li>'
            '<li class="active">工作案例</li></ol>'
            '<div class="list-box"><script parseType="bulidstatic" '
            'url="api-gateway/jpaas-publish-server/front/page/build/unit" '
            f'queryData="{html.escape(query)}" type="text/javascript" language="javascript">'
            "</script></div></div>"
            f"<footer>主办：{J3_SITE} 版权所有 京ICP备05000001号 "
            '<span style="display:none">Produced By 大汉网络</span></footer></body></html>'
        )
        return self.page(text)

    def render_api(self, params: Mapping[str, str]) -> Reply:
        if params.get("pageId") != J3_PAGEID:
            return Reply(200, "application/json", b'{"success":false,"code":"500"}')
        options = json.loads(params.get("paramJson") or "{}")
        page, size = int(options.get("pageNo", 1)), int(options.get("pageSize", self.per_page))
        rows = self.articles[(page - 1) * size : page * size]
        fragment = (
            '<ul class="list-group">'
            + "".join(
                f'<li class="list-group-item"><span class="time">{a.day:%Y-%m-%d}</span>'
                f'<a href="{self.article_path(a)}" target="_blank" '
                f'title="{escape_html(a.title)}">'
                f"{escape_html(truncate_title(a.title, 24))}</a></li>"
                for a in rows
            )
            + "</ul>"
        )
        pages = count_pages(len(self.articles), size)
        fragment += (
            f'<div class="pagination"><span>共{len(self.articles)}条</span>'
            f"<span>{page}/{pages}页</span></div>"
        )
        answer = {"success": True, "code": "200", "data": {"html": fragment}}
        body = json.dumps(answer, ensure_ascii=False).encode()
        return Reply(200, "application/json;charset=UTF-8", body)

    def render_article(self, a: VariantArticle) -> Reply:
        text = (
            '<!DOCTYPE html><html><head><meta charset="UTF-8">'
            f'<meta name="ArticleTitle" content="{escape_html(a.title)}">'
            f'<meta name="PubDate" content="{a.published:%Y-%m-%d %H:%M}">'
            f'<meta name="ContentSource" content="{a.source}">'
            f"<title>{escape_html(a.title)}</title></head><body>"
            f'<header><div class="logo">{J3_SITE}</div></header>'
            f'<div class="container"><h2 class="title">{escape_html(a.title)}</h2>'
            f'<div class="info">发布时间：{a.published:%Y-%m-%d}</div>'
            f'<div id="zoom">{render_body(a)}</div></div>'
            f"<footer>主办：{J3_SITE} 版权所有 京ICP备05000001号</footer></body></html>"
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path == self.list_path:
            return self.render_column()
        if path in (JPAAS_API, "/col" + JPAAS_API, f"/col/col{J3_PAGEID}/" + JPAAS_API[1:]):
            return self.render_api(params)
        m = re.match(rf"^/art/\d{{4}}/\d{{1,2}}/\d{{1,2}}/art_{J3_PAGEID}_(\d+)\.html$", path)
        article = self.find_article(m.group(1), path) if m else None
        return self.render_article(article) if article is not None else None


# -- JPaaS: the answer only a table ----------------------------------------------------------

J4_WEBID, J4_PAGEID, J4_TPL = "7c5a2f0e9b8d4c3a", "Xk3pQ9tR2sV7wY1zA4bC6", "Tq8Lm2Nv5Rx9Pw3Ks6Jd1"
J4_SITE = "某县人民政府"
J4_FOOT = f'<div class="footer">{J4_SITE}办公室主办 网站标识码：3300000099 浙ICP备12000001号</div>'


class JpaasTable(Variant2Site):
    """JPaaS, absolute API ``url``; the answer's ``data.html`` only a ``<table>`` with
    ``2022.10.08`` dates; articles under hex names, no metas, ``年月日``, ``.bt_content``."""

    name = "jpaas-table"
    family = "jpaas"
    list_path = "/zwgk/tzgg/index.html"
    key, number_base = "j4", 300
    default_articles, default_per_page = 31, 12

    def __init__(
        self,
        *,
        articles: int | None = None,
        per_page: int | None = None,
        anti_bot: int | None = None,
        anti_bot_prefix: str = "",
    ) -> None:
        super().__init__(
            articles=articles, per_page=per_page, anti_bot=anti_bot, anti_bot_prefix=anti_bot_prefix
        )
        self.by_hex = {self.hex_name(a): a for a in self.articles}

    def hex_name(self, article: VariantArticle) -> str:
        return hashlib.md5(f"j4-{article.n}".encode()).hexdigest()

    def article_path(self, article: VariantArticle) -> str:
        return f"/zwgk/tzgg/art/{article.day.year}/art_{self.hex_name(article)}.html"

    def render_column(self) -> Reply:
        query = render_query(
            J4_WEBID, J4_PAGEID, "信息列表", J4_TPL, f'{{"pageNo":1,"pageSize":{self.per_page}}}'
        )
        text = (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f"<title>通知公告 - {J4_SITE}</title></head><body>"
            f'<div class="top">{J4_SITE}</div><div class="menu"><a href="/">首页</a>'
            '<a href="/zwgk/index.html">政务公开</a></div>'
            '<div class="position">当前位置：<a href="/">首页</a> &gt; 通知公告</div>'
            f'<div class="con-list"><script parseType="bulidstatic" url="{JPAAS_API}" '
            f'querydata="{html.escape(query)}"></script></div>' + J4_FOOT + "</body></html>"
        )
        return self.page(text)

    def render_api(self, params: Mapping[str, str]) -> Reply:
        options = json.loads(params.get("paramJson") or "{}")
        page, size = int(options.get("pageNo", 1)), int(options.get("pageSize", self.per_page))
        rows = self.articles[(page - 1) * size : page * size]
        fragment = ""
        if rows:
            fragment = (
                '<table width="100%" class="list-table"><tbody>'
                + "".join(
                    f'<tr><td class="tit"><a href="{self.article_path(a)}" '
                    f'title="{escape_html(a.title)}" target="_blank">'
                    f"{escape_html(truncate_title(a.title, 22, '…'))}</a></td>"
                    f'<td class="date">{a.day:%Y.%m.%d}</td></tr>'
                    for a in rows
                )
                + "</tbody></table>"
            )
        body = json.dumps({"data": {"html": fragment}, "success": True}, ensure_ascii=False)
        return Reply(200, "application/json;charset=UTF-8", body.encode())

    def render_article(self, a: VariantArticle) -> Reply:
        d = a.day
        text = (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f"<title>{escape_html(a.title)} - {J4_SITE}</title></head><body>"
            f'<div class="top">{J4_SITE}</div>'
            '<div class="position">当前位置：<a href="/">首页</a> &gt; 通知公告</div>'
            f'<div class="article"><div class="article-title">{escape_html(a.title)}</div>'
            '<table class="article-info"><tr>'
            f"<td>发布日期：{d.year}年{d.month:02d}月{d.day:02d}日</td>"
            f"<td>来源：{a.source}</td><td>浏览次数：<b>12</b></td></tr></table>"
            f'<div class="bt_content">{render_body(a)}</div>'
            '<div class="bt_print"><a href="javascript:window.print()">打印</a> '
            '<a href="javascript:window.close()">关闭</a></div></div>' + J4_FOOT + "</body></html>"
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path == self.list_path:
            return self.render_column()
        if path == JPAAS_API:
            return self.render_api(params)
        m = re.match(r"^/zwgk/tzgg/art/\d{4}/art_([0-9a-f]{32})\.html$", path)
        article = self.by_hex.get(m.group(1)) if m else None
        if article is not None and self.article_path(article) == path:
            return self.render_article(article)
        return None


# -- TRS: article links absolute to another host name -----------------------------------------

T3_SITE = "某市发展和改革委员会"
T3_FOOT = f'<div class="foot">版权所有：{T3_SITE} 网站标识码：1100000088 京ICP备10000088号</div>'


class TrsCdn(Variant2Site):
    """TRS list served on 127.0.0.1 linking its articles absolutely under ``localhost``
    (the same server); ``createPageHTML(3, 0, "index", "html")``; ``.TRS_Editor`` bodies."""

    name = "trs-cdn"
    family = "trs"
    list_path = "/xwzx/tzgg/index.html"
    key, number_base = "t3", 5120000
    default_articles, default_per_page = 33, 12

    @property
    def cdn(self) -> str:
        return self.base_url.replace("127.0.0.1", "localhost")

    def article_path(self, article: VariantArticle) -> str:
        d = article.day
        return f"/xwzx/tzgg/{d:%Y%m}/t{d:%Y%m%d}_{article.n}.html"

    def article_url(self, article: VariantArticle) -> str:
        return self.cdn + self.article_path(article)

    def render_listing(self, index: int) -> Reply:  # 0-based
        rows = self.articles[index * self.per_page : (index + 1) * self.per_page]
        lis = "\n".join(
            f'<li><a href="{self.article_url(a)}" target="_blank" '
            f'title="{escape_html(a.title)}">{escape_html(truncate_title(a.title, 24))}</a>'
            f"<span>{a.day:%Y-%m-%d}</span></li>"
            for a in rows
        )
        text = (
            '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" '
            f'content="text/html; charset=utf-8"><title>通知公告-{T3_SITE}</title></head><body>'
            f'<div class="head">{T3_SITE}</div><div class="nav"><a href="{self.cdn}/">首页</a>'
            f'<a href="{self.cdn}/xwzx/">新闻中心</a></div>'
            f'<div class="list"><ul>{lis}</ul></div>'
            '<div class="page"><script type="text/javascript">'
            f'createPageHTML({self.pages}, {index}, "index", "html");</script></div>'
            + T3_FOOT
            + "</body></html>"
        )
        return self.page(text)

    def render_article(self, a: VariantArticle) -> Reply:
        text = (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f'<meta name="ArticleTitle" content="{escape_html(a.title)}">'
            f'<meta name="PubDate" content="{a.published:%Y-%m-%d %H:%M}">'
            f'<meta name="ContentSource" content="{a.source}">'
            f"<title>{escape_html(a.title)}</title></head><body>"
            f'<div class="head">{T3_SITE}</div>'
            f'<div class="detail"><h1>{escape_html(a.title)}</h1>'
            f'<div class="info">发布时间：{a.published:%Y-%m-%d %H:%M}　来源：{a.source}</div>'
            f'<div class="TRS_Editor">{render_body(a, "./W020221008.jpg")}</div></div>'
            + T3_FOOT
            + "</body></html>"
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path in (self.list_path, "/xwzx/tzgg/"):
            return self.render_listing(0)
        m = re.match(r"^/xwzx/tzgg/index_(\d+)\.html$", path)
        if m and 1 <= int(m.group(1)) < self.pages:
            return self.render_listing(int(m.group(1)))
        m = re.match(r"^/xwzx/tzgg/\d{6}/t\d{8}_(\d+)\.html$", path)
        article = self.find_article(m.group(1), path) if m else None
        if article is not None:
            return self.render_article(article)
        if path.endswith(".jpg"):
            return Reply(200, "image/jpeg", TINY_JPEG)
        return None


# -- TRS: GB2312 pages, createPageHTML among other script code --------------------------------

T4_SITE = "某省人力资源和社会保障厅"
T4_FOOT = f'<div class="foot">主办：{T4_SITE} 网站标识码：4400000077 粤ICP备10000077号</div>'
T4_SCRIPT = (
    '<script type="text/javascript">\nvar recordCount = %d;\nvar _pageSize = %d;\n'
    'function goto_page(n){ if(n==0){location.href="index.html";} '
    'else {location.href="index_"+n+".html";} }\n'
    '$(function(){ $(".nav li").hover(function(){$(this).addClass("on");},'
    'function(){$(this).removeClass("on");}); });\n'
    'createPageHTML(%d, %d, "index", "html");\n'
    'document.write("<span class=\\"total\\">共" + recordCount + "条</span>");\n</script>'
)


class TrsScript(Variant2Site):
    """TRS, ``GB2312``-labelled pages (gb18030 bytes), ``<dl><dt><a>…</dt><dd>date</dd></dl>``
    rows, ``createPageHTML`` inside a larger script, bodies in ``#UCAP-CONTENT``."""

    name = "trs-script"
    family = "trs"
    charset = "GB2312"
    list_path = "/zwgk/gsgg/index.html"
    key, number_base = "t4", 4410000
    default_articles, default_per_page = 36, 10

    def article_path(self, article: VariantArticle) -> str:
        d = article.day
        return f"/zwgk/gsgg/{d:%Y%m}/t{d:%Y%m%d}_{article.n}.html"

    def render_listing(self, index: int) -> Reply:  # 0-based
        rows = self.articles[index * self.per_page : (index + 1) * self.per_page]
        dls = "\n".join(
            f'<dl><dt><a href=".{self.article_path(a)[len("/zwgk/gsgg") :]}" target="_blank" '
            f'title="{escape_html(a.title)}">{escape_html(truncate_title(a.title, 20))}</a></dt>'
            f"<dd>{a.day:%Y-%m-%d}</dd></dl>"
            for a in rows
        )
        script = T4_SCRIPT % (len(self.articles), self.per_page, self.pages, index)
        text = (
            '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" '
            f'content="text/html; charset=GB2312"><title>公示公告_{T4_SITE}</title>'
            '<script src="../../js/jquery.js"></script><script src="../../js/page.js"></script>'
            "</head><body>"
            f'<div class="head">{T4_SITE}</div><ul class="nav"><li><a href="../../">首页</a></li>'
            '<li><a href="../">政务公开</a></li></ul>'
            f'<div class="lb_list">{dls}</div><div class="fy">{script}</div>'
            + T4_FOOT
            + "</body></html>"
        )
        return self.page(text)

    def render_article(self, a: VariantArticle) -> Reply:
        text = (
            '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" '
            'content="text/html; charset=GB2312">'
            f'<meta name="ArticleTitle" content="{escape_html(a.title)}">'
            f'<meta name="PubDate" content="{a.published:%Y-%m-%d %H:%M}">'
            f"<title>{escape_html(a.title)}</title></head><body>"
            f'<div class="head">{T4_SITE}</div>'
            f'<div class="xl"><div class="xl_title">{escape_html(a.title)}</div>'
            f'<div class="xl_info">发布日期：{a.published:%Y-%m-%d}　来源：{a.source}</div>'
            f'<div id="UCAP-CONTENT">{render_body(a)}</div>'
            '<div class="xl_tool"><a href="javascript:window.print()">打印本页</a> '
            '<a href="javascript:window.close()">关闭窗口</a></div></div>'
            + T4_FOOT
            + "</body></html>"
        )
        return self.page(text)

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path in (self.list_path, "/zwgk/gsgg/"):
            return self.render_listing(0)
        m = re.match(r"^/zwgk/gsgg/index_(\d+)\.html$", path)
        if m and 1 <= int(m.group(1)) < self.pages:
            return self.render_listing(int(m.group(1)))
        m = re.match(r"^/zwgk/gsgg/\d{6}/t\d{8}_(\d+)\.html$", path)
        article = self.find_article(m.group(1), path) if m else None
        return self.render_article(article) if article is not None else None


# -- no CMS: bracketed yearless dates, ?page=N ------------------------------------------------

G2_SITE = "某市工商业联合会"


class GenericBracket(Variant2Site):
    """A list with ``[10-08]`` dates, numbered ``?page=N`` links plus ``下一页``, the site name
    in ``<h1 class="logo">``; articles in ``.article-con`` (``<h1>``, 来源, time, ``.con``)."""

    name = "generic-bracket"
    family = "html"
    list_path = "/news/list.html"
    key, number_base = "g2", 2000
    default_articles, default_per_page = 27, 10

    def article_path(self, article: VariantArticle) -> str:
        return f"/news/detail/{article.n}.html"

    def render_chrome(self, title: str, inner: str) -> str:
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f'<div class="header"><h1 class="logo">{G2_SITE}</h1><ul class="menu">'
            '<li><a href="/">首页</a></li><li><a href="/news/list.html">工作动态</a></li>'
            '<li><a href="/about.html">关于我们</a></li></ul></div>'
            f'<div class="wrap">{inner}</div><div class="footer">Copyright © 2022 {G2_SITE} '
            "版权所有 技术支持：某网络公司 某ICP备18001234号</div></body></html>"
        )

    def render_listing(self, page: int) -> Reply:
        rows = self.articles[(page - 1) * self.per_page : page * self.per_page]
        lis = "\n".join(
            f'<li><a href="{self.article_path(a)}" title="{escape_html(a.title)}" '
            f'target="_blank">{escape_html(truncate_title(a.title, 18, "…"))}</a>'
            f'<span class="date">[{a.day:%m-%d}]</span></li>'
            for a in rows
        )
        pager = "".join(
            f'<a href="?page={p}"{" class=cur" if p == page else ""}>{p}</a>'
            for p in range(1, self.pages + 1)
        )
        if page < self.pages:
            pager += f'<a href="?page={page + 1}">下一页</a>'
        inner = (
            f'<div class="title">工作动态</div><ul class="newslist">{lis}</ul>'
            f'<div class="pages">{pager}</div>'
        )
        return self.page(self.render_chrome(f"工作动态 - {G2_SITE}", inner))

    def render_article(self, a: VariantArticle) -> Reply:
        inner = (
            f'<div class="article-con"><h1>{escape_html(a.title)}</h1>'
            f'<div class="source">来源：{a.source}</div>'
            f'<div class="time">{a.published:%Y-%m-%d %H:%M}:12</div>'
            f'<div class="con">{render_body(a)}</div></div>'
            '<div class="prev-next"><p>上一篇：<a href="#">无</a></p>'
            '<p>下一篇：<a href="#">无</a></p></div>'
        )
        return self.page(self.render_chrome(f"{escape_html(a.title)} - {G2_SITE}", inner))

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path == self.list_path:
            page = int(params.get("page", "1") or 1)
            return self.render_listing(page) if 1 <= page <= self.pages else None
        m = re.match(r"^/news/detail/(\d+)\.html$", path)
        article = self.find_article(m.group(1), path) if m else None
        return self.render_article(article) if article is not None else None


# -- no CMS: JEECMS .jhtml, date only in a meta -----------------------------------------------

G3_SITE = "某省社会组织促进会"


class GenericMetaOnly(Variant2Site):
    """JEECMS-style ``index_N.jhtml`` pages by ``下一页``/``尾页``; full-title rows with yearless
    ``<em>01-05</em>`` dates from January 2023 back into 2022; the article date only in
    ``<meta name="PubDate">``, title in ``<h2>``, body in ``.TextContent``."""

    name = "generic-metaonly"
    family = "html"
    list_path = "/tzgg/index.jhtml"
    key, number_base = "g3", 8800
    default_articles, default_per_page = 30, 12
    column_start = date(2023, 1, 10)

    def article_path(self, article: VariantArticle) -> str:
        return f"/tzgg/{article.n}.jhtml"

    def render_chrome(self, title: str, inner: str, meta: str = "") -> str:
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8">{meta}<title>{title}</title>'
            "</head><body>"
            f'<div class="top"><span class="logo">{G3_SITE}</span><a href="/">首页</a>'
            '<a href="/tzgg/index.jhtml">通知公告</a><a href="/hyfc/index.jhtml">会员风采</a></div>'
            f'<div class="main">{inner}</div><div class="bottom">{G3_SITE} 版权所有 '
            "地址：某市某路1号 某ICP备20001234号</div></body></html>"
        )

    def render_listing(self, page: int) -> Reply:
        rows = self.articles[(page - 1) * self.per_page : page * self.per_page]
        lis = "".join(
            f'<li><a href="{self.article_path(a)}" target="_blank">{escape_html(a.title)}</a>'
            f"<em>{a.day:%m-%d}</em></li>"
            for a in rows
        )
        nav = ['<a href="index.jhtml">首页</a>']
        if page > 1:
            previous = "index.jhtml" if page == 2 else f"index_{page - 1}.jhtml"
            nav.append(f'<a href="{previous}">上一页</a>')
        if page < self.pages:
            nav.append(f'<a href="index_{page + 1}.jhtml">下一页</a>')
        nav.append(
            f'<a href="index_{self.pages}.jhtml">尾页</a><span>当前第{page}/{self.pages}页</span>'
        )
        inner = (
            f'<div class="lm">通知公告</div><ul class="list">{lis}</ul>'
            f'<div class="pagebar">{"".join(nav)}</div>'
        )
        return self.page(self.render_chrome(f"通知公告 - {G3_SITE}", inner))

    def render_article(self, a: VariantArticle) -> Reply:
        meta = f'<meta name="PubDate" content="{a.published:%Y-%m-%d %H:%M}:00">'
        inner = (
            f'<div class="detail"><h2>{escape_html(a.title)}</h2>'
            f'<div class="laiyuan">来源：{a.source}　点击：<span id="views"></span></div>'
            f'<div class="TextContent">{render_body(a)}</div></div>'
        )
        return self.page(self.render_chrome(f"{escape_html(a.title)}-{G3_SITE}", inner, meta))

    def route(
        self, method: str, path: str, params: Mapping[str, str], form: Mapping[str, str]
    ) -> Reply | None:
        if path == self.list_path:
            return self.render_listing(1)
        m = re.match(r"^/tzgg/index_(\d+)\.jhtml$", path)
        if m and 2 <= int(m.group(1)) <= self.pages:
            return self.render_listing(int(m.group(1)))
        m = re.match(r"^/tzgg/(\d+)\.jhtml$", path)
        article = self.find_article(m.group(1), path) if m else None
        return self.render_article(article) if article is not None else None


VARIANTS2: tuple[type[Variant2Site], ...] = (
    HanwebMore,
    HanwebGbkProxy,
    JpaasDateFirst,
    JpaasTable,
    TrsCdn,
    TrsScript,
    GenericBracket,
    GenericMetaOnly,
)
