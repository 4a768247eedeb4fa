"""Find a page's densest repeated block of dated links, and CSS selectors that read it.

``guess_list`` groups item-like elements (li/tr/dd/div/p) by parent, tag and class, keeps the
groups with at least three dated links, scores them (dated items × average title length, less
navigation-like links) and derives ``[sources.list]`` selectors that ``worker.sources.html``
reads the same items with. Everything here is pure (page text in, verdict out): this module
must not fetch anything, follow links, or know the CMS families (``worker.sources.detect``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urlsplit

import lxml.html
from lxml.cssselect import CSSSelector

from worker.dates import find_date, parse_date
from worker.htmldoc import read_document
from worker.links import make_absolute
from worker.models import Discovered, ListSelectors
from worker.sanitize import normalize_space
from worker.sources.cms import iter_text_outside
from worker.sources.html import (
    CompiledSelectors,
    element_title,
    find_base_url,
    parse_list,
    read_list_items,
)
from worker.sources.rowitems import DATE_WRAPPERS
from worker.sources.selectors import (
    Member,
    choose_date_selector,
    choose_item_selector,
    choose_link_selector,
    choose_next_selector,
    compile_css,
    stable_classes,
)

__all__ = ["GuessedList", "guess_list"]

ITEM_TAGS = ("li", "tr", "dd", "div", "p")
MIN_DATED = 3
MAX_ITEM_LINKS = 4
SHORT_TITLE = 5
TITLE_CAP = 60
MAX_DATE_TEXT = 40
INDEX_PAGE_RE = re.compile(
    r"^(?:index|default|list|main)(?:_\d+)?\.(?:s?html?|jsp|php|aspx?)$", re.IGNORECASE
)
SECOND_LEVEL = frozenset({"ac", "com", "edu", "gov", "mil", "net", "org"})

GroupKey = tuple[lxml.html.HtmlElement, str, tuple[str, ...]]


@dataclass(frozen=True)
class GuessedList:
    """A news list found by the generic heuristic.

    ``selectors`` read the list with ``worker.sources.html.parse_list``; ``items`` is what they
    read on this page; ``score`` ranks the block (dated items × average title length, less
    navigation-like links).
    """

    selectors: ListSelectors
    items: list[Discovered]
    score: float


def guess_list(
    html: str, url: str, *, tz: tzinfo, now: datetime | None = None
) -> GuessedList | None:
    """Find the densest repeated block of same-site dated links and selectors that read it.

    Candidate items (li/tr/dd/div/p) are grouped by parent, tag and class; a group needs at
    least three dated items. Groups score by dated items × average title length, cut down by
    the share of navigation-like links (short titles, the site root, index pages, other
    hosts). The returned selectors reproduce ``items`` through ``parse_list``; ``None`` when
    no group qualifies.
    """
    document = read_document(html)
    if document is None:
        return None
    moment = now if now is not None else datetime.now(tz)
    base = find_base_url(document, url)
    guesses: list[GuessedList] = []
    for group in group_candidates(document):
        members = [read_member(element, base, tz=tz, now=moment) for element in group]
        if sum(1 for m in members if m.link is not None and m.date is not None) < MIN_DATED:
            continue
        guess = build_guess(document, base, url, group, members, tz=tz, now=moment)
        if guess is not None:
            guesses.append(guess)
    guesses.sort(key=lambda g: -g.score)
    for guess in guesses:
        listing = parse_list(html, url, guess.selectors, tz=tz, now=moment)
        if listing.items == guess.items:
            return guess
    return None


def group_candidates(document: lxml.html.HtmlElement) -> list[list[lxml.html.HtmlElement]]:
    """Item-like elements grouped by (parent, tag, class signature), groups of 3 or more."""
    groups: dict[GroupKey, list[lxml.html.HtmlElement]] = {}
    for element in document.iter(*ITEM_TAGS):
        parent = element.getparent()
        if parent is None:
            continue
        key = (parent, str(element.tag), tuple(sorted(stable_classes(element))))
        groups.setdefault(key, []).append(element)
    return [group for group in groups.values() if len(group) >= MIN_DATED]


def read_member(element: lxml.html.HtmlElement, base: str, *, tz: tzinfo, now: datetime) -> Member:
    """Pick the item's main link (longest title) and the date written beside it."""
    links = [
        anchor
        for anchor in element.iter("a")
        if make_absolute(str(anchor.get("href") or ""), base, keep_fragment=False)
    ]
    if not links or len(links) > MAX_ITEM_LINKS:
        return Member(element, None, None, None)
    link = max(links, key=lambda anchor: len(element_title(anchor)))
    holder = find_date_holder(element, link, tz=tz, now=now)
    if holder is not None:
        date = parse_date(date_text(holder), tz, now=now)
    else:
        date = find_date(text_outside(element, link), tz, now=now)
    return Member(element, link, holder, date)


