"""Link rows into items: each row's full title and the date written beside its link.

A row (see ``worker.sources.cms.find_link_rows``) gives the title — the longer of the link's
``title`` attribute and its text, a trailing ``…`` not counting — and the date: a labelled one
(``发布日期：…``), one written alone in the row or just after it (``[10-08]``, ``2022年10月8日``),
or the day in a Hanweb or TRS article URL. Rows that cannot be read are skipped and counted.
This module must not fetch anything, find rows or touch the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, tzinfo
from urllib.parse import urlsplit

import lxml.html

from worker.dates import find_date, parse_date
from worker.htmldoc import read_document
from worker.models import Discovered
from worker.sanitize import normalize_space
from worker.sources.base import read_each
from worker.sources.cms import SKIPPED_TAGS, LinkRow, find_link_rows, iter_text, iter_text_outside
from worker.sources.html import find_base_url

__all__ = [
    "DATE_WRAPPERS",
    "find_row_date",
    "parse_link_items",
    "read_split_date",
    "read_title",
    "read_url_date",
    "rows_to_items",
]

ELLIPSIS = ".…。 \u3000"
DATE_WRAPPERS = "[]【】()（）〔〕「」<>《》 \u3000"
# How many following siblings are searched for the date of a link without a row.
SIBLING_SEARCH = 4
DATE_SHAPE_RE = re.compile(
    r"^(?:\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?"
    r"|\d{1,2}\s*-\s*\d{1,2}|\d{1,2}\s*月\s*\d{1,2}\s*[日号])"
    r"(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?$"
)
# A date split over two elements: a big day number beside "2022-10" (or the reverse).
SPLIT_DAY_LAST_RE = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*月\s+|\s+)(\d{1,2})(?![\d:/.-])"
)
SPLIT_DAY_FIRST_RE = re.compile(
    r"(?<![\d:/.-])(\d{1,2})\s+(\d{4})\s*[-/.年]\s*(\d{1,2})(?![\d/.-])"
)
HANWEB_URL_DATE_RE = re.compile(r"/art/(\d{4})/(\d{1,2})/(\d{1,2})/art_")
TRS_URL_DATE_RE = re.compile(r"/t(\d{4})(\d{2})(\d{2})_\d+")

DateReader = Callable[[str], datetime | None]


def parse_link_items(
    fragment_html: str,
    base_url: str,
    *,
    tz: tzinfo,
    now: datetime | None = None,
    is_article: Callable[[str], bool] | None = None,
) -> list[Discovered]:
    """Read every linked row of an HTML fragment (or page) into items, deduplicated by URL.

    URLs are absolute without fragment; the title is the longer of the link's ``title``
    attribute and its text (a trailing ``...``/``…`` does not count); the date is read from
    the row's text outside the link (``2022-10-08``, ``[10-08]`` with the year inferred,
    ``2022年10月8日``…). ``is_article`` filters out navigation or attachment links.
    """
    document = read_document(fragment_html)
    if document is None:
        return []
    rows = find_link_rows(document, find_base_url(document, base_url), is_article=is_article)
    return rows_to_items(rows, tz=tz, now=now)[0]


def rows_to_items(
    rows: list[LinkRow], *, tz: tzinfo, now: datetime | None = None
) -> tuple[list[Discovered], int]:
    """Turn link rows into items, one per URL in first-seen order, and count the rows skipped.

    When a URL appears more than once (an image link and a text link), the longer title and
    the first date found win. A row that cannot be read is skipped and counted.
    """
    read, skipped = read_each(rows, lambda row: read_row(row, tz=tz, now=now))
    merged: dict[str, Discovered] = {}
    for item in read:
        previous = merged.get(item.url)
        merged[item.url] = item if previous is None else merge_items(previous, item)
    return list(merged.values()), skipped


def merge_items(first: Discovered, second: Discovered) -> Discovered:
    """Keep ``first``'s place; take the fuller title and the first known date."""
    title = first.title
    if len(second.title.rstrip(ELLIPSIS)) > len(title.rstrip(ELLIPSIS)):
        title = second.title
    return Discovered(
        url=first.url,
        title=title,
        published_at=first.published_at or second.published_at,
    )


def read_row(row: LinkRow, *, tz: tzinfo, now: datetime | None) -> Discovered:
    """Read the title and date of one link row."""

    def read(text: str) -> datetime | None:
        return parse_date(text, tz, now=now)

    date_elements = find_date_elements(row.link, read)
    title = read_title(row.link, date_elements)
    shown = find_row_date(row, tz=tz, now=now) or read_first_date(date_elements, read)
    from_url = read_url_date(row.url, tz)
    published = shown or from_url
    if shown and from_url and (shown.month, shown.day) == (from_url.month, from_url.day):
        published = shown.replace(year=from_url.year)  # "10-08" on the list: the URL has the year
    return Discovered(url=row.url, title=title, published_at=published)


