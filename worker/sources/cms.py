"""The link rows of Chinese government CMS list fragments (Hanweb, JPaaS, TRS).

Finds, in an HTML fragment (a Hanweb ``<record>``, a JPaaS ``data.html``, a whole TRS list
page), every article link and its "row": the ``li``/``tr``/``dd``/``div`` holding it and no
other article, found in time linear in the page. ``worker.sources.rowitems`` reads each row's
title and date. Also holds the URL classifiers (attachments, navigation). This module must not
fetch anything or touch the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from worker.links import is_download_url, make_absolute

__all__ = [
    "SKIPPED_TAGS",
    "LinkRow",
    "find_link_rows",
    "is_attachment_url",
    "is_content_link",
    "iter_text",
    "iter_text_outside",
]

# Elements that end a list row: climbing from a link stops at the first of these.
ROW_TAGS = frozenset({"li", "tr", "dd"})
# Elements that never hold a row's text.
SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "textarea", "select"})
# A container whose text outside the link is longer than this is not a list row
# (unless it is an li/tr/dd): its dates would belong to something else.
ROW_MAX_OUTSIDE_CHARS = 200
# Rows read per article URL: repeats of a link (an image and a title) merge into one item, and
# a page repeating one link 30,000 times must not cost 30,000 climbs through the same block.
ROWS_PER_URL = 3
MIXED = "\x00mixed"  # link_owners: an element holding links to several articles


NAVIGATION_PATH_RE = re.compile(
    r"(?:^|/)(?:index|default|list|more)(?:_\d+)?\.(?:s?html?|jsp|aspx?|php)$"
    r"|/col/col\d+/?$|/module/(?:web/)?(?:jpage|jslib|search)/|dataproxy\.jsp$"
    r"|/(?:search|login|rss)(?:/|\.|$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LinkRow:
    """One link of a list and the element standing for its row (the link itself if none)."""

    link: lxml.html.HtmlElement
    row: lxml.html.HtmlElement
    url: str


# --- URL classifiers ----------------------------------------------------------------------


def is_attachment_url(url: str) -> bool:
    """Tell whether ``url`` names a file download (PDF, DOC, image…) rather than a page."""
    return is_download_url(url)


def is_content_link(url: str) -> bool:
    """Tell whether ``url`` may be an article: not an attachment, a column index or a site root."""
    if is_attachment_url(url):
        return False
    parts = urlsplit(url)
    path = parts.path
    if path in ("", "/") or path.endswith("/"):
        return False
    return NAVIGATION_PATH_RE.search(path) is None


# --- parsing ------------------------------------------------------------------------------


def find_link_rows(
    document: lxml.html.HtmlElement,
    base_url: str,
    *,
    is_article: Callable[[str], bool] | None = None,
    whole_is_row: bool = False,
) -> list[LinkRow]:
    """Every accepted link in document order, each with its row element.

    With ``whole_is_row`` the fragment itself (a Hanweb ``<record>``) is one row: climbing
    may reach its ``<body>`` whatever the length of its text.
    """
    links: list[tuple[lxml.html.HtmlElement, str]] = []
    seen: dict[str, int] = {}
    for link in document.iter("a"):
        url = make_absolute(str(link.get("href", "")), base_url, keep_fragment=False)
        if url and (is_article is None or is_article(url)):
            seen[url] = seen.get(url, 0) + 1
            if seen[url] <= ROWS_PER_URL:
                links.append((link, url))
    # The elements stay referenced while rows are found: lxml keeps one proxy object per node
    # only while it is referenced, and the owners below are keyed by the proxies' ids.
    elements = list(document.iter())
    owners = link_owners(elements, {id(link): url for link, url in links})
    boundary = find_boundary(document)
    rows = [
        LinkRow(link, find_row(link, url, owners, boundary, whole_is_row), url)
        for link, url in links
    ]
    return rows


def link_owners(elements: list[lxml.html.HtmlElement], urls_of: dict[int, str]) -> dict[int, str]:
    """For each element (in document order), the one accepted URL its links go to: "" for
    none, ``MIXED`` for several. One pass from the leaves up: rows are found in linear time."""
    owners: dict[int, str] = {}
    for element in reversed(elements):
        owner = urls_of.get(id(element), "")
        for child in element:
            below = owners.get(id(child), "")
            if below and owner and below != owner:
                owner = MIXED
                break
            owner = owner or below
        owners[id(element)] = owner
    return owners


def find_boundary(document: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The element rows never climb past: the ``<body>`` when there is one."""
    body = document.find("body")
    return body if body is not None else document


def find_row(
    link: lxml.html.HtmlElement,
    url: str,
    owners: dict[int, str],
    boundary: lxml.html.HtmlElement,
    whole_is_row: bool,
) -> lxml.html.HtmlElement:
    """Climb from the link to the largest ancestor that holds no other accepted link.

    Stops at the first ``li``/``tr``/``dd``, at the boundary, and before a container whose
    text outside the link is too long to be a list row.
    """
    row = link
    element = link.getparent()
    while element is not None:
        if owners.get(id(element), url) not in (url, ""):
            break  # it holds a link to another article
        at_boundary = element is boundary
        if (
            element.tag not in ROW_TAGS
            and not (at_boundary and whole_is_row)
            and outside_exceeds(element, link, ROW_MAX_OUTSIDE_CHARS)
        ):
            break
        row = element
        if at_boundary or element.tag in ROW_TAGS:
            break
        element = element.getparent()
    return row


def outside_exceeds(
    element: lxml.html.HtmlElement, link: lxml.html.HtmlElement, limit: int
) -> bool:
    """Whether the visible text of ``element`` outside ``link``, whitespace collapsed, is
    longer than ``limit`` characters; reading stops as soon as it is."""
    characters = words = 0
    for piece in iter_text_outside(element, link):
        for word in piece.split():
            characters += len(word)
            words += 1
        if characters + words - 1 > limit:
            return True
    return False


def iter_text_outside(
    element: lxml.html.HtmlElement, link: lxml.html.HtmlElement | None
) -> Iterator[str]:
    """The text pieces of ``element`` in order, skipping ``link``, scripts and comments."""
    return iter_text(element, {id(link)} if link is not None else set())


def iter_text(element: lxml.html.HtmlElement, skip: set[int]) -> Iterator[str]:
    """The text pieces of ``element`` in order, leaving out the elements whose ``id`` is in
    ``skip``, scripts, styles and comments."""
    if id(element) in skip or not isinstance(element.tag, str) or element.tag in SKIPPED_TAGS:
        return
    if element.text:
        yield element.text
    for child in element:
        yield from iter_text(child, skip)
        if child.tail:
            yield child.tail