def find_date_holder(
    element: lxml.html.HtmlElement, link: lxml.html.HtmlElement, *, tz: tzinfo, now: datetime
) -> lxml.html.HtmlElement | None:
    """The innermost element beside the link whose short text is a date, or None."""
    for child in element.iterdescendants():
        if not isinstance(child.tag, str) or child.tag in ("a", "script", "style"):
            continue
        if child is link or contains(child, link) or contains(link, child):
            continue
        text = date_text(child)
        if not text or len(text) > MAX_DATE_TEXT or parse_date(text, tz, now=now) is None:
            continue
        inner = find_date_holder(child, link, tz=tz, now=now)
        return inner if inner is not None else child
    return None


def date_text(element: lxml.html.HtmlElement) -> str:
    """The element's text without the brackets list pages put around dates."""
    return normalize_space(element.text_content()).strip(DATE_WRAPPERS)


def contains(ancestor: lxml.html.HtmlElement, element: lxml.html.HtmlElement) -> bool:
    """True when ``element`` lies inside ``ancestor``."""
    return any(parent is ancestor for parent in element.iterancestors())


def text_outside(element: lxml.html.HtmlElement, link: lxml.html.HtmlElement) -> str:
    """The element's text without the link's own text (and without scripts and styles)."""
    return normalize_space(" ".join(iter_text_outside(element, link)))


def build_guess(
    document: lxml.html.HtmlElement,
    base: str,
    page_url: str,
    group: list[lxml.html.HtmlElement],
    members: list[Member],
    *,
    tz: tzinfo,
    now: datetime,
) -> GuessedList | None:
    """Derive selectors for one group, read it with them and score what they read."""
    link = choose_link_selector(members, base)
    date = choose_date_selector(members, tz=tz, now=now)
    item = choose_item_selector(document, base, group, link)
    if item is None:
        return None
    selectors = ListSelectors(
        item=item,
        link=link,
        title=link,
        date=date,
        next=choose_next_selector(document, base, page_url),
    )
    items = read_items(document, base, selectors, tz=tz, now=now)
    score = score_items(items, page_url)
    if score <= 0:
        return None
    return GuessedList(selectors=selectors, items=items, score=score)


def read_items(
    document: lxml.html.HtmlElement,
    base: str,
    selectors: ListSelectors,
    *,
    tz: tzinfo,
    now: datetime,
) -> list[Discovered]:
    """What ``parse_list`` reads with ``selectors``, on the already parsed document (an entry
    that cannot be read is left out, its siblings kept)."""
    compiled = CompiledSelectors(
        item=CSSSelector(selectors.item, translator="html"),
        link=compile_css(selectors.link) if selectors.link else None,
        title=compile_css(selectors.title) if selectors.title else None,
        date=compile_css(selectors.date) if selectors.date else None,
        next=None,
    )
    items, _ = read_list_items(document, compiled, base, tz=tz, now=now)
    return items


def score_items(items: list[Discovered], page_url: str) -> float:
    """Dated items × average title length × (1 − share of navigation-like links)²."""
    dated = sum(1 for item in items if item.published_at is not None)
    if dated < MIN_DATED:
        return 0.0
    average = sum(min(len(item.title), TITLE_CAP) for item in items) / len(items)
    navigation = sum(1 for item in items if is_navigation(item, page_url)) / len(items)
    return dated * average * (1.0 - navigation) ** 2


def is_navigation(item: Discovered, page_url: str) -> bool:
    """Links that look like menus: short titles, the site root, index pages, other sites."""
    if len(item.title) < SHORT_TITLE:
        return True
    parts = urlsplit(item.url)
    if site_key(parts.hostname or "") != site_key(urlsplit(page_url).hostname or ""):
        return True
    last = parts.path.rsplit("/", 1)[-1]
    return parts.path in ("", "/") or bool(INDEX_PAGE_RE.match(last))


def site_key(host: str) -> str:
    """The registrable part of a host: ``gg.cast.org.cn`` → ``cast.org.cn``."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])
