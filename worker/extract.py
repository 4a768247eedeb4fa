"""Article page -> title, date, author and a clean body (``worker.models.Extracted``).

The body is found by the source's configured CSS selectors, then by the containers the
Chinese government CMS families use (Hanweb ``#zoom``, TRS ``.TRS_Editor``…), then by
trafilatura. Page furniture (share bars, font-size widgets, print/close links, navigation,
footers) is removed, the body is sanitised with absolute URLs, and the date is read from
meta tags or from the line under the title. This module must not fetch anything: the
HTML arrives already decoded, and decoding or retrying is the fetcher's job.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
import trafilatura
from cssselect import SelectorError
from lxml import etree

from worker.dates import find_date, parse_date
from worker.links import is_document_url, mime_type
from worker.models import ArticleSelectors, Attachment, Extracted
from worker.sanitize import (
    collect_images,
    html_to_text,
    make_summary,
    sanitize_html,
    strip_xml_illegal,
)

__all__ = ["KNOWN_BODY_SELECTORS", "ExtractError", "extract_article", "find_attachments"]

KNOWN_BODY_SELECTORS = (
    "#zoom",
    ".TRS_Editor",
    "#UCAP-CONTENT",
    ".bt_content",
    ".article-content",
    "article",
)
DATE_META_NAMES = (
    "pubdate",
    "article:published_time",
    "publishdate",
    "publish_date",
    "datepublished",
    "dcterms.issued",
    "dc.date.issued",
)
TITLE_META_NAMES = ("articletitle", "og:title")
AUTHOR_META_NAMES = ("author", "article:author", "contentsource")
CMS_VENDOR_RE = re.compile(r"大汉|hanweb|拓尔思|^trs\b|jcms|jpaas|webmaster", re.IGNORECASE)

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
    r"|subscribe|newsletter)(?:$|[\s_-])",
    re.IGNORECASE,
)
CHROME_ATTR_RE = re.compile(
    r"^(?:footer|foot|header|head|top|topbar|nav|navbar|menu|copyright|bottom|sidebar)$",
    re.IGNORECASE,
)
WIDGET_TOKEN_RE = re.compile(
    r"(?:字体|字号)\s*[:：]?\s*(?:[大中小]\s*)*"
    r"|打印本页|打印此页|打印文章|打印正文|打\s*印|关闭窗口|关闭本页|关\s*闭|返回顶部|收藏本页|加入收藏"
    r"|分享到\s*[:：]?|分享|扫一扫"
)
WIDGET_FILLER_RE = re.compile(r"[\s【】\[\]()（）|｜/·:：,，、]+")
WIDGET_TEXT_RE = re.compile(
    r"【\s*(?:字体|字号)\s*[:：]?\s*[大中小\s]*】"
    r"|【\s*(?:打印本页|打印此页|打印|关闭窗口|关闭本页|关闭|收藏本页|加入收藏|返回顶部)\s*】"
)
NAVIGATION_LINE_RE = re.compile(r"^\s*(?:上一篇|下一篇|当前位置|您的位置|您现在的位置|所在位置)")
WIDGET_MAX_CHARS = 60
NAVIGATION_MAX_CHARS = 150
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
XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


class ExtractError(ValueError):
    """The page holds no article body that herald can read."""


def extract_article(
    html: str,
    url: str,
    *,
    tz: tzinfo,
    selectors: ArticleSelectors | None = None,
    fallback_title: str = "",
    fallback_date: datetime | None = None,
    now: datetime | None = None,
) -> Extracted:
    """Read title, publication date, author and a sanitised body from an article page."""
    chosen = selectors or ArticleSelectors()
    doc = parse_document(html)
    meta = read_meta(doc)
    structured_date = read_jsonld_date(doc)
    remove_elements(doc, SCRIPT_TAGS)
    body = find_body(doc, chosen.body)
    attachments = collect_attachments(doc, body, url)
    title = pick_title(doc, meta, chosen.title, fallback_title)
    before, after = split_page_text(doc, body)
    window = title_window(before, title, body is not None)
    published = pick_date(
        doc, meta, chosen.date, structured_date, window, before + "\n" + after, tz, now
    )
    published = published or fallback_date
    author = pick_author(doc, meta, chosen.author, window, before)
    body_html = read_body_html(doc, body, title, url)
    content_html = sanitize_html(body_html, url)
    text = html_to_text(content_html)
    images = collect_images(content_html, url)
    if not text and not images:
        raise ExtractError(f"extract: empty article body at {url}")
    return Extracted(
        url=url,
        title=title,
        published_at=published,
        author=author,
        content_html=content_html,
        text=text,
        summary=make_summary(text),
        images=images,
        attachments=attachments,
    )


def find_attachments(html: str, url: str) -> tuple[Attachment, ...]:
    """Document links of an HTML fragment (a feed entry's content)."""
    if not html.strip():
        return ()
    try:
        doc = lxml.html.document_fromstring(f"<html><body>{html}</body></html>")
    except (etree.ParserError, ValueError):
        return ()
    return collect_attachments(doc, None, url)


ATTACHMENT_SIBLINGS = 5  # a CMS often puts the 附件 list just after the body container


def collect_attachments(
    doc: lxml.html.HtmlElement, body: lxml.html.HtmlElement | None, url: str
) -> tuple[Attachment, ...]:
    """Document links (PDF, DOC, XLS …) in the body and just after it, absolute, unique."""
    if body is not None:
        scopes = [body, *list(body.itersiblings())[:ATTACHMENT_SIBLINGS]]
    else:
        page = doc.find("body")
        scopes = [page] if page is not None else []
    found: dict[str, Attachment] = {}
    for scope in scopes:
        if not isinstance(scope.tag, str):
            continue
        for link in scope.iter("a"):
            href = urljoin(url, (link.get("href") or "").strip())
            if not href.startswith(("http://", "https://")) or not is_document_url(href):
                continue
            name = collapse(link.text_content()) or collapse(link.get("title") or "")
            name = name or unquote(urlsplit(href).path.rsplit("/", 1)[-1])
            found.setdefault(href, Attachment(href, name, mime_type(href)))
    return tuple(found.values())


def parse_document(html: str) -> lxml.html.HtmlElement:
    """Parse a decoded page into an lxml document."""
    source = XML_DECLARATION_RE.sub("", strip_xml_illegal(html), count=1).strip()
    if not source:
        raise ExtractError("extract: empty page")
    try:
        doc = lxml.html.document_fromstring(source)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"extract: cannot parse page: {exc}") from exc
    if doc.find("body") is None:
        raise ExtractError("extract: page has no body")
    return doc


