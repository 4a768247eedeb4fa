"""CSS selectors for a list the heuristic found: item, link, date and next-page selectors.

Given the candidate items (``Member``: element, main link, date holder, date), each chooser
tries candidate selectors, most stable first (ids and classes that are plain identifiers, not
state or generated names), and keeps the one that reads back what was found. Pure: this module
must not fetch anything or decide which block of a page is the list (``worker.sources.guess``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial
from urllib.parse import urldefrag

import lxml.html
from cssselect import SelectorError
from lxml.cssselect import CSSSelector

from worker.links import make_absolute
from worker.sanitize import normalize_space
from worker.sources.html import find_link, find_next_url, read_date

MAX_CONTAINER_DEPTH = 6
UTILITY_CLASSES = frozenset(
    {
        "active",
        "alt",
        "cf",
        "clear",
        "clearfix",
        "cur",
        "current",
        "end",
        "even",
        "first",
        "fl",
        "fr",
        "hidden",
        "hide",
        "hover",
        "last",
        "left",
        "odd",
        "on",
        "right",
        "sel",
        "selected",
        "show",
    }
)
IDENT_RE = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_-]*$")
GENERATED_RE = re.compile(r"\d{3,}")
NEXT_TEXTS = frozenset({"下页", "next", "nextpage", "›", ">", "next›", "next»", "next>"})


@dataclass(frozen=True)
class Member:
    """One candidate item element with its main link and the date found beside that link."""

    element: lxml.html.HtmlElement
    link: lxml.html.HtmlElement | None
    holder: lxml.html.HtmlElement | None
    date: datetime | None


def stable_classes(element: lxml.html.HtmlElement) -> list[str]:
    """Class names fit for a selector: valid identifiers, no state/utility or generated names."""
    classes = str(element.get("class") or "").split()
    return [name for name in dict.fromkeys(classes) if is_stable_name(name)]


def is_stable_name(name: str) -> bool:
    """True for an id or class that is a plain identifier, not a state or a generated number."""
    return (
        bool(IDENT_RE.match(name))
        and name.lower() not in UTILITY_CLASSES
        and not GENERATED_RE.search(name)
    )


def compile_css(selector: str) -> CSSSelector | None:
    """Compile a generated selector; None if cssselect refuses it."""
    try:
        return CSSSelector(selector, translator="html")
    except SelectorError:
        return None


def choose_link_selector(members: list[Member], base: str) -> str:
    """``"a"`` unless another selector picks the main link of more items."""
    candidates = ["a"]
    for member in members:
        if member.link is None:
            continue
        candidates.extend(f"a.{name}" for name in stable_classes(member.link))
        if member.link.get("title"):
            candidates.append("a[title]")
        candidates.append("a:last-of-type")
    linked = sum(1 for member in members if member.link is not None)
    count = partial(count_link_hits, members=members, base=base)
    return best_selector(candidates, count, minimum=0, perfect=linked) or "a"


def count_link_hits(selector: CSSSelector, members: list[Member], base: str) -> int:
    """How many items have their main link as the selector's first usable match."""
    hits = 0
    for member in members:
        if member.link is None:
            continue
        found = find_link(member.element, selector, base)
        hits += found is not None and found[0] is member.link
    return hits


def choose_date_selector(members: list[Member], *, tz: tzinfo, now: datetime) -> str:
    """The selector that reads the items' dates best: the date element's tag, its class, its
    table column, or (for a date in the item's own text) the item's own tag."""
    candidates: list[str] = []
    for member in members:
        holder = member.holder
        if holder is None:
            continue
        tag = str(holder.tag)
        candidates.append(tag)
        candidates.extend(f"{tag}.{name}" for name in stable_classes(holder))
        if tag in ("td", "th"):
            if holder.getnext() is None:
                candidates.append(f"{tag}:last-child")
            position = 1 + sum(1 for _ in holder.itersiblings(preceding=True))
            candidates.append(f"{tag}:nth-child({position})")
    candidates.extend(str(member.element.tag) for member in members)
    dated = sum(1 for member in members if member.link is not None and member.date is not None)
    count = partial(count_date_hits, members=members, tz=tz, now=now)
    return best_selector(candidates, count, minimum=1, perfect=dated)


def count_date_hits(
    selector: CSSSelector, members: list[Member], *, tz: tzinfo, now: datetime
) -> int:
    """How many items get their own date back through the selector."""
    hits = 0
    for member in members:
        if member.link is None or member.date is None:
            continue
        hits += read_date(member.element, selector, tz=tz, now=now) == member.date
    return hits


