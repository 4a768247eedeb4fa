"""Read the items of an HTML list page (a column of links) with configured CSS selectors.

Given the page's text, its URL and a ``ListSelectors``, returns the linked articles in page
order with absolute URLs, full titles and dates, plus the next list page's URL. This module
must not fetch pages, follow the next link, or touch the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urldefrag

import lxml.etree
import lxml.html
from cssselect import SelectorError
from lxml.cssselect import CSSSelector

from worker.htmldoc import read_document
from worker.links import make_absolute
from worker.models import Discovered, ListSelectors
from worker.sanitize import normalize_space
from worker.sources.base import ListPage, SourceError, read_each

_ELLIPSIS = ".…。 "
_DATE_WRAPPERS = "[]【】()（）〔〕「」<>《》 "


@dataclass(frozen=True)
class CompiledSelectors:
    """``ListSelectors`` compiled to XPath; ``None`` where a selector is not configured."""

    item: CSSSelector
    link: CSSSelector | None
    title: CSSSelector | None
    date: CSSSelector | None
    next: CSSSelector | None


def parse_list(
    html: str,
    page_url: str,
    selectors: ListSelectors,
    *,
    tz: tzinfo,
    now: datetime | None = None,
) -> ListPage:
    """Read the items matched by ``selectors.item`` on one list page, deduplicated by URL.

    Items without a usable link are left out, an item that cannot be read is skipped and
    counted (``ListPage.skipped``); a page where nothing matches gives an empty ListPage.
    Raises ``SourceError`` (reason ``"config"``) for an invalid CSS selector.
    """
    compiled = compile_selectors(selectors)
    document = read_document(html)
    if document is None:
        return ListPage(items=[])
    base = find_base_url(document, page_url)
    items, skipped = read_list_items(document, compiled, base, tz=tz, now=now)
    return ListPage(
        items=items,
        next_url=find_next_url(document, compiled.next, base, page_url),
        skipped=skipped,
    )


def read_list_items(
    document: lxml.html.HtmlElement,
    compiled: CompiledSelectors,
    base: str,
    *,
    tz: tzinfo,
    now: datetime | None,
) -> tuple[list[Discovered], int]:
    """The items ``compiled.item`` matches on a parsed page, deduplicated by URL, each read on
    its own; and how many could not be read."""
    found, skipped = read_each(
        compiled.item(document), lambda element: read_item(element, compiled, base, tz=tz, now=now)
    )
    items: dict[str, Discovered] = {}
    for item in found:
        items.setdefault(item.url, item)
    return list(items.values()), skipped


def compile_selectors(selectors: ListSelectors) -> CompiledSelectors:
    """Compile every configured selector, naming the one that is invalid."""
    if not selectors.item.strip():
        raise SourceError("html: invalid selector: item selector is empty", reason="config")
    return CompiledSelectors(
        item=compile_selector("item", selectors.item),
        link=compile_optional("link", selectors.link),
        title=compile_optional("title", selectors.title),
        date=compile_optional("date", selectors.date),
        next=compile_optional("next", selectors.next),
    )


def compile_optional(name: str, selector: str) -> CSSSelector | None:
    """Compile ``selector`` unless it is blank."""
    return compile_selector(name, selector) if selector.strip() else None


def compile_selector(name: str, selector: str) -> CSSSelector:
    """Compile one CSS selector with HTML semantics, or raise a config SourceError."""
    try:
        return CSSSelector(selector, translator="html")
    except SelectorError as exc:
        message = f"html: invalid selector {name}={selector!r}: {exc}"
        raise SourceError(message, reason="config") from exc


def find_base_url(document: lxml.html.HtmlElement, page_url: str) -> str:
    """The URL relative links resolve against: ``<base href>`` if present, else the page URL."""
    for base in document.iterfind(".//base[@href]"):
        href = make_absolute(str(base.get("href", "")), page_url, keep_fragment=False)
        if href:
            return href
    return page_url


def read_item(
    element: lxml.html.HtmlElement,
    compiled: CompiledSelectors,
    base: str,
    *,
    tz: tzinfo,
    now: datetime | None,
) -> Discovered | None:
    """Read link, title and date of one matched item; None when it has no usable link."""
    found = find_link(element, compiled.link, base)
    if found is None:
        return None
    link, url = found
    return Discovered(
        url=url,
        title=read_title(element, compiled.title, link),
        published_at=read_date(element, compiled.date, tz=tz, now=now),
    )


def find_link(
    element: lxml.html.HtmlElement, selector: CSSSelector | None, base: str
) -> tuple[lxml.html.HtmlElement, str] | None:
    """The first link element with a usable href, and its absolute URL without fragment."""
    candidates = list(selector(element) if selector is not None else element.iter("a"))
    if not candidates and element.tag == "a":
        candidates = [element]
    for candidate in candidates:
        url = make_absolute(str(candidate.get("href", "")), base, keep_fragment=False)
        if url:
            return candidate, url
    return None


def read_title(
    element: lxml.html.HtmlElement, selector: CSSSelector | None, link: lxml.html.HtmlElement
) -> str:
    """The item's title: the title element (or the link), its ``title`` attribute if longer."""
    matches = list(selector(element)) if selector is not None else []
    title = element_title(matches[0]) if matches else ""
    return title or element_title(link)


def element_title(element: lxml.html.HtmlElement) -> str:
    """Visible text, or the ``title`` attribute when it is longer (the text is often cut).

    A trailing ellipsis of cut text does not count towards its length.
    """
    text = normalize_space(element.text_content())
    attribute = normalize_space(str(element.get("title", "")))
    return attribute if len(attribute) > len(text.rstrip(_ELLIPSIS)) else text


def read_date(
    element: lxml.html.HtmlElement,
    selector: CSSSelector | None,
    *,
    tz: tzinfo,
    now: datetime | None,
) -> datetime | None:
    """The item's date from the date element's text, e.g. ``[10-08]`` or ``2022年10月8日``."""
    if selector is None:
        return None
    matches = list(selector(element))
    if not matches:
        return None
    text = normalize_space(matches[0].text_content()).strip(_DATE_WRAPPERS)
    if not text:
        return None
    from worker.dates import parse_date

    return parse_date(text, tz, now=now)


def find_next_url(
    document: lxml.html.HtmlElement, selector: CSSSelector | None, base: str, page_url: str
) -> str:
    """The absolute URL of the next list page, or ``""`` (also when it is this page)."""
    if selector is None:
        return ""
    matches = list(selector(document))
    if not matches:
        return ""
    url = make_absolute(str(matches[0].get("href", "")), base, keep_fragment=False)
    return "" if url == urldefrag(page_url).url else url