def read_meta(doc: lxml.html.HtmlElement) -> dict[str, str]:
    """Map lower-cased meta ``name``/``property``/``itemprop`` to the first non-empty content."""
    found: dict[str, str] = {}
    for element in doc.iter("meta"):
        content = collapse(element.get("content") or "")
        if not content:
            continue
        for attribute in ("name", "property", "itemprop"):
            key = (element.get(attribute) or "").strip().lower()
            if key:
                found.setdefault(key, content)
    return found


def read_jsonld_date(doc: lxml.html.HtmlElement) -> str:
    """Return ``datePublished`` from the page's JSON-LD blocks, or an empty string."""
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for node in iter_json_objects(data):
            value = node.get("datePublished")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def iter_json_objects(data: Any) -> Iterator[dict[str, Any]]:
    """Yield every JSON object nested in ``data``, outermost first."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from iter_json_objects(value)
    elif isinstance(data, list):
        for item in data:
            yield from iter_json_objects(item)


def remove_elements(root: lxml.html.HtmlElement, tags: tuple[str, ...]) -> None:
    """Remove every element with one of ``tags`` below ``root`` (keeping following text)."""
    for element in list(root.iter(*tags)):
        if element is not root:
            drop_element(element)


def drop_element(element: lxml.html.HtmlElement) -> None:
    """Remove ``element`` and its content but keep the text that follows it."""
    if element.getparent() is not None:
        element.drop_tree()


def select_first(root: lxml.html.HtmlElement, selector: str) -> lxml.html.HtmlElement | None:
    """Return the first element matching a CSS selector, or None."""
    try:
        matches = root.cssselect(selector)
    except SelectorError as exc:
        raise ExtractError(f"extract: bad CSS selector {selector!r}: {exc}") from exc
    return matches[0] if matches else None


def find_body(doc: lxml.html.HtmlElement, selector: str) -> lxml.html.HtmlElement | None:
    """Find the body container: configured selector first, then the known CMS containers."""
    candidates = (selector, *KNOWN_BODY_SELECTORS) if selector else KNOWN_BODY_SELECTORS
    for candidate in candidates:
        element = select_first(doc, candidate)
        if element is not None and has_content(element):
            return element
    return None


def has_content(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element holds text or an image."""
    if collapse(element.text_content()):
        return True
    return next(element.iter("img"), None) is not None


def pick_title(
    doc: lxml.html.HtmlElement, meta: dict[str, str], selector: str, fallback_title: str
) -> str:
    """Choose the title; a truncated list title gives way to a longer page title."""
    page_title = read_page_title(doc, meta, selector)
    fallback = collapse(fallback_title)
    if not page_title:
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
            if site_name and value.endswith(site_name) and len(value) > len(site_name):
                return value[: -len(site_name)].rstrip(" -_|｜–—－:：") or value
        if value:
            return value
    if heading:
        return heading
    title_element = doc.find(".//title")
    if title_element is not None:
        return strip_site_suffix(collapse(title_element.text_content()), site_name)
    return ""


