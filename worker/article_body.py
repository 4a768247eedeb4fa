"""Where an article page's body is, and its cleaned HTML (``read_body``): never empty when the
page has readable text.

The paths, in order, each named in the result with a confidence figure:
``selector`` (the source's ``[sources.article] body``), ``container:…`` (the containers of the
Chinese CMS families — Hanweb ``#zoom``, TRS ``.TRS_Editor``… — and of the big portals, blogs and
WeChat, taken when they hold real text and are not a link list), ``trafilatura``, ``densest``
(the block holding the most paragraph text, links discounted) and ``page`` (all the page's
text, the last resort). Furniture is removed from whatever is chosen. This module must not
read titles or dates (``worker.article_meta``, ``worker.article_dates``), sanitise
(``worker.sanitize``) or fetch anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.html
import trafilatura
from lxml import etree

from worker.article_meta import ExtractError, select_first
from worker.furniture import (
    FURNITURE_ATTR_RE,
    attribute_tokens,
    clean_body,
    strip_page_chrome,
    text_figures,
)
from worker.links import make_absolute
from worker.sanitize import normalize_space

__all__ = [
    "KNOWN_BODY_SELECTORS",
    "BodyChoice",
    "Container",
    "DenseBlock",
    "densest_block",
    "find_container",
    "has_content",
    "is_chinese",
    "read_body",
]

CMS_CONTAINERS = ("#zoom", ".TRS_Editor", "#UCAP-CONTENT", ".bt_content")
FIRST_POST_CONTAINERS = (  # a thread's posts, in thread order: the first is the subject
    "td.t_f",  # Discuz!
    ".bbs-content",  # Tianya
    "#read_tpc",  # phpwind
    ".d_post_content",  # Baidu Tieba
    "#postcontent0",  # NGA
    ".topic-richtext",  # Douban groups
    ".topic-body .cooked",  # Discourse
)
SITE_CONTAINERS = (
    "#js_content",  # WeChat articles
    "#endText",  # 163
    "#artibody",  # sina
    ".content-article",  # qq
    "#main_content",  # ifeng
    ".rm_txt_con",  # people
    "#detail",  # xinhuanet
    ".news_txt",  # thepaper
    ".QuestionAnswer-content",  # zhihu: the answer the page is about
    ".best-text",  # baidu zhidao: the best answer
    "#cnblogs_post_body",
    "#content_views",  # CSDN
    ".article-content",
    ".entry-content",
    ".post-content",
    "article",
)
KNOWN_BODY_SELECTORS = CMS_CONTAINERS + FIRST_POST_CONTAINERS + SITE_CONTAINERS
MIN_CONTAINER_CHARS = 60  # of several matches, only those holding this much text count
MAX_LINK_DENSITY = 0.5
PARAGRAPH_TAGS = ("p", "td", "pre", "blockquote", "li", "h2", "h3", "h4", "section", "div")
DENSE_MIN_CHARS = 25
NEGATIVE_BLOCK_RE = re.compile(  # short words only as whole tokens: "photo" holds no "hot"
    r"comment|reply|related|recommend|tuijian|sidebar|footer|copyright|banner|advert|login"
    r"|(?<![a-z])(?:foot|nav|menu|share|hot|rank|ad|header)(?![a-z])",
    re.IGNORECASE,
)
POSITIVE_BLOCK_RE = re.compile(
    r"article|content|post|entry|text|main|body|detail|zw|story|con\b|zoom", re.IGNORECASE
)
SENTENCE_MARKS = "，。；！？,.;!?"
DENSE_LEAD = 1.5
DENSE_MAX_LINKS = 0.25
DENSE_SURE_CHARS = 150
CJK_RE = re.compile(r"[\u3400-\u9fff]")
CJK_SHARE = 0.3


@dataclass(frozen=True)
class Container:
    """A known body container found on the page, the path that found it, how much to trust it."""

    element: lxml.html.HtmlElement
    path: str  # "selector", "container:#zoom" …
    confidence: float


@dataclass(frozen=True)
class DenseBlock:
    """The densest block of a page, how much to trust it, and whether it stands out."""

    element: lxml.html.HtmlElement
    confidence: float
    stands_out: bool


@dataclass(frozen=True)
class BodyChoice:
    """The chosen body's inner HTML (furniture removed), the path that found it and how much
    to trust it (1.0 = the source's own selector … 0.1 = the whole page's text)."""

    html: str
    path: str
    confidence: float


def find_container(doc: lxml.html.HtmlElement, selector: str, *, chinese: bool) -> Container | None:
    """The body container: the configured selector, then the CMS containers (any content), then
    on a Chinese page (``is_chinese``) the portal/blog containers (the first match holding real
    text, not a link list)."""
    if selector:
        element = select_first(doc, selector)
        if element is not None and has_content(element):
            return Container(element, "selector", 1.0)
    for candidate in CMS_CONTAINERS:
        element = select_first(doc, candidate)
        if element is not None and has_content(element):
            return Container(element, f"container:{candidate}", 0.9)
    for candidate in FIRST_POST_CONTAINERS:  # a thread's subject is its first post
        element = select_first(doc, candidate)
        if element is not None and has_content(element):
            return Container(element, f"container:{candidate}", 0.85)
    if not chinese:
        return None  # trafilatura reads the generic containers of other languages better
    for candidate in SITE_CONTAINERS:
        matches = doc.cssselect(candidate)
        least = MIN_CONTAINER_CHARS if len(matches) > 1 else 1  # several: cards of a feed
        for element in matches:  # the first that holds real text, not a link list
            chars, density = text_figures(element)
            if chars >= least and density <= MAX_LINK_DENSITY and not in_furniture(element):
                return Container(element, f"container:{candidate}", 0.85)
    return None


def in_furniture(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element is or sits in a previous/next, related, comment or share block,
    or in an aside or footer: an excerpt of another article, not this one's body."""
    for ancestor in (element, *element.iterancestors()):
        if ancestor.tag in ("body", "html"):
            return False  # the page's classes name its features ("has-sidebar", "comments")
        if ancestor.tag in ("aside", "footer", "nav"):
            return True
        marker = " ".join(attribute_tokens(ancestor))
        if marker and (FURNITURE_ATTR_RE.search(marker) or NEGATIVE_BLOCK_RE.search(marker)):
            return True
    return False


