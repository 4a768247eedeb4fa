"""Recognise what a page is: its CMS family, the feeds it announces, or its densest news list.

``detect_family`` names the Hanweb, Hanweb JPaaS or TRS family from markers in the page text
and its URL, with human-readable evidence; ``find_feed_links`` lists the feeds announced by
``<link rel="alternate">``; ``guess_list`` finds the densest repeated block of dated links and
CSS selectors that read it with ``worker.sources.html.parse_list``; ``describe_config`` writes
a ready-to-paste ``[[sources]]`` TOML block. Everything here is pure (page text in, verdict out):
this module must not fetch anything, follow links, or import the family adapters.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial
from typing import Literal
from urllib.parse import urldefrag, urlsplit

import lxml.html
from cssselect import SelectorError
from lxml.cssselect import CSSSelector

from worker.dates import find_date, parse_date
from worker.models import Discovered, ListSelectors
from worker.sources.base import make_absolute, normalize_space
from worker.sources.html import (
    CompiledSelectors,
    element_title,
    find_base_url,
    find_link,
    find_next_url,
    parse_document,
    parse_list,
    read_date,
    read_item,
)

__all__ = [
    "Family",
    "GuessedList",
    "Marker",
    "describe_config",
    "detect_family",
    "find_feed_links",
    "find_markers",
    "guess_list",
    "score_markers",
]

Family = Literal["hanweb", "jpaas", "trs"]
FAMILIES: tuple[Family, ...] = ("jpaas", "hanweb", "trs")
CONVINCING = 3.0

HANWEB_ART_RE = re.compile(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.s?html?", re.IGNORECASE)
HANWEB_COL_RE = re.compile(r"/col/col\d+(?:/|$)", re.IGNORECASE)
TRS_ART_RE = re.compile(r"(?:^|/)\d{6}/t\d{8}_\d+\.s?html?$", re.IGNORECASE)
HREF_RE = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.IGNORECASE)
CREATE_PAGE_RE = re.compile(r"(\bfunction\s+)?\bcreatePageHTML\s*\(([^()]*)\)")
DATASTORE_RE = re.compile(r"<datastore\b", re.IGNORECASE)
NEXTGROUP_RE = re.compile(r"<nextgroup\b[^>]*>(.*?)</nextgroup>", re.IGNORECASE | re.DOTALL)
PRODUCED_BY_RE = re.compile(r"Produced\s+By\s+大汉网络", re.IGNORECASE)
JSLIB_RE = re.compile(r"""["'][^"'<>]*/module/jslib/""", re.IGNORECASE)
TRS_EDITOR_RE = re.compile(r"\bTRS_U?EDITOR\b", re.IGNORECASE)
JPAAS_API_RE = re.compile(r"jpaas-publish-server", re.IGNORECASE)

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)

ITEM_TAGS = ("li", "tr", "dd", "div", "p")
MIN_DATED = 3
MAX_ITEM_LINKS = 4
SHORT_TITLE = 5
TITLE_CAP = 60
MAX_DATE_TEXT = 40
MAX_CONTAINER_DEPTH = 6
DATE_WRAPPERS = "[]【】()（）〔〕「」<>《》 "
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
INDEX_PAGE_RE = re.compile(
    r"^(?:index|default|list|main)(?:_\d+)?\.(?:s?html?|jsp|php|aspx?)$", re.IGNORECASE
)
NEXT_TEXTS = frozenset({"下页", "next", "nextpage", "›", ">", "next›", "next»", "next>"})
SECOND_LEVEL = frozenset({"ac", "com", "edu", "gov", "mil", "net", "org"})


GroupKey = tuple[lxml.html.HtmlElement, str, tuple[str, ...]]


@dataclass(frozen=True)
class Marker:
    """One sign of a CMS family found on a page; ``weight`` says how much it counts."""

    family: Family
    evidence: str
    weight: float


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


@dataclass(frozen=True)
class Member:
    """One candidate item element with its main link and the date found beside that link."""

    element: lxml.html.HtmlElement
    link: lxml.html.HtmlElement | None
    holder: lxml.html.HtmlElement | None
    date: datetime | None


# --- CMS families ------------------------------------------------------------------------


def detect_family(html: str, url: str) -> tuple[Family | None, list[str]]:
    """Name the CMS family of a page from its markers, with the evidence lines.

    JPaaS wins whenever its build script is there (its pages carry Hanweb marks too); else the
    better-scoring of classic Hanweb and TRS, if its markers add up to a convincing score.
    Returns ``(None, evidence)`` when nothing is convincing. The winner's evidence comes
    first, strongest first.
    """
    markers = find_markers(html, url)
    family = choose_family(score_markers(markers))
    ranked = sorted(markers, key=lambda m: (m.family != family, -m.weight))
    return family, [marker.evidence for marker in ranked]


