"""A page's text in reading order (``read_page_text``) and where its title stands in it
(``find_title_anchor``): what the date and author readers measure distances in.

Text nodes are joined by newlines; every piece remembers the element it belongs to and every
element its span. This module must not read dates, titles or bodies, or fetch anything.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

from worker.article_titles import HEADING_TAGS, TITLE_MARK_RE

__all__ = ["PageText", "find_title_anchor", "read_page_text"]

ANCESTOR_LEVELS = 12
MAX_TITLE_OCCURRENCES = 50
PARAGRAPH_CHARS = 40  # a line at least this long (spaces aside) is text, not a header's line


@dataclass
class PageText:
    """The text of a page in reading order (text nodes joined by newlines), with the element
    each piece belongs to and the span of every element."""

    text: str
    starts: list[int] = field(repr=False)
    owners: list[lxml.html.HtmlElement] = field(repr=False)
    spans: dict[lxml.html.HtmlElement, tuple[int, int]] = field(repr=False)

    def owner_at(self, position: int) -> lxml.html.HtmlElement | None:
        """The element whose text holds ``position``."""
        index = bisect.bisect_right(self.starts, position) - 1
        return self.owners[index] if index >= 0 else None

    def span(self, element: lxml.html.HtmlElement | None) -> tuple[int, int] | None:
        """Where an element's text starts and ends in ``text``."""
        return self.spans.get(element) if element is not None else None


def read_page_text(root: lxml.html.HtmlElement) -> PageText:
    """Walk ``root`` once and record its text in reading order."""
    pieces: list[str] = []
    starts: list[int] = []
    owners: list[lxml.html.HtmlElement] = []
    spans: dict[lxml.html.HtmlElement, tuple[int, int]] = {}
    opened: dict[lxml.html.HtmlElement, int] = {}
    length = 0

    def add(text: str, owner: lxml.html.HtmlElement) -> None:
        nonlocal length
        pieces.append("\n")
        pieces.append(text)
        starts.append(length + 1)
        owners.append(owner)
        length += len(text) + 1

    for event, element in etree.iterwalk(root, events=("start", "end")):
        is_element = isinstance(element.tag, str)
        if event == "start":
            if is_element:
                opened[element] = length
                if element.text:
                    add(element.text, element)
            continue
        if is_element:
            spans[element] = (opened.pop(element, length), length)
        parent = element.getparent()
        if element.tail and element is not root and parent is not None:
            add(element.tail, parent)
    return PageText("".join(pieces), starts, owners, spans)


def find_title_anchor(page: PageText, title: str, body: tuple[int, int] | None) -> int | None:
    """Where the text under the title begins: the end of the title's first occurrence in a
    heading outside links, else in an element whose class names a title, else its first
    occurrence outside links; before the body when the body is known."""
    compact_title = "".join(title.split())
    if not compact_title:
        return None
    flat, offsets = compact(page.text)
    best: tuple[int, int] | None = None  # (rank, end offset)
    start = flat.find(compact_title)
    seen = 0
    while start >= 0 and seen < MAX_TITLE_OCCURRENCES:
        seen += 1
        end = offsets[start + len(compact_title) - 1] + 1
        position = offsets[start]
        owner = page.owner_at(position)
        if owner is not None and (body is None or position < body[1]):
            rank = title_rank(owner)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, end)
                if rank == 0:
                    break
        start = flat.find(compact_title, start + 1)
    return best[1] if best else None


def text_after_title(
    page: PageText, anchor: int | None, body: tuple[int, int] | None
) -> tuple[int, int] | None:
    """The body's span without its header: a container that also holds the title (and the
    byline and date under it) has its text begin at the first paragraph-long line after the
    title. Any other body is returned as it is."""
    if body is None or anchor is None or not body[0] <= anchor < body[1]:
        return body
    position = anchor
    while position < body[1]:
        end = page.text.find("\n", position + 1, body[1])
        end = body[1] if end < 0 else end
        if len("".join(page.text[position:end].split())) >= PARAGRAPH_CHARS:
            return (position, body[1])
        position = end
    return body


def title_rank(owner: lxml.html.HtmlElement) -> int | None:
    """0 for a heading, 1 for an element whose class names a title (a "正在浏览：" bar's
    ``title-text`` is one too), 2 for other text, None for a link's text or page chrome."""
    rank = 2
    for level, element in enumerate((owner, *owner.iterancestors())):
        if element.tag == "a" or element.tag == "title":
            return None
        if level <= 3 and element.tag in HEADING_TAGS:
            rank = 0
        elif level <= 3 and TITLE_MARK_RE.search(
            f"{element.get('class') or ''} {element.get('id') or ''}"
        ):
            rank = min(rank, 1)
        if level > ANCESTOR_LEVELS:
            break
    return rank


def compact(text: str) -> tuple[str, list[int]]:
    """``text`` without whitespace, and for each kept character its offset in ``text``."""
    kept: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        if not char.isspace():
            kept.append(char)
            offsets.append(index)
    return "".join(kept), offsets
