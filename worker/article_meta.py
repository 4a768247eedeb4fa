"""An article page's title, publication date and author (or source), and the error of reading.

Each ``pick_*`` tries the source's configured selector first, then the page's own signals: meta
tags (``ArticleTitle``, ``og:title``, ``pubdate``, ``author`` …), ``<time>``, JSON-LD, the first
heading, and the line under the title where CMS pages write ``发布时间：`` and ``来源：``.
This module must not choose or clean the body (``worker.extract``, ``worker.furniture``) or
fetch anything; its patterns run in linear time on any text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo

import lxml.html
from cssselect import SelectorError

from worker.dates import FUTURE_SLACK, find_date, parse_date
from worker.links import split
from worker.sanitize import normalize_space

DATE_META_NAMES = (
    "pubdate",
    "article:published_time",
    "publishdate",
    "publish_date",
    "publishtime",
    "firstpublishedtime",
    "datepublished",
    "dcterms.issued",
    "dc.date.issued",
    "og:release_date",
    "datecreated",
    "dateupdate",  # last: an update time, read only when nothing says when it was published
)
TITLE_META_NAMES = ("articletitle", "og:title")
AUTHOR_META_NAMES = ("author", "article:author", "contentsource")
CMS_VENDOR_RE = re.compile(r"大汉|hanweb|拓尔思|^trs\b|jcms|jpaas|webmaster", re.IGNORECASE)

TITLE_SEPARATOR_RE = re.compile(r"\s+[-|–—]\s+|\s*[_|｜]\s*")
CJK_HYPHEN_RE = re.compile(r"\S-[^\x00-\x7f0-9][^-]*$")
SITE_NAME_MAX_CHARS = 30
SITE_NAME_META = ("sitename", "og:site_name", "application-name")
TRUNCATION_MARKS = ("...", "…", "。。。")
SOURCE_RE = re.compile(
    r"(?:信息来源|文章来源|稿件来源|来\s*源|作\s*者)\s*[:：]\s*(?P<value>[^\n]*)"
)
SOURCE_STOP_RE = re.compile(
    r"发布|发表|时间|日期|作\s*者|浏览|点击|阅读|访问|字体|字号|编辑|责任|更新|分享|打印"
    r"|[【\[|｜]|\s{2,}"
)
SOURCE_MAX_CHARS = 40
WINDOW_AFTER_TITLE = 400
WINDOW_BEFORE_BODY = 300
BODY_MARK = "\ue000BODY\ue000"


class ExtractError(ValueError):
    """The page holds no article body that herald can read."""


def select_first(root: lxml.html.HtmlElement, selector: str) -> lxml.html.HtmlElement | None:
    """Return the first element matching a CSS selector, or None."""
    try:
        matches = root.cssselect(selector)
    except SelectorError as exc:
        raise ExtractError(f"extract: bad CSS selector {selector!r}: {exc}") from exc
    return matches[0] if matches else None


def pick_title(
    doc: lxml.html.HtmlElement,
    meta: dict[str, str],
    selector: str,
    fallback_title: str,
    *,
    trust_fallback: bool = False,
) -> str:
    """Choose the title; a truncated list title gives way to a longer page title. With
    ``trust_fallback`` (a feed's own entry title) the page only fills a missing or truncated
    one: a page's heading never replaces what the feed says."""
    page_title = read_page_title(doc, meta, selector)
    fallback = normalize_space(fallback_title)
    if not page_title:
        return fallback
    if trust_fallback and fallback and not fallback.endswith(TRUNCATION_MARKS):
        return fallback
    if fallback.endswith(TRUNCATION_MARKS):
        bare = fallback.rstrip(".…。").rstrip()
        return page_title if len(page_title) >= len(bare) else fallback
    return page_title


def read_page_title(doc: lxml.html.HtmlElement, meta: dict[str, str], selector: str) -> str:
    """Return the page's own title: selector, ArticleTitle, og:title, first h1, <title>."""
    if selector:
        element = select_first(doc, selector)
        if element is not None:
            value = element_value(element, ("content", "title"))
            if value:
                return value
    site_name = next((meta[name] for name in SITE_NAME_META if meta.get(name)), "")
    heading = first_heading(doc)
    for name in TITLE_META_NAMES:
        value = meta.get(name, "")
        if value and name == "og:title":  # SEO plugins write "标题 - 站点" here
            if heading and value.startswith(heading) and len(value) > len(heading):
                return heading
            if heading and heading.startswith(value) and len(heading) > len(value):
                return heading  # og:title cut short (an unescaped quote ends the attribute)
            if site_name and value.endswith(site_name) and len(value) > len(site_name):
                return value[: -len(site_name)].rstrip(" -_|｜–—－:：") or value
        if value:
            return value
    if heading:
        return heading
    title_element = doc.find(".//title")
    if title_element is not None:
        return strip_site_suffix(normalize_space(title_element.text_content()), site_name)
    return ""


def first_heading(doc: lxml.html.HtmlElement) -> str:
    """The text of the first ``h1`` outside navigation, footers and logos."""
    for heading in doc.iter("h1"):
        text = normalize_space(heading.text_content())
        if text and not in_chrome(heading):
            return text
    return ""


def strip_site_suffix(title: str, site_name: str = "") -> str:
    """Drop a trailing site name: ``标题_栏目_站点``, ``Title - Site``, ``标题-站点``."""
    if site_name and title.endswith(site_name) and len(title) > len(site_name):
        trimmed = title[: -len(site_name)].rstrip(" -_|｜–—－:：")
        if trimmed:
            title = trimmed
    parts = [part.strip() for part in TITLE_SEPARATOR_RE.split(title)]
    first = next((part for part in parts if part), title)
    head, hyphen, tail = first.rpartition("-")
    if hyphen and head and CJK_HYPHEN_RE.search(first) and len(tail) <= SITE_NAME_MAX_CHARS:
        return head.strip()
    return first


def in_chrome(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element is, or sits in, navigation, a footer or a logo block."""
    for ancestor in itertools.chain([element], element.iterancestors()):
        if ancestor.tag in ("nav", "footer"):
            return True
        marker = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}".lower()
        if "logo" in marker:
            return True
    return False


def element_value(element: lxml.html.HtmlElement, attributes: tuple[str, ...]) -> str:
    """Return the first non-empty attribute of ``attributes``, else the element's text."""
    for attribute in attributes:
        value = normalize_space(element.get(attribute) or "")
        if value:
            return value
    return normalize_space(element.text_content())


def split_page_text(
    doc: lxml.html.HtmlElement, body: lxml.html.HtmlElement | None
) -> tuple[str, str]:
    """Return the page text before and after the body container (all of it when None)."""
    page = doc.find("body")
    if page is None:
        return "", ""
    parent = body.getparent() if body is not None else None
    if body is None or parent is None:
        return "\n".join(page.itertext()), ""
    marker = lxml.html.Element("span")
    marker.text = BODY_MARK
    parent.replace(body, marker)
    marker.tail = body.tail
    try:
        text = "\n".join(page.itertext())
    finally:
        parent.replace(marker, body)
    before, _, after = text.partition(BODY_MARK)
    return before, after


def title_window(before: str, title: str, before_is_header: bool) -> str:
    """Return the text right under the title, where the date and source lines sit."""
    position = before.rfind(title) if title else -1
    if position >= 0:
        return before[position + len(title) :][:WINDOW_AFTER_TITLE]
    if before_is_header:
        return before[-WINDOW_BEFORE_BODY:]
    return ""


def pick_date(
    doc: lxml.html.HtmlElement,
    meta: dict[str, str],
    selector: str,
    structured: str,
    window: str,
    outside_body: str,
    tz: tzinfo,
    now: datetime | None,
    url: str = "",
) -> datetime | None:
    """Choose the publication date: selector, meta tags, <time>, JSON-LD, text under the title.

    A date without its year counts only when the page proves the year (its URL's
    ``/2022/10/08/``, ``t20221008_``, ``/202210/``…): no year is ever taken from the clock. A
    date in the future of ``now`` is no publication date."""
    fetched = now or datetime.now(UTC)
    proven = year_proof(url)
    reference = datetime(proven, 12, 31, 23, 59, tzinfo=tz) if proven else fetched
    allowed = proven is not None
    limit = fetched + FUTURE_SLACK

    def found_in(text: str, *, label: bool = False) -> datetime | None:
        value = find_date(text, tz, now=reference, require_label=label, yearless=allowed)
        return value if value is not None and value <= limit else None

    if selector:
        element = select_first(doc, selector)
        if element is not None and (
            value := found_in(element_value(element, ("datetime", "content")))
        ):
            return value
    for raw in iter_date_strings(doc, meta, structured):
        value = parse_date(raw, tz, now=reference, yearless=allowed)
        if value is not None and value <= limit:
            return value
    if window and (value := found_in(window)):
        return value
    return found_in(outside_body, label=True)


_URL_YEAR = re.compile(
    r"(?:^|[/_=-]|\bt)((?:19|20)\d\d)(?:[/_-]?(?:0?[1-9]|1[0-2])(?:[/_-]?[0-3]?\d)?)(?=[/_.-]|$)"
    r"|/((?:19|20)\d\d)/"
)


def year_proof(url: str) -> int | None:
    """The year a page's URL names in its path (``/2022/10/08/``, ``/art/2022/10/8/``,
    ``t20221008_123.html``, ``/202210/``), or None."""
    path = split(url).path
    for match in _URL_YEAR.finditer(path):
        year = int(match.group(1) or match.group(2))
        if 1995 <= year <= 2100:
            return year
    return None


def iter_date_strings(
    doc: lxml.html.HtmlElement, meta: dict[str, str], structured: str
) -> Iterator[str]:
    """Yield machine-readable date strings: meta tags, then <time datetime>, then JSON-LD."""
    for name in DATE_META_NAMES:
        if meta.get(name):
            yield meta[name]
    for element in doc.iter("time"):
        value = (element.get("datetime") or "").strip()
        if value and not in_chrome(element):
            yield value
    if structured:
        yield structured


def pick_author(
    doc: lxml.html.HtmlElement,
    meta: dict[str, str],
    selector: str,
    window: str,
    before: str,
) -> str:
    """Choose the author or source: selector, meta author/ContentSource, then ``来源：`` text."""
    if selector:
        element = select_first(doc, selector)
        if element is not None:
            value = strip_source_label(element_value(element, ("content",)))
            if value:
                return value
    for name in AUTHOR_META_NAMES:
        value = meta.get(name, "")
        if value and not CMS_VENDOR_RE.search(value) and "://" not in value:
            return value
    for text in (window, before):
        value = find_source(text)
        if value:
            return value
    return ""


def strip_source_label(text: str) -> str:
    """Turn ``来源：重庆市科协 发布…`` into ``重庆市科协``; other text is returned as is."""
    return find_source(text) or normalize_space(text)


def find_source(text: str) -> str:
    """Return the value after the first ``来源：``/``作者：`` label in ``text``."""
    for match in SOURCE_RE.finditer(text):
        value = SOURCE_STOP_RE.split(match.group("value"), maxsplit=1)[0].strip()
        if value and len(value) <= SOURCE_MAX_CHARS:
            return value
    return ""