def has_content(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element holds text or an image."""
    if normalize_space(element.text_content()):
        return True
    return next(element.iter("img"), None) is not None


def read_body(
    doc: lxml.html.HtmlElement,
    container: Container | None,
    dense: DenseBlock | None,
    title: str,
    url: str,
    *,
    chinese: bool,
) -> BodyChoice:
    """The body's HTML: the container's, else the densest block's when it stands out on a
    Chinese page, else trafilatura's, else the densest block's, else the whole page's text.
    ``dense`` is ``densest_block(doc)``, read before anything was removed. Raises
    ``ExtractError`` only when the page has no text at all."""
    if container is not None:
        clean_body(container.element, title)
        if has_content(container.element):
            html = serialize_inner(container.element)
            return BodyChoice(html, container.path, container.confidence)
    strip_page_chrome(doc)
    if dense is not None and dense.element.getparent() is None:
        dense = None  # it sat in the page's chrome
    if dense is not None and dense.stands_out and chinese:
        # trafilatura counts words by spaces; on Chinese text a block that stands out is surer
        return dense_body(dense, title)
    captions = figure_captions(doc, url)
    extracted = run_trafilatura(doc)
    if extracted is not None:
        html, confidence = extracted
        fragment = parse_fragment(html, url)
        rejoin_inline_code(fragment)
        restore_captions(fragment, captions, url)
        clean_body(fragment, title)
        if has_content(fragment):
            linked = text_figures(fragment)[1]  # a text of links is a poor guess
            confidence = round(confidence * (1 - linked), 2)
            return BodyChoice(serialize_inner(fragment), "trafilatura", confidence)
    if dense is not None:
        choice = dense_body(dense, title)
        if choice.html.strip():
            return choice
    page = doc.find("body")
    if page is not None and has_content(page):
        return BodyChoice(serialize_inner(page), "page", 0.1)
    raise ExtractError(f"extract: no article body found at {url}")


def dense_body(dense: DenseBlock, title: str) -> BodyChoice:
    clean_body(dense.element, title)
    confidence = dense.confidence + (0.2 if dense.stands_out else 0.0)
    html = serialize_inner(dense.element) if has_content(dense.element) else ""
    return BodyChoice(html, "densest", round(confidence, 2))


def is_chinese(doc: lxml.html.HtmlElement) -> bool:
    """Tell whether a page's text is mostly Chinese (by its first 5,000 characters)."""
    text = "".join(doc.text_content().split())[:5000]
    return bool(text) and len(CJK_RE.findall(text)) >= CJK_SHARE * len(text)


def figure_captions(doc: lxml.html.HtmlElement, url: str) -> dict[str, str]:
    """The caption of every ``<figure>`` image, by the image's absolute ``src``."""
    found: dict[str, str] = {}
    for figure in doc.iter("figure"):
        caption = figure.find(".//figcaption")
        text = normalize_space(caption.text_content()) if caption is not None else ""
        if not text:
            continue
        for image in figure.iter("img"):
            src = make_absolute((image.get("src") or "").strip(), url)
            if src:
                found.setdefault(src, text)
    return found


def restore_captions(fragment: lxml.html.HtmlElement, captions: dict[str, str], url: str) -> None:
    """Put back the captions trafilatura drops: after each image whose figure had one."""
    if not captions:
        return
    present = normalize_space(fragment.text_content())
    for image in list(fragment.iter("img")):
        text = captions.get(make_absolute((image.get("src") or "").strip(), url), "")
        if not text or text in present:
            continue
        present += " " + text
        if image.getparent() is fragment:  # a figure again: the image and its caption
            figure = lxml.html.Element("figure")
            image.addprevious(figure)
            figure.tail, image.tail = image.tail, None
            figure.append(image)
            etree.SubElement(figure, "figcaption").text = text
            continue
        anchor = image
        while anchor.getparent() is not None and anchor.getparent() is not fragment:
            anchor = anchor.getparent()
        caption = lxml.html.Element("p")
        caption.text = text
        anchor.addnext(caption)


def rejoin_inline_code(fragment: lxml.html.HtmlElement) -> None:
    """trafilatura turns inline ``<code>`` into a ``<pre>`` block that cuts its paragraph in
    two: a one-line ``<pre>`` becomes ``<code>`` again and goes back into the paragraph before
    it, with the inline text that follows it."""
    for pre in list(fragment.iter("pre")):
        if "\n" in (pre.text_content() or "").strip():
            continue
        pre.tag = "code"
        paragraph = pre.getprevious()
        if paragraph is None or paragraph.tag != "p" or (paragraph.tail or "").strip():
            continue
        moving = [pre]
        for sibling in pre.itersiblings():
            if sibling.tag not in ("pre", "code", "a", "b", "strong", "em", "i", "span"):
                break
            if sibling.tag == "pre" and "\n" in sibling.text_content().strip():
                break
            moving.append(sibling)
            if sibling.tag == "pre":
                sibling.tag = "code"
        for element in moving:
            paragraph.append(element)


def parse_fragment(html: str, url: str) -> lxml.html.HtmlElement:
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"extract: unreadable body at {url}: {exc}") from exc


