"""Article page -> title, date, author and a clean body (``worker.models.Extracted``).

The stages, one module each: the body (``worker.article_body``: the source's selector, the CMS
and portal containers, trafilatura, the densest text block — never empty when the page has
text), furniture removal (``worker.furniture``), the title and author (``worker.article_meta``)
and the publication date chosen by evidence (``worker.article_dates``). The body is sanitised
with absolute URLs. This module must not fetch anything: the HTML arrives already decoded, and
decoding or retrying is the fetcher's job.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from urllib.parse import unquote, urlsplit

import lxml.html
from lxml import etree

from worker.article_body import (
    KNOWN_BODY_SELECTORS,
    densest_block,
    find_container,
    is_chinese,
    read_body,
)
from worker.article_dates import pick_published, prefer_listed
from worker.article_meta import ExtractError, pick_author
from worker.article_titles import pick_title
from worker.date_candidates import BEFORE_BODY, WINDOW_AFTER_TITLE
from worker.date_sources import inline_written_dates, read_script_date
from worker.furniture import SCRIPT_TAGS, remove_elements
from worker.htmldoc import read_document
from worker.links import is_document_url, make_absolute, mime_type
from worker.models import ArticleSelectors, Attachment, Extracted
from worker.page_text import PageText, find_title_anchor, read_page_text, text_after_title
from worker.sanitize import (
    collect_images,
    html_to_text,
    make_summary,
    normalize_space,
    read_twice_escaped,
    sanitize_html,
)

__all__ = ["KNOWN_BODY_SELECTORS", "ExtractError", "extract_article", "find_attachments"]

DEEP_PAGE_LEVELS = 48  # deeper elements are unwrapped when a page is parsed (text kept)


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
    heading does not replace (it only fills a missing or truncated one). ``now``: when the page
    was fetched (relative dates such as ``3小时前`` are read only when it is given)."""
    chosen = selectors or ArticleSelectors()
    doc = parse_document(html)
    meta = read_meta(doc)
    script_date = read_script_date(doc)
    inline_written_dates(doc)
    remove_elements(doc, SCRIPT_TAGS)
    chinese = is_chinese(doc)
    container = find_container(doc, chosen.body, chinese=chinese)
    dense = densest_block(doc) if container is None else None
    known = container.element if container else None
    body_element = known if known is not None else dense.element if dense else None
    attachments = collect_attachments(doc, known, url)
    title = pick_title(
        doc,
        meta,
        chosen.title,
        fallback_title,
        trust_fallback=trust_fallback_title,
        body=known,  # not a densest block: it may hold the heading
    )
    page = read_page_text(doc.body)
    body_span = page.span(body_element)
    anchor = find_title_anchor(page, title, body_span)
    body_span = text_after_title(page, anchor, body_span)
    found = pick_published(
        doc,
        meta,
        script_date,
        page,
        selector=chosen.date,
        anchor=anchor,
        body=body_span,
        tz=tz,
        now=now,
        url=url,
    )
    evidence = prefer_listed(found, fallback_date)
    before, window = text_around_title(page, anchor, body_span)
    author = pick_author(doc, meta, chosen.author, window, before)
    body = read_body(doc, container, dense, title, url, chinese=chinese)
    content_html = sanitize_html(body.html, url)
    text = html_to_text(content_html)
    images = collect_images(content_html, url)
    if not text and not images:
        raise ExtractError(f"extract: empty article body at {url}")
    return Extracted(
        url=url,
        title=title,
        published_at=evidence.value if evidence else fallback_date,
        author=author,
        content_html=content_html,
        text=text,
        summary=make_summary(text),
        images=images,
        attachments=attachments,
        published_evidence=evidence,
        body_path=body.path,
        body_confidence=body.confidence,
    )


def text_around_title(
    page: PageText, anchor: int | None, span: tuple[int, int] | None
) -> tuple[str, str]:
    """The page text before the body (all of it when the body is unknown) and the text right
    under the title (``anchor``), where the source line sits."""
    before = page.text[: span[0]] if span else page.text
    if anchor is not None:
        return before, page.text[anchor : anchor + WINDOW_AFTER_TITLE]
    return before, before[-BEFORE_BODY:] if span else ""


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
            raw = (link.get("href") or "").strip()
            if not raw or not is_document_url(raw):  # most links are not: skip resolving them
                continue
            href = make_absolute(raw, url)
            if not href:
                continue
            name = normalize_space(link.text_content()) or normalize_space(link.get("title") or "")
            name = name or unquote(urlsplit(href).path.rsplit("/", 1)[-1])
            found.setdefault(href, Attachment(href, name, mime_type(href)))
    return tuple(found.values())


def parse_document(html: str) -> lxml.html.HtmlElement:
    """Parse a decoded page (``read_document``) into an lxml document, nested at most
    ``DEEP_PAGE_LEVELS`` deep: every later reading (dates, headings, trafilatura's passes) walks
    subtrees, and a page of thousands of nested blocks must not make each walk quadratic."""
    if not html.strip():
        raise ExtractError("extract: empty page")
    doc = read_document(html)
    if doc is None:
        raise ExtractError("extract: cannot parse page")
    if doc.find("body") is None:
        raise ExtractError("extract: page has no body")
    flatten_deep_nesting(doc, DEEP_PAGE_LEVELS)
    return doc


def flatten_deep_nesting(doc: lxml.html.HtmlElement, levels: int) -> None:
    """Unwrap every element nested deeper than ``levels`` (its text and children move up)."""
    deep: list[lxml.html.HtmlElement] = []
    depth = 0
    for event, element in etree.iterwalk(doc, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        if depth > levels and isinstance(element.tag, str):
            deep.append(element)
    for element in reversed(deep):  # innermost first, so every parent is still in place
        if element.getparent() is not None:
            element.drop_tag()


def read_meta(doc: lxml.html.HtmlElement) -> dict[str, str]:
    """Map lower-cased meta ``name``/``property``/``itemprop`` to the first non-empty content
    (``itemprop`` only from the head), entities a generator escaped twice (``&amp;quot;``)
    read."""
    found: dict[str, str] = {}
    head = doc.find("head")
    in_head = set(head.iter("meta")) if head is not None else set()
    for element in doc.iter("meta"):
        content = normalize_space(read_twice_escaped(element.get("content") or ""))
        if not content:
            continue
        for attribute in ("name", "property", "itemprop"):
            if attribute == "itemprop" and element not in in_head:
                continue  # microdata in the body describes its own item (an answer, a comment)
            key = (element.get(attribute) or "").strip().lower()
            if key:
                found.setdefault(key, content)
    return found
