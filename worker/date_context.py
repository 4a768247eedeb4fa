"""Where a date sits on a page, and what that says about whose date it is: the label before
it, the line it is on (a 来源/作者 line, or a 推荐/评论 line of another item), the element it sits
in (a link to another item, a list item, a comment or related block, a class naming a date).

Pure functions of the parsed page and its text; scores are added to a candidate's by
``worker.date_candidates``. This module must not choose a date or fetch anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import lxml.html

from worker.date_patterns import LABEL_RANKS
from worker.links import split
from worker.sanitize import normalize_space

__all__ = [
    "BYLINE_RE",
    "LABEL_TAIL_RE",
    "OTHER_ITEM_LINE_RE",
    "clip",
    "context_score",
    "line_at",
]

CONTEXT_LEVELS = 12
EVIDENCE_CHARS = 80

LABEL_TAIL_RE = re.compile(
    r"(?<![a-z])(?P<label>" + "|".join(re.escape(label) for label, _ in LABEL_RANKS) + r")"
    r"(?![a-z])[\s\u3000]*[:：]?[\s\u3000\[\]【】()（）]*$",
    re.IGNORECASE,
)
BYLINE_RE = re.compile(
    r"来源|來源|作者|浏览|瀏覽|点击|點擊|阅读|閱讀|编辑|編輯|字号|字體|字体|访问|訪問|\bby\b|source",
    re.IGNORECASE,
)
NEGATIVE_CONTEXT_RE = re.compile(  # short words only as whole tokens: "postlist" is no list
    r"comment|repl(?:y|ies)|review|relate|recommend|tuijian|xgwz|xgxw|sidebar|aside|footer"
    r"|copyright|pinglun|(?<![a-z])(?:hot|rank|side|right|foot|nav|more|list|feed|pl)(?![a-z])",
    re.IGNORECASE,
)
OTHER_ITEM_LINE_RE = re.compile(
    r"推荐|推薦|相关|相關|热门|熱門|热点|熱點|上一篇|下一篇|评论|評論|回复|回覆|回復|\bmore\b"
)
OWN_META_RE = re.compile(r"(?<![a-z])meta(?![a-z])", re.IGNORECASE)  # side_meta, post-meta
POSITIVE_CONTEXT_RE = re.compile(
    r"date|time|pub|publish|byline|info|source|meta|attr|property|author|fbsj|rq",
    re.IGNORECASE,
)


def context_score(
    element: lxml.html.HtmlElement,
    labelled: bool = False,
    own_path: str = "",
    wraps_title: Callable[[lxml.html.HtmlElement], bool] = lambda _: False,
) -> float:
    """What the element a date sits in says about it: links, list items, comment or related
    blocks count against it (a labelled date in an aside less: it is often the article's own
    information panel; a block that also holds the article's title not at all: it is a layout
    wrapper, like ``no-right``); a class or id naming a date or a byline counts for it."""
    score = 0.0
    negative = positive = False
    for level, ancestor in enumerate(element.iterancestors(), start=1):
        if level > CONTEXT_LEVELS or ancestor.tag == "body":
            break
        if ancestor.tag == "a" and level <= 3 and not is_permalink(ancestor, own_path):
            score -= 35.0
        elif ancestor.tag == "li" and level <= 4:
            score -= 10.0
        marker = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}"
        if (
            not negative
            and NEGATIVE_CONTEXT_RE.search(marker)
            and not wraps_title(ancestor)
            and not OWN_META_RE.search(marker)  # a side column of the post's own meta
        ):
            negative = not articles_own_footer(ancestor, marker)
        if not positive and level <= 3 and POSITIVE_CONTEXT_RE.search(marker):
            positive = True
    own = f"{element.get('class') or ''} {element.get('id') or ''}"
    if element.tag == "a" and not is_permalink(element, own_path):
        score -= 35.0
    elif in_listing_row(element, own_path):
        score -= 15.0 if labelled else 40.0
    if POSITIVE_CONTEXT_RE.search(own):
        positive = True
    if negative:
        score -= 10.0 if labelled else 30.0
    if positive:
        score += 10.0
    return score


def articles_own_footer(element: lxml.html.HtmlElement, marker: str) -> bool:
    """A footer inside an ``<article>`` (``<footer class="entry-footer">``) holds that article's
    date and byline: it does not count against them as the site's footer does."""
    words = marker.lower().split()
    footer = element.tag == "footer" or (bool(words) and all("foot" in word for word in words))
    return footer and any(ancestor.tag == "article" for ancestor in element.iterancestors())


LISTING_ROW_TAGS = ("tr", "li", "dd")
ROW_LEVELS = 3
ROW_SIBLINGS = 3  # rows of a list: the row and at least two more like it
ROW_LINK_CHARS = 6  # another item's title, not an author's or a source's name
ROW_OTHER_CHARS = 12  # besides that title and the date, a list row holds little else


def in_listing_row(element: lxml.html.HtmlElement, own_path: str) -> bool:
    """Tell whether the date sits in one row of a list of other items (a table row or list item
    among several like it, holding a link to another page titled at some length and little
    else): that item's date, like a sidebar's ``<tr><td><a>标题</a></td><td>2018/06/22</td>``."""
    row = element if element.tag in LISTING_ROW_TAGS else None
    for level, ancestor in enumerate(element.iterancestors(), start=1):
        if row is not None or level > ROW_LEVELS:
            break
        if ancestor.tag in LISTING_ROW_TAGS:
            row = ancestor
    if row is None:
        return False
    parent = row.getparent()
    if parent is None or sum(1 for child in parent if child.tag == row.tag) < ROW_SIBLINGS:
        return False
    links = [a for a in row.iter("a") if a.get("href") and not is_permalink(a, own_path)]
    titles = [normalize_space(a.text_content()) for a in links]
    longest = max(titles, key=len, default="")
    if len(longest) < ROW_LINK_CHARS:
        return False
    rest = normalize_space(row.text_content()).replace(longest, "", 1)
    rest = rest.replace(normalize_space(element.text_content()), "", 1)
    return len(rest.strip(" ·•|-[]【】()（）")) <= ROW_OTHER_CHARS


def is_permalink(link: lxml.html.HtmlElement, own_path: str) -> bool:
    """Tell whether a link points at the page itself or at a part of it (a blog's date is often
    its permalink; a question page's answer dates link to ``QUESTION/answer/ID``), not at
    another item."""
    href = (link.get("href") or "").strip()
    if not own_path or not href:
        return False
    path = split(href).path.rstrip("/")
    return path == own_path or path.startswith(own_path + "/")


def line_at(text: str, position: int, until: int) -> str:
    """The lines around ``text[position:until]`` (text nodes count as lines; a date can span
    several), with the label line before them, whitespace collapsed."""
    start = text.rfind("\n", max(0, position - EVIDENCE_CHARS), position)
    start = start + 1 if start >= 0 else max(0, position - EVIDENCE_CHARS)
    end = text.find("\n", until, until + EVIDENCE_CHARS)
    end = end if end >= 0 else until + EVIDENCE_CHARS
    before = text.rfind("\n", max(0, start - EVIDENCE_CHARS), max(0, start - 1))
    label_line = text[before + 1 if before >= 0 else 0 : start]
    joined = (label_line if LABEL_TAIL_RE.search(label_line) else "") + text[start:end]
    return clip(joined)


def clip(text: str) -> str:
    return normalize_space(text)[:EVIDENCE_CHARS]
