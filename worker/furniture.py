"""Page furniture: what surrounds an article body and must not be stored with it.

Scripts, navigation, headers, footers, share bars, font-size and print widgets, previous/next
lines, platform disclaimers, a post's closing copyright notice and a heading that repeats the
title are removed from a body container (``clean_body``)
or from a whole page before trafilatura reads it (``strip_page_chrome``). Every pattern here
runs in linear time on any text. This module must not decide where the body is
(``worker.extract`` does), sanitise (``worker.sanitize``) or fetch anything.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from worker.links import is_document_url
from worker.sanitize import normalize_space

SCRIPT_TAGS = ("script", "style", "noscript", "template", "link")
FURNITURE_TAGS = (
    "nav",
    "footer",
    "header",
    "aside",
    "form",
    "iframe",
    "frame",
    "button",
    "input",
    "select",
    "textarea",
    "object",
    "embed",
    "svg",
    "dialog",
)
FURNITURE_ATTR_RE = re.compile(
    r"(?:^|[\s_-])(?:share|bdshare|bdsharebuttonbox|jiathis|social|sharing|print|printer"
    r"|fontsize|font-size|font_size|textsize|zoom-?size|toolbar|breadcrumbs?|crumbs?"
    r"|comments?|related|pager|pagination|page-?nav|prev-?next|next-?prev|advert|ads"
    r"|subscribe|newsletter|reward|donate|copyright|license)(?:$|[\s_-])",
    re.IGNORECASE,
)
CHROME_ATTR_RE = re.compile(
    r"^(?:footer|foot|header|head|top|topbar|nav|navbar|menu|copyright|bottom|sidebar)$",
    re.IGNORECASE,
)
WIDGET_TOKEN_RE = re.compile(
    r"(?:字体|字号)\s*[:：]?\s*(?:[大中小]\s*)*"
    r"|打印本页|打印此页|打印文章|打印正文|打\s*印|关闭窗口|关闭本页|关\s*闭|返回顶部|收藏本页|加入收藏"
    r"|分享到\s*[:：]?|分享|扫一扫|举报|[+＋]\s*关注|查看详情|了解详情|查看原图(?:\s*\d+\s*[KM]B?)?"
)
WIDGET_FILLER_RE = re.compile(r"[\s【】\[\]()（）|｜/·:：,，、]+")
WIDGET_TEXT_RE = re.compile(
    r"【\s*(?:字体|字号)(?:\s*[:：])?[大中小\s]*】"
    r"|【\s*(?:打印本页|打印此页|打印|关闭窗口|关闭本页|关闭|收藏本页|加入收藏|返回顶部)\s*】"
)
NAVIGATION_LINE_RE = re.compile(
    r"^\s*(?:上一篇|下一篇|当前位置|您的位置|您现在的位置|所在位置"
    r"|本文(?:永久)?链接|原文链接|版权声明|转载请注明|博客内容遵循|-+\s*本文结束"
    r"|(?:免责|特别)声明\s*[:：]\s*(?:本|以上)(?:内容|文)"  # a platform's disclaimer
    r"|[\[【(（]?\s*(?:作者\s*[:：][^\]】)）]{0,30})?责任编辑\s*[:：])"  # [作者: … 责任编辑: …]
)
PAGER_LINE_RE = re.compile(
    r"^[\s|<>《》«»\[\]【】\d…·.]*(?:(?:上一页|下一页|首页|尾页|末页)[\s|<>《》«»\[\]【】\d…·.]*)+$"
)
POST_NOTICE_RE = re.compile(
    r"本文作者|本文链接|本文标题|版权声明|许可协议|转载请注明|最后更新|原文链接"
)
POST_NOTICE_MAX_CHARS = 400
POST_NOTICE_LABELS = 2
WIDGET_MAX_CHARS = 60
NAVIGATION_MAX_CHARS = 150
DATE_LINE_RE = re.compile(r"(?:时间|日期|发布于|发表于)\s*[:：]?\s*\d|\d{4}\s*[-/.年]\s*\d{1,2}")
DATE_LINE_CHARS = 40
BYLINE_TOKEN_RE = re.compile(r"来\s*源|作\s*者|浏览|点击|阅读|字号|编辑|访问")
HEADER_BLOCK_TAGS = ("p", "div", "h1", "h2", "h3", "h4", "td", "span", "table")
HEADER_BLOCKS = 4
LINK_LIST_TAGS = ("ul", "ol", "dl", "div", "table", "p", "section")
LINK_LIST_MIN_LINKS = 3
LINK_LIST_DENSITY = 0.7


def remove_elements(root: lxml.html.HtmlElement, tags: tuple[str, ...]) -> None:
    """Remove every element with one of ``tags`` below ``root`` (keeping following text)."""
    for element in list(root.iter(*tags)):
        if element is not root:
            drop_element(element)


def drop_element(element: lxml.html.HtmlElement) -> None:
    """Remove ``element`` and its content but keep the text that follows it."""
    if element.getparent() is not None:
        element.drop_tree()


def strip_page_chrome(doc: lxml.html.HtmlElement) -> None:
    """Remove navigation, headers, footers and widgets from a whole page."""
    page = doc.find("body")
    if page is None:
        return
    remove_elements(page, FURNITURE_TAGS)
    for element in list(page.iterdescendants()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        if any(CHROME_ATTR_RE.match(token) for token in attribute_tokens(element)):
            drop_element(element)
    remove_widgets(page)


def clean_body(body: lxml.html.HtmlElement, title: str) -> None:
    """Remove scripts, furniture, widgets and a repeated title heading from the body."""
    remove_elements(body, SCRIPT_TAGS + FURNITURE_TAGS)
    for element in list(body.iterdescendants()):
        if not isinstance(element.tag, str):
            continue
        marker = " ".join(attribute_tokens(element))
        if marker and FURNITURE_ATTR_RE.search(marker):
            drop_element(element)
    remove_widgets(body)
    remove_post_notices(body)
    remove_link_lists(body)
    remove_link_runs(body)
    remove_title_heading(body, title)
    remove_leading_header(body, title)


def attribute_tokens(element: lxml.html.HtmlElement) -> list[str]:
    """Return the class names and id of an element."""
    return [*(element.get("class") or "").split(), *(element.get("id") or "").split()]


def remove_widgets(root: lxml.html.HtmlElement) -> None:
    """Remove font-size, print, close and share widgets and previous/next lines (only short
    elements can be one: their lengths are added up in one walk, so a page of deeply nested
    blocks does not read each block's whole text)."""
    for element in short_elements(root, NAVIGATION_MAX_CHARS):
        if element.getparent() is None:
            continue
        if is_dead_link(element) or is_widget(element):
            drop_element(element)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.text:
            element.text = WIDGET_TEXT_RE.sub("", element.text)
        if element.tail:
            element.tail = WIDGET_TEXT_RE.sub("", element.tail)


def remove_post_notices(root: lxml.html.HtmlElement) -> None:
    """Remove a blog post's closing notice box (本文作者 / 本文链接 / 版权声明 …, whatever
    its class is called): a short block naming at least two of those labels."""
    for element in short_elements(root, POST_NOTICE_MAX_CHARS):
        if element.getparent() is None:
            continue
        labels = set(POST_NOTICE_RE.findall(element.text_content()))
        if len(labels) >= POST_NOTICE_LABELS:
            drop_element(element)


def short_elements(root: lxml.html.HtmlElement, limit: int) -> list[lxml.html.HtmlElement]:
    """The descendants of ``root`` whose text (whitespace included) is at most ``limit``
    characters long, in document order: one walk adds up every element's length."""
    length: dict[lxml.html.HtmlElement, int] = {}
    started: dict[lxml.html.HtmlElement, int] = {}
    found: list[tuple[int, lxml.html.HtmlElement]] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(element.tag, str):
            continue
        if event == "start":
            started[element] = len(started)
            continue
        total = len(element.text or "")
        for child in element:
            total += length.get(child, 0) + len(child.tail or "")
        length[element] = total
        if element is not root and total <= limit:
            found.append((started[element], element))
    found.sort(key=lambda item: item[0])
    return [element for _, element in found]


def is_dead_link(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element is a short script-driven link (``javascript:``, onclick)."""
    if element.tag != "a":
        return False
    href = (element.get("href") or "").strip().lower()
    scripted = href.startswith("javascript:") or element.get("onclick") is not None
    return scripted and len(normalize_space(element.text_content())) <= WIDGET_MAX_CHARS


def is_widget(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element's whole text is widget labels or a navigation line."""
    if next(element.iter("img"), None) is not None:
        return False
    text = normalize_space(element.text_content())
    if not text:
        return False
    if len(text) <= NAVIGATION_MAX_CHARS and NAVIGATION_LINE_RE.match(text):
        return True
    if len(text) <= WIDGET_MAX_CHARS and PAGER_LINE_RE.match(text):
        return True  # |<<1 2 3 下一页>>|
    if len(text) > WIDGET_MAX_CHARS or not WIDGET_TOKEN_RE.search(text):
        return False
    rest = WIDGET_FILLER_RE.sub("", WIDGET_TOKEN_RE.sub("", text))
    return not rest


def remove_title_heading(body: lxml.html.HtmlElement, title: str) -> None:
    """Remove the first heading that repeats the article title."""
    if not title:
        return
    for heading in body.iter("h1", "h2", "h3"):
        if normalize_space(heading.text_content()) == title:
            drop_element(heading)
            return


def remove_leading_header(body: lxml.html.HtmlElement, title: str) -> None:
    """Remove the title line and the date/来源/浏览次数 line when a body starts with them (a
    container that wraps the article's header, or trafilatura's reading of one)."""
    seen = 0
    for element in list(body.iter(*HEADER_BLOCK_TAGS)):
        if element is body or element.getparent() is None:
            continue
        if any(child.tag in HEADER_BLOCK_TAGS for child in element):
            continue  # a wrapper: look at its blocks
        text = normalize_space(element.text_content())
        if not text:
            continue
        seen += 1
        if seen > HEADER_BLOCKS or len(text) > NAVIGATION_MAX_CHARS:
            return
        is_title = bool(title) and text == title
        dated = DATE_LINE_RE.search(text) is not None
        if is_title or (dated and (BYLINE_TOKEN_RE.search(text) or len(text) <= DATE_LINE_CHARS)):
            drop_element(element)  # the title, a 来源/浏览 line, or a bare "发布于：…" line


def remove_link_lists(body: lxml.html.HtmlElement) -> None:
    """Remove blocks that are lists of links (related articles, "more" lists): three links or
    more making up most of the block's text. Lists of documents (attachments) stay."""
    for element in list(body.iter(*LINK_LIST_TAGS)):
        if element is body or element.getparent() is None:
            continue
        links = list(element.iter("a"))
        if len(links) < LINK_LIST_MIN_LINKS or next(element.iter("img"), None) is not None:
            continue
        if any(is_document_url((link.get("href") or "").strip()) for link in links):
            continue
        chars, density = text_figures(element)
        if chars and density >= LINK_LIST_DENSITY:
            drop_element(element)


def text_figures(element: lxml.html.HtmlElement) -> tuple[int, float]:
    """The element's visible character count (whitespace excluded) and the share of it in
    links."""
    total = len("".join(element.text_content().split()))
    if not total:
        return 0, 1.0
    linked = sum(len("".join(link.text_content().split())) for link in element.iter("a"))
    return total, min(1.0, linked / total)


def remove_link_runs(body: lxml.html.HtmlElement) -> None:
    """Remove runs of three or more bare links that follow each other with nothing but line
    breaks and spaces between them (related articles written inline after the text)."""
    for parent in list(body.iter()):
        if not isinstance(parent.tag, str) or (parent.getparent() is None and parent is not body):
            continue
        run: list[lxml.html.HtmlElement] = []
        for child in [*parent, None]:  # None closes the last run
            quiet = child is not None and not normalize_space(child.tail or "")
            if quiet and (child.tag == "br" or is_bare_link(child)):
                run.append(child)
                continue
            if sum(1 for item in run if item.tag != "br") >= LINK_LIST_MIN_LINKS:
                for item in run:
                    item.tail = None
                    parent.remove(item)
            run = []


def is_bare_link(element: lxml.html.HtmlElement) -> bool:
    """A link, or an inline wrapper holding only one link: nothing but the link's text."""
    if not isinstance(element.tag, str) or element.tag not in ("a", "b", "strong", "font", "span"):
        return False
    links = [element] if element.tag == "a" else list(element.iter("a"))
    if len(links) != 1 or is_document_url((links[0].get("href") or "").strip()):
        return False
    text = normalize_space(element.text_content())
    return bool(text) and text == normalize_space(links[0].text_content())
