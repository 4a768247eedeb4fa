"""Article page -> title, date, author and a clean body (``worker.models.Extracted``).

The body is found by the source's configured CSS selectors, then by the containers the
Chinese government CMS families use (Hanweb ``#zoom``, TRS ``.TRS_Editor``…), then by
trafilatura. Page furniture (share bars, font-size widgets, print/close links, navigation,
footers) is removed (``worker.furniture``), the body is sanitised with absolute URLs, and
title, date and author are read from meta tags or from the line under the title
(``worker.article_meta``). This module must not fetch anything: the HTML arrives already
decoded, and decoding or retrying is the fetcher's job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import unquote, urlsplit

import lxml.html
import trafilatura
from lxml import etree

from worker.article_meta import (
    ExtractError,
    pick_author,
    pick_date,
    pick_title,
    select_first,
    split_page_text,
    title_window,
)
from worker.furniture import SCRIPT_TAGS, clean_body, remove_elements, strip_page_chrome
from worker.links import is_document_url, make_absolute, mime_type
from worker.models import ArticleSelectors, Attachment, Extracted
from worker.sanitize import (
    collect_images,
    html_to_text,
    make_summary,
    normalize_space,
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
HUGE_PAGE_ELEMENTS = 5_000  # more: trafilatura without its fallback extractors
DEEP_PAGE_LEVELS = 48  # deeper elements are unwrapped before trafilatura reads a page
XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


def extract_article(
    html: str,
    url: str,
    *,
    tz: tzinfo,
    selectors: ArticleSelectors | None = None,
    fallback_title: str = "",
    fallback_date: datetime | None = None,
    now: datetime | None = None,
    trust_fallback_title: bool = False,
) -> Extracted:
    """Read title, publication date, author and a sanitised body from an article page.
    ``trust_fallback_title``: the fallback is a feed entry's own title, which the page's
    heading does not replace (it only fills a missing or truncated one)."""
    chosen = selectors or ArticleSelectors()
    doc = parse_document(html)
    meta = read_meta(doc)
    structured_date = read_script_date(doc)
    remove_elements(doc, SCRIPT_TAGS)
    body = find_body(doc, chosen.body)
    attachments = collect_attachments(doc, body, url)
    title = pick_title(doc, meta, chosen.title, fallback_title, trust_fallback=trust_fallback_title)
    before, after = split_page_text(doc, body)
    window = title_window(before, title, body is not None)
    published = pick_date(
        doc, meta, chosen.date, structured_date, window, before + "\n" + after, tz, now, url
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
            href = make_absolute(link.get("href") or "", url)
            if not href or not is_document_url(href):
                continue
            name = normalize_space(link.text_content()) or normalize_space(link.get("title") or "")
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
        content = normalize_space(element.get("content") or "")
        if not content:
            continue
        for attribute in ("name", "property", "itemprop"):
            key = (element.get(attribute) or "").strip().lower()
            if key:
                found.setdefault(key, content)
    return found


def read_script_date(doc: lxml.html.HtmlElement) -> str:
    """Return ``datePublished`` from the page's JSON-LD blocks, else a WeChat article's publish
    time (``var ct = "<Unix seconds>"`` in its script, which shows only "昨天" or "3小时前"),
    as ISO 8601; or an empty string."""
    wechat = doc.get_element_by_id("js_content", None) is not None
    for script in doc.iter("script"):
        if wechat and (found := WECHAT_CT_RE.search(script.text or "")):
            return datetime.fromtimestamp(int(found.group(1)), UTC).isoformat()
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


WECHAT_CT_RE = re.compile(r"""\bvar\s+ct\s*=\s*["']?(\d{10})\b""")


def iter_json_objects(data: Any) -> Iterator[dict[str, Any]]:
    """Yield every JSON object nested in ``data``, outermost first."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from iter_json_objects(value)
    elif isinstance(data, list):
        for item in data:
            yield from iter_json_objects(item)


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
    if normalize_space(element.text_content()):
        return True
    return next(element.iter("img"), None) is not None


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
    """Let trafilatura find the main text of a page without a known container.

    trafilatura's passes take time growing with the nesting depth for every element (justext
    quadratically: a 1.2 MB page of nested blocks took 212 s), so elements nested deeper than
    ``DEEP_PAGE_LEVELS`` are unwrapped into their ancestor first (text kept), and a page of
    more than ``HUGE_PAGE_ELEMENTS`` elements is read without the fallback extractors.
    """
    strip_page_chrome(doc)
    fast = flatten_deep_nesting(doc, DEEP_PAGE_LEVELS) > HUGE_PAGE_ELEMENTS
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
            fast=fast,
        )
        if result and result.strip():
            return str(result)
    raise ExtractError(f"extract: no article body found at {url}")


def flatten_deep_nesting(doc: lxml.html.HtmlElement, levels: int) -> int:
    """Unwrap every element nested deeper than ``levels`` (its text and children move up);
    returns how many elements the page has left (one walk does both)."""
    deep: list[lxml.html.HtmlElement] = []
    depth = elements = 0
    for event, element in etree.iterwalk(doc, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        elements += 1
        if depth > levels and isinstance(element.tag, str):
            deep.append(element)
    for element in reversed(deep):  # innermost first, so every parent is still in place
        if element.getparent() is not None:
            element.drop_tag()
    return elements - len(deep)


def serialize_inner(element: lxml.html.HtmlElement) -> str:
    """Serialise the content of ``element`` without the element itself."""
    parts = [element.text or ""]
    parts.extend(etree.tostring(child, encoding="unicode", method="html") for child in element)
    return "".join(parts)