# --- titles -------------------------------------------------------------------------------


def read_title(
    link: lxml.html.HtmlElement, date_elements: list[lxml.html.HtmlElement] | None = None
) -> str:
    """The longer of the link's ``title`` attribute and its text (dates inside it left out).

    A trailing ellipsis of cut text does not count towards its length; an image link without
    text or title gives its image's ``alt``.
    """
    skip = {id(element) for element in date_elements or []}
    text = normalize_space("".join(iter_text(link, skip)))
    attribute = normalize_space(str(link.get("title", "")))
    if not attribute and not text:
        images = [normalize_space(str(img.get("alt", ""))) for img in link.iter("img")]
        attribute = next((alt for alt in images if alt), "")
    return attribute if len(attribute) > len(text.rstrip(ELLIPSIS)) else text


# --- dates --------------------------------------------------------------------------------


def looks_like_date(text: str) -> str:
    """``text`` without brackets if it is only a date (``[10-08]``, ``2022年10月8日``), else ""."""
    stripped = normalize_space(text).strip(DATE_WRAPPERS)
    return stripped if stripped and DATE_SHAPE_RE.match(stripped) else ""


def find_date_elements(
    link: lxml.html.HtmlElement, read: DateReader
) -> list[lxml.html.HtmlElement]:
    """Elements inside the link whose whole text is a date (``<a>…<span>2022-10-08</span></a>``)."""
    found: list[lxml.html.HtmlElement] = []
    for element in link.iterdescendants():
        if not isinstance(element.tag, str) or element.tag in SKIPPED_TAGS:
            continue
        text = looks_like_date(element.text_content())
        if text and read(text) is not None and not any(e in found for e in element.iterancestors()):
            found.append(element)
    return found


def read_first_date(elements: list[lxml.html.HtmlElement], read: DateReader) -> datetime | None:
    """The date of the first element that holds one."""
    for element in elements:
        value = read(looks_like_date(element.text_content()))
        if value is not None:
            return value
    return None


def find_row_date(row: LinkRow, *, tz: tzinfo, now: datetime | None) -> datetime | None:
    """The date written in the row outside the link, else in the siblings right after the row.

    The siblings matter for ``<dt><a/></dt><dd>2022-10-08</dd>`` and for flat lists
    (``<a/> 2022-10-08<br>``); the search stops at the next element holding a link.
    """
    pieces = list(iter_text_outside(row.row, row.link)) if row.row is not row.link else []
    found = read_pieces_date(pieces, tz=tz, now=now)
    if found is not None:
        return found
    return read_pieces_date(list(iter_following_text(row.row)), tz=tz, now=now)


def iter_following_text(element: lxml.html.HtmlElement) -> Iterator[str]:
    """Text right after an element, through its next siblings up to the next link."""
    if element.tail:
        yield element.tail
    for count, sibling in enumerate(element.itersiblings()):
        if count >= SIBLING_SEARCH or not isinstance(sibling.tag, str):
            return
        if sibling.tag == "a" or sibling.find(".//a") is not None:
            return
        yield from iter_text_outside(sibling, None)
        if sibling.tail:
            yield sibling.tail


def read_pieces_date(pieces: list[str], *, tz: tzinfo, now: datetime | None) -> datetime | None:
    """A labelled date (``发布日期：…``), else a piece that is just a date, else any date."""
    text = normalize_space(" ".join(pieces))
    if not text:
        return None
    labelled = find_date(text, tz, now=now, require_label=True)
    if labelled is not None:
        return labelled
    for piece in pieces:
        shaped = looks_like_date(piece)
        value = parse_date(shaped, tz, now=now) if shaped else None
        if value is not None:
            return value
    return find_date(text, tz, now=now) or read_split_date(text, tz)


def read_split_date(text: str, tz: tzinfo) -> datetime | None:
    """A day written apart from its year and month: ``08 2022-10`` or ``2022-10 08``."""
    for pattern, order in ((SPLIT_DAY_LAST_RE, (0, 1, 2)), (SPLIT_DAY_FIRST_RE, (1, 2, 0))):
        match = pattern.search(text)
        if match is None:
            continue
        groups = match.groups()
        year, month, day = (int(groups[i]) for i in order)
        try:
            return datetime(year, month, day, tzinfo=tz)
        except ValueError:
            continue
    return None


def read_url_date(url: str, tz: tzinfo) -> datetime | None:
    """The day a Hanweb (``/art/2022/10/8/art_…``) or TRS (``t20221008_…``) URL carries."""
    for pattern in (HANWEB_URL_DATE_RE, TRS_URL_DATE_RE):
        match = pattern.search(urlsplit(url).path)
        if match is not None:
            year, month, day = (int(part) for part in match.groups())
            try:
                return datetime(year, month, day, tzinfo=tz)
            except ValueError:
                return None
    return None