def score_markers(markers: list[Marker]) -> dict[Family, float]:
    """Sum the marker weights per family."""
    scores: dict[Family, float] = dict.fromkeys(FAMILIES, 0.0)
    for marker in markers:
        scores[marker.family] += marker.weight
    return scores


def choose_family(scores: dict[Family, float]) -> Family | None:
    """JPaaS if convincing, else the better of Hanweb and TRS if convincing (ties: Hanweb)."""
    if scores["jpaas"] >= CONVINCING:
        return "jpaas"
    best: Family = "hanweb" if scores["hanweb"] >= scores["trs"] else "trs"
    return best if scores[best] >= CONVINCING else None


def find_markers(html: str, url: str) -> list[Marker]:
    """Every family marker on the page and in its URL, each evidence line once."""
    found = list(url_markers(url))
    document = parse_document(html)
    if document is not None:
        found.extend(meta_markers(document))
        found.extend(script_markers(document))
    found.extend(text_markers(html, found))
    found.extend(link_markers(html))
    unique: dict[tuple[str, str], Marker] = {}
    for marker in found:
        unique.setdefault((marker.family, marker.evidence), marker)
    return list(unique.values())


def url_markers(url: str) -> Iterator[Marker]:
    """Hanweb column/article paths and TRS article paths in the page's own URL."""
    path = urlsplit(url).path
    if HANWEB_COL_RE.search(path) or HANWEB_ART_RE.search(path):
        yield Marker("hanweb", f"URL {path}", 2.0)
    elif TRS_ART_RE.search(path):
        yield Marker("trs", f"URL {path}", 2.0)


def meta_markers(document: lxml.html.HtmlElement) -> Iterator[Marker]:
    """Generator/Author metas naming 大汉 or TRS, and the TRS-style article metas."""
    for meta in document.iter("meta"):
        name = str(meta.get("name") or "").strip().lower()
        content = normalize_space(str(meta.get("content") or ""))
        shown = content[:40]
        if name == "generator" and ("大汉" in content or "hanweb" in content.lower()):
            yield Marker("hanweb", f'meta Generator "{shown}"', 2.0)
        elif name == "generator" and "trs" in content.lower():
            yield Marker("trs", f'meta Generator "{shown}"', 3.0)
        elif name == "author" and "大汉" in content:
            yield Marker("hanweb", f'meta Author "{shown}"', 1.0)
        elif name == "contentsource":
            yield Marker("trs", '<meta name="ContentSource">', 1.0)
        elif name == "articletitle":
            yield Marker("trs", '<meta name="ArticleTitle">', 1.0)


def script_markers(document: lxml.html.HtmlElement) -> Iterator[Marker]:
    """The JPaaS build script and the Hanweb ``<datastore>`` block with its dataproxy link."""
    for script in document.iter("script"):
        if str(script.get("parsetype") or "").strip().lower() == "bulidstatic":
            yield Marker("jpaas", 'script parsetype="bulidstatic"', 6.0)
        text = script.text or ""
        kind = str(script.get("type") or "").strip().lower()
        if kind == "text/xml" and DATASTORE_RE.search(text):
            yield Marker("hanweb", 'script type="text/xml" with <datastore>', 5.0)
        for group in NEXTGROUP_RE.finditer(text):
            if "dataproxy.jsp" in group.group(1).lower():
                yield Marker("hanweb", "dataproxy.jsp in <nextgroup>", 3.0)


def text_markers(html: str, found: list[Marker]) -> Iterator[Marker]:
    """Markers read straight from the page text (footers, script paths, paging calls)."""
    if PRODUCED_BY_RE.search(html):
        yield Marker("hanweb", "Produced By 大汉网络", 1.0)
    if JSLIB_RE.search(html):
        yield Marker("hanweb", "scripts under /module/jslib/", 1.0)
    has_nextgroup = any(m.evidence == "dataproxy.jsp in <nextgroup>" for m in found)
    if not has_nextgroup and "dataproxy.jsp" in html.lower():
        yield Marker("hanweb", "dataproxy.jsp", 2.0)
    if JPAAS_API_RE.search(html):
        yield Marker("jpaas", "jpaas-publish-server API", 3.0)
    if TRS_EDITOR_RE.search(html):
        yield Marker("trs", "TRS_Editor", 3.0)
    call = find_create_page_call(html)
    if call:
        yield Marker("trs", call, 5.0)