def best_selector(
    candidates: list[str], count: Callable[[CSSSelector], int], *, minimum: int, perfect: int
) -> str:
    """The first candidate with the highest count (at least ``minimum``), or ``""``.

    The search stops at the first candidate that reaches ``perfect``.
    """
    best, best_count = "", minimum - 1
    for candidate in dict.fromkeys(candidates):
        compiled = compile_css(candidate)
        if compiled is None:
            continue
        hits = count(compiled)
        if hits > best_count:
            best, best_count = candidate, hits
        if best_count >= perfect:
            break
    return best


def choose_item_selector(
    document: lxml.html.HtmlElement, base: str, group: list[lxml.html.HtmlElement], link: str
) -> str | None:
    """The first item selector (container id/class first) that selects exactly this group."""
    link_css = compile_css(link)
    expected = read_urls(group, link_css, base)
    for candidate in item_selector_candidates(group[0]):
        compiled = compile_css(candidate)
        if compiled is not None and read_urls(compiled(document), link_css, base) == expected:
            return candidate
    return None


def read_urls(
    elements: list[lxml.html.HtmlElement], link: CSSSelector | None, base: str
) -> list[str]:
    """The item URLs ``parse_list`` would read from these elements, deduplicated, in order."""
    urls: dict[str, None] = {}
    for element in elements:
        found = find_link(element, link, base)
        if found is not None:
            urls.setdefault(found[1], None)
    return list(urls)


def item_selector_candidates(element: lxml.html.HtmlElement) -> Iterator[str]:
    """Selectors for the item, most stable first: ``ul#list li``, ``div.news-list li`` …"""
    classes = stable_classes(element)
    item = str(element.tag) + (f".{classes[0]}" if classes else "")
    for depth, ancestor in enumerate(element.iterancestors()):
        if ancestor.tag in ("body", "html") or depth >= MAX_CONTAINER_DEPTH:
            break
        for token in anchor_tokens(ancestor):
            yield f"{ancestor.tag}{token} {item}"
    yield item
    yield f"{structural_path(element.getparent())} > {item}"


def anchor_tokens(element: lxml.html.HtmlElement) -> list[str]:
    """``#id`` (if stable) then ``.class`` for each stable class of a container."""
    tokens: list[str] = []
    ident = str(element.get("id") or "").strip()
    if ident and is_stable_name(ident):
        tokens.append(f"#{ident}")
    tokens.extend(f".{name}" for name in stable_classes(element))
    return tokens


def structural_path(element: lxml.html.HtmlElement) -> str:
    """A ``body > div:nth-of-type(2) > ul:nth-of-type(1)`` path down to ``element``."""
    steps: list[str] = []
    node: lxml.html.HtmlElement | None = element
    while node is not None and node.tag not in ("body", "html"):
        position = 1 + sum(
            1 for sibling in node.itersiblings(preceding=True) if sibling.tag == node.tag
        )
        steps.append(f"{node.tag}:nth-of-type({position})")
        node = node.getparent()
    steps.append("body")
    return " > ".join(reversed(steps))


def choose_next_selector(document: lxml.html.HtmlElement, base: str, page_url: str) -> str:
    """A selector for the first usable next-page link (下一页, 下页, next, ›, >), or ``""``."""
    here = urldefrag(page_url).url
    for anchor in document.iter("a"):
        text = normalize_space(anchor.text_content())
        if not is_next_text(text):
            continue
        url = make_absolute(str(anchor.get("href") or ""), base, keep_fragment=False)
        if not url or url == here:
            continue
        for candidate in next_selector_candidates(anchor, text):
            compiled = compile_css(candidate)
            if compiled is not None and find_next_url(document, compiled, base, page_url) == url:
                return candidate
        return ""
    return ""


def is_next_text(text: str) -> bool:
    """True for the texts of next-page links."""
    compact = text.replace(" ", "").lower()
    return compact.startswith("下一页") or compact in NEXT_TEXTS


def next_selector_candidates(anchor: lxml.html.HtmlElement, text: str) -> Iterator[str]:
    """``a.next``, ``a[rel~="next"]``, then ``div.page a:contains("下一页")`` and the like."""
    for name in stable_classes(anchor):
        yield f"a.{name}"
    if "next" in str(anchor.get("rel") or "").lower().split():
        yield 'a[rel~="next"]'
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    for depth, ancestor in enumerate(anchor.iterancestors()):
        if ancestor.tag in ("body", "html") or depth >= MAX_CONTAINER_DEPTH:
            break
        for token in anchor_tokens(ancestor):
            yield f"{ancestor.tag}{token} a:contains({quoted})"
    yield f"a:contains({quoted})"
