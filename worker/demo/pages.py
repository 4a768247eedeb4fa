"""The demo column's content and markup: the seed article turned into titles, paragraphs and
dates, the page templates, paths, ETags and conditional-request checks. Pure functions and
constants; ``worker.demo.site`` serves them.

It must NOT open sockets, read ``/work/shared`` at run time, or import herald modules other
than ``worker.models``.
"""

from __future__ import annotations

import hashlib
import html
import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dt_time
from email.utils import format_datetime, parsedate_to_datetime
from string import Template
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

LIST_PATH = re.compile(rf"^/col/col{COLUMN_ID}/index(?:_(\d+))?\.html$")
ARTICLE_PATH = re.compile(rf"^/art/(\d{{4}})/(\d{{1,2}})/(\d{{1,2}})/art_{COLUMN_ID}_(\d+)\.html$")
IMAGE_PATH = re.compile(r"^/art/(?:[^/]+/)*img/[^/]+\.jpe?g$")
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


HEAD_TEMPLATE = Template(
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

FOOT_HTML = """</div>
<div class="footer">
<p>中国科学技术协会版权所有</p>
<p>中国科协宣传文化部主办　中国科协信息中心承办</p>
<p>地址：北京市海淀区复兴路3号 邮编：100863</p>
<p><span class="hanweb" style="display: none;">Produced By 大汉网络 大汉版通发布系统</span></p>
</div>
</body>
</html>
"""

ARTICLE_TEMPLATE = Template(
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

LIST_TEMPLATE = Template(
    """<div class="news-list">
$items
</div>
<div class="page">$pager</div>
"""
)

RSS_TEMPLATE = Template(
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

RSS_ITEM_TEMPLATE = Template(
    """<item>
<title>$title</title>
<link>$link</link>
<guid isPermaLink="true">$link</guid>
<pubDate>$pub_date</pubDate>
<description>$description</description>
</item>"""
)


def head_html(charset: str, page_title: str, extra_meta: str = "") -> str:
    """The shared page head, header, navigation and breadcrumb."""
    return HEAD_TEMPLATE.substitute(
        charset=html.escape(charset),
        site_name=SITE_NAME,
        column_name=COLUMN_NAME,
        extra_meta=extra_meta,
        page_title=html.escape(page_title),
    )


def article_html(article: DemoArticle, seed: Seed, charset: str) -> str:
    """The article page: Hanweb's metas, the heading, the info line and the ``#zoom`` body."""
    local = article.published.astimezone(SHANGHAI)
    meta = (
        f'<meta name="ArticleTitle" content="{html.escape(article.title)}">\n'
        f'<meta name="PubDate" content="{local:%Y-%m-%d %H:%M}">\n'
        f'<meta name="ContentSource" content="{SOURCE_NAME}">\n'
    )
    return (
        head_html(charset, f"{article.title}_{COLUMN_NAME}_{SITE_NAME}", meta)
        + ARTICLE_TEMPLATE.substitute(
            title=html.escape(article.title),
            day=f"{local:%Y-%m-%d}",
            source=SOURCE_NAME,
            body=body_html(article, seed),
        )
        + FOOT_HTML
    )


def body_html(article: DemoArticle, seed: Seed) -> str:
    """The ``#zoom`` HTML: paragraphs with the seed's sub-headings and figures between them."""
    inserts: dict[int, list[str]] = {}
    for position, block in seed.inserts:
        inserts.setdefault(position, []).append(block)
    blocks: list[str] = []
    for index, paragraph in enumerate(article.paragraphs):
        blocks.extend(inserts.pop(index, []))
        blocks.append(f"<p>{html.escape(paragraph)}</p>")
    for rest in inserts.values():
        blocks.extend(rest)
    return "\n".join(blocks)


def list_html(shown: Sequence[DemoArticle], pager: str, charset: str) -> str:
    """A list page with these entries and this pager."""
    items = "\n".join(item_html(article) for article in shown)
    return (
        head_html(charset, f"{COLUMN_NAME}_{SITE_NAME}")
        + LIST_TEMPLATE.substitute(items=items, pager=pager)
        + FOOT_HTML
    )


def item_html(article: DemoArticle) -> str:
    """One list entry: a link with the full title attribute and truncated text, and a date."""
    title = html.escape(article.title)
    shown = html.escape(truncate_title(article.title))
    day = article.published.astimezone(SHANGHAI)
    return (
        f'<div class="item"><a href="{article_path(article)}" title="{title}" '
        f'target="_blank">{shown}</a><em>{day:%Y-%m-%d}</em></div>'
    )


def pager_html(page: int, pages: int, total: int) -> str:
    """The pager of page ``page`` of ``pages`` (``total`` articles): first/previous/next/last."""
    parts = [f"<span>共{total}条　第{page}/{pages}页</span>"]
    parts.append(f'<a class="first" href="{list_page_path(1).rsplit("/", 1)[1]}">首页</a>')
    if page > 1:
        previous = list_page_path(page - 1).rsplit("/", 1)[1]
        parts.append(f'<a class="prev" href="{previous}">上一页</a>')
    if page < pages:
        following = list_page_path(page + 1).rsplit("/", 1)[1]
        parts.append(f'<a class="next" href="{following}">下一页</a>')
    parts.append(f'<a class="last" href="{list_page_path(pages).rsplit("/", 1)[1]}">尾页</a>')
    return " ".join(parts)


def feed_item_xml(article: DemoArticle, base_url: str) -> str:
    """One RSS item: title, link, guid, pubDate (+0800) and the first paragraph."""
    return RSS_ITEM_TEMPLATE.substitute(
        title=xml_escape(article.title),
        link=xml_escape(base_url + article_path(article)),
        pub_date=format_datetime(article.published.astimezone(SHANGHAI)),
        description=xml_escape(article.paragraphs[0]),
    )


def not_found_html(charset: str) -> str:
    """A small 404 page."""
    return (
        f'<!DOCTYPE html><html><head><meta charset="{html.escape(charset)}">'
        "<title>404</title></head><body><h1>404 页面不存在</h1></body></html>\n"
    )
