"""Recognise what a page is: its CMS family or the feeds it announces; describe a source.

``detect_family`` names the Hanweb, Hanweb JPaaS or TRS family from markers in the page text
and its URL, with human-readable evidence; ``find_feed_links`` lists the feeds announced by
``<link rel="alternate">``; ``describe_config`` writes a ready-to-paste ``[[sources]]`` TOML
block. (A page of none of these is read by the generic heuristic, ``worker.sources.guess``.)
Everything here is pure (page text in, verdict out): this module must not fetch anything,
follow links, or import the family adapters.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import lxml.html
import tomlkit

from worker.htmldoc import read_document
from worker.links import make_absolute, split
from worker.sanitize import normalize_space
from worker.sources.html import find_base_url
from worker.sources.scan import iter_blocks

__all__ = [
    "Family",
    "Marker",
    "convincing_families",
    "describe_config",
    "detect_family",
    "find_feed_links",
    "find_markers",
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
PRODUCED_BY_RE = re.compile(r"Produced\s+By\s+大汉网络", re.IGNORECASE)
JSLIB_RE = re.compile(r"""["'][^"'<>]*/module/jslib/""", re.IGNORECASE)
TRS_EDITOR_RE = re.compile(r"\bTRS_U?EDITOR\b", re.IGNORECASE)
JPAAS_API_RE = re.compile(r"jpaas-publish-server", re.IGNORECASE)

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)


@dataclass(frozen=True)
class Marker:
    """One sign of a CMS family found on a page; ``weight`` says how much it counts."""

    family: Family
    evidence: str
    weight: float


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


def convincing_families(html: str, url: str) -> list[Family]:
    """Every family whose markers convince, the one ``detect_family`` names first."""
    scores = score_markers(find_markers(html, url))
    first = choose_family(scores)
    others = sorted((f for f in FAMILIES if f != first and scores[f] >= CONVINCING),
                    key=lambda f: -scores[f])  # fmt: skip
    return ([first] if first else []) + others


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
    document = read_document(html)
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
        for group in iter_blocks(text, "nextgroup"):
            if "dataproxy.jsp" in group.inner.lower():
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
        path = split(href).path if "://" in href else href.split("?")[0].split("#")[0]
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
    document = read_document(html)
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


# --- config ------------------------------------------------------------------------------


def describe_config(values: Mapping[str, Any]) -> str:
    """A ready-to-paste ``[[sources]]`` TOML block of ``values`` (``probe.source_values``),
    with ``[sources.list]`` and ``[sources.article]`` tables when they are given."""
    return tomlkit.dumps({"sources": [dict(values)]})