def first_heading(doc: lxml.html.HtmlElement) -> str:
    """The text of the first ``h1`` outside navigation, footers and logos."""
    for heading in doc.iter("h1"):
        text = collapse(heading.text_content())
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
        value = collapse(element.get(attribute) or "")
        if value:
            return value
    return collapse(element.text_content())


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
) -> datetime | None:
    """Choose the publication date: selector, meta tags, <time>, JSON-LD, text under the title."""
    if selector:
        element = select_first(doc, selector)
        if element is not None:
            value = find_date(element_value(element, ("datetime", "content")), tz, now=now)
            if value is not None:
                return value
    for raw in iter_date_strings(doc, meta, structured):
        value = parse_date(raw, tz, now=now)
        if value is not None:
            return value
    if window:
        value = find_date(window, tz, now=now)
        if value is not None:
            return value
    return find_date(outside_body, tz, now=now, require_label=True)


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
    return find_source(text) or collapse(text)


def find_source(text: str) -> str:
    """Return the value after the first ``来源：``/``作者：`` label in ``text``."""
    for match in SOURCE_RE.finditer(text):
        value = SOURCE_STOP_RE.split(match.group("value"), maxsplit=1)[0].strip()
        if value and len(value) <= SOURCE_MAX_CHARS:
            return value
    return ""


def read_body_html(
    doc: lxml.html.HtmlElement, body: lxml.html.HtmlElement | None, title: str, url: str
) -> str:
    """Return the body's HTML, cleaned of page furniture (trafilatura when no container)."""
    if body is not None:
        clean_body(body, title)
        if has_content(body):
            return serialize_inner(body)
    html = run_trafilatura(doc, url)
    try:
        fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"extract: unreadable body at {url}: {exc}") from exc
    clean_body(fragment, title)
    return serialize_inner(fragment)


def run_trafilatura(doc: lxml.html.HtmlElement, url: str) -> str:
    """Let trafilatura find the main text of a page without a known container."""
    strip_page_chrome(doc)
    page = etree.tostring(doc, encoding="unicode", method="html")
    for precision in (True, False):
        result = trafilatura.extract(
            page,
            url=url or None,
            output_format="html",
            include_images=True,
            include_links=True,
            include_tables=True,
            include_comments=False,
            favor_precision=precision,
            favor_recall=not precision,
        )
        if result and result.strip():
            return str(result)
    raise ExtractError(f"extract: no article body found at {url}")


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
    remove_title_heading(body, title)


def attribute_tokens(element: lxml.html.HtmlElement) -> list[str]:
    """Return the class names and id of an element."""
    return [*(element.get("class") or "").split(), *(element.get("id") or "").split()]


def remove_widgets(root: lxml.html.HtmlElement) -> None:
    """Remove font-size, print, close and share widgets and previous/next lines."""
    for element in list(root.iterdescendants()):
        if not isinstance(element.tag, str) or element.getparent() is None:
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


def is_dead_link(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element is a short script-driven link (``javascript:``, onclick)."""
    if element.tag != "a":
        return False
    href = (element.get("href") or "").strip().lower()
    scripted = href.startswith("javascript:") or element.get("onclick") is not None
    return scripted and len(collapse(element.text_content())) <= WIDGET_MAX_CHARS


def is_widget(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element's whole text is widget labels or a navigation line."""
    if next(element.iter("img"), None) is not None:
        return False
    text = collapse(element.text_content())
    if not text:
        return False
    if len(text) <= NAVIGATION_MAX_CHARS and NAVIGATION_LINE_RE.match(text):
        return True
    if len(text) > WIDGET_MAX_CHARS or not WIDGET_TOKEN_RE.search(text):
        return False
    rest = WIDGET_FILLER_RE.sub("", WIDGET_TOKEN_RE.sub("", text))
    return not rest


def remove_title_heading(body: lxml.html.HtmlElement, title: str) -> None:
    """Remove the first heading that repeats the article title."""
    if not title:
        return
    for heading in body.iter("h1", "h2", "h3"):
        if collapse(heading.text_content()) == title:
            drop_element(heading)
            return


def serialize_inner(element: lxml.html.HtmlElement) -> str:
    """Serialise the content of ``element`` without the element itself."""
    parts = [element.text or ""]
    parts.extend(etree.tostring(child, encoding="unicode", method="html") for child in element)
    return "".join(parts)


def collapse(text: str) -> str:
    """Collapse whitespace runs to single spaces and trim."""
    return " ".join(text.split())