def find_create_page_call(html: str) -> str:
    """The TRS paging call as evidence, e.g. ``createPageHTML(5, 0, "index", "html")``.

    A call is preferred over the function's definition; ``""`` when neither is there.
    """
    shown = ""
    for match in CREATE_PAGE_RE.finditer(html):
        args = [arg.strip().replace("'", '"') for arg in match.group(2).split(",")]
        text = f"createPageHTML({', '.join(args)})"
        if not match.group(1):
            return text
        shown = shown or f"function {text}"
    return shown


def link_markers(html: str) -> Iterator[Marker]:
    """Hanweb ``/art/Y/M/D/art_C_I.html`` and TRS ``./YYYYMM/tYYYYMMDD_N.html`` links.

    Links are read from the raw text, so those inside Hanweb's CDATA records count too.
    """
    hanweb: list[str] = []
    trs: list[str] = []
    for match in HREF_RE.finditer(html):
        href = htmllib.unescape(match.group(1) or match.group(2) or match.group(3) or "")
        path = urlsplit(href).path if "://" in href else href.split("?")[0].split("#")[0]
        art = HANWEB_ART_RE.search(path)
        if art:
            hanweb.append(art.group(0))
        elif TRS_ART_RE.search(path):
            trs.append(path)
    if hanweb:
        yield Marker("hanweb", f"links like {hanweb[0]}", 2.0 if len(hanweb) >= 3 else 1.0)
    if trs:
        yield Marker("trs", f"links like {trs[0]}", 3.0 if len(trs) >= 3 else 1.5)


# --- feeds -------------------------------------------------------------------------------


def find_feed_links(html: str, url: str) -> list[str]:
    """Absolute URLs of the feeds a page announces with ``<link rel="alternate">``, in order.

    RSS, Atom and JSON Feed types count; WordPress's ``/wp-json/`` REST links (also typed
    ``application/json``) do not.
    """
    document = parse_document(html)
    if document is None:
        return []
    base = find_base_url(document, url)
    found: list[str] = []
    for link in document.iter("link"):
        rels = str(link.get("rel") or "").lower().split()
        kind = str(link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or kind not in FEED_TYPES:
            continue
        href = make_absolute(str(link.get("href") or ""), base)
        if not href or href in found:
            continue
        if kind == "application/json" and "/wp-json/" in href:
            continue
        found.append(href)
    return found


# --- the generic list heuristic ----------------------------------------------------------


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
    document = parse_document(html)
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
    parts: list[str] = []

    def walk(node: lxml.html.HtmlElement) -> None:
        if node is link or node.tag in ("script", "style"):
            parts.append(" ")
            return
        if isinstance(node.tag, str) and node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return normalize_space(" ".join(parts))


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


def read_items(
    document: lxml.html.HtmlElement,
    base: str,
    selectors: ListSelectors,
    *,
    tz: tzinfo,
    now: datetime,
) -> list[Discovered]:
    """What ``parse_list`` reads with ``selectors``, on the already parsed document."""
    compiled = CompiledSelectors(
        item=CSSSelector(selectors.item, translator="html"),
        link=compile_css(selectors.link) if selectors.link else None,
        title=compile_css(selectors.title) if selectors.title else None,
        date=compile_css(selectors.date) if selectors.date else None,
        next=None,
    )
    items: dict[str, Discovered] = {}
    for element in compiled.item(document):
        item = read_item(element, compiled, base, tz=tz, now=now)
        if item is not None:
            items.setdefault(item.url, item)
    return list(items.values())


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


# --- config ------------------------------------------------------------------------------


def describe_config(
    name: str,
    url: str,
    kind: str,
    selectors: ListSelectors | None = None,
    article_body: str = "",
) -> str:
    """A ready-to-paste ``[[sources]]`` TOML block, with ``[sources.list]`` and
    ``[sources.article]`` tables when selectors or a body selector are given."""
    lines = [
        "[[sources]]",
        f"name = {quote_toml(name)}",
        f"url = {quote_toml(url)}",
        f"kind = {quote_toml(kind)}",
    ]
    if selectors is not None:
        lines += ["", "[sources.list]"]
        for key in ("item", "link", "title", "date", "next"):
            lines.append(f"{key} = {quote_toml(getattr(selectors, key))}")
    if article_body:
        lines += ["", "[sources.article]", f"body = {quote_toml(article_body)}"]
    return "\n".join(lines) + "\n"


TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def quote_toml(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out: list[str] = []
    for char in value:
        if char in TOML_ESCAPES:
            out.append(TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