def run_trafilatura(doc: lxml.html.HtmlElement) -> tuple[str, float] | None:
    """trafilatura's main text of a page without a known container, with a confidence (its
    balanced pass 0.75, its recall pass 0.55), or None.

    trafilatura runs without its fallback extractors (readability, jusText): the densest-block
    fallback here covers what they would, and they cost most of its time — quadratic in the
    nesting depth for jusText (a 1.2 MB page of nested blocks took 212 s). The page arrives
    flattened (``flatten_deep_nesting``, when it was parsed).
    """
    page = etree.tostring(doc, encoding="unicode", method="html")
    for recall, confidence in ((False, 0.75), (True, 0.55)):
        result = trafilatura.extract(
            page,  # no url: trafilatura resolves relative links wrongly; sanitize does it
            output_format="html",
            include_images=True,
            include_links=True,
            include_tables=True,
            include_comments=False,
            favor_recall=recall,
            fast=True,
        )
        if result and result.strip():
            return str(result), confidence
    return None


def densest_block(doc: lxml.html.HtmlElement) -> DenseBlock | None:
    """The element whose paragraphs hold the most text (links discounted, comment and related
    blocks penalised), with a confidence from 0.2 to 0.5 by how much of the page it holds, and
    whether it stands out (its score at least ``DENSE_LEAD`` times any rival's outside it)."""
    page = doc.find("body")
    if page is None:
        return None
    points: dict[lxml.html.HtmlElement, float] = {}
    for element in page.iter(*PARAGRAPH_TAGS):
        own = own_text(element)
        if len(own) < DENSE_MIN_CHARS:
            continue
        gained = 1 + sum(own.count(mark) for mark in SENTENCE_MARKS) + min(len(own) / 100, 3)
        parent = element.getparent()
        if parent is None:
            continue
        points[parent] = points.get(parent, 0.0) + gained
        grandparent = parent.getparent()
        if grandparent is not None:
            points[grandparent] = points.get(grandparent, 0.0) + gained / 2
    ranked: list[tuple[float, lxml.html.HtmlElement]] = []
    for element, score in points.items():
        marker = f"{element.get('class') or ''} {element.get('id') or ''}"
        if NEGATIVE_BLOCK_RE.search(marker):
            score *= 0.3
        elif POSITIVE_BLOCK_RE.search(marker):
            score *= 1.25
        ranked.append((score * (1 - text_figures(element)[1]), element))
    if not ranked:
        return None
    ranked.sort(key=lambda item: item[0], reverse=True)
    best_score, best = ranked[0]
    if best_score <= 0:
        return None
    family = {best, *best.iterancestors(), *best.iterdescendants()}
    rival = next((score for score, element in ranked[1:] if element not in family), 0.0)
    chars, density = text_figures(best)
    held = chars / max(1, text_figures(page)[0])
    stands_out = (
        best_score >= DENSE_LEAD * rival
        and density <= DENSE_MAX_LINKS
        and chars >= DENSE_SURE_CHARS
    )
    return DenseBlock(best, round(0.2 + 0.3 * min(1.0, held * 2), 2), stands_out)


def own_text(element: lxml.html.HtmlElement) -> str:
    """The element's text outside its block children and links (its own paragraph text)."""
    parts = [element.text or ""]
    for child in element:
        if child.tag in ("br", "span", "b", "strong", "em", "i", "font", "u", "sup", "sub"):
            parts.append(normalize_space(child.text_content()))
        parts.append(child.tail or "")
    return normalize_space(" ".join(parts))


def serialize_inner(element: lxml.html.HtmlElement) -> str:
    """Serialise the content of ``element`` without the element itself."""
    parts = [element.text or ""]
    parts.extend(etree.tostring(child, encoding="unicode", method="html") for child in element)
    return "".join(parts)
