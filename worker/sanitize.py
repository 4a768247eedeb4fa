"""HTML hygiene for stored article bodies: sanitising, plain text, images, summaries.

Everything here is a pure function of its arguments: relative links are made absolute
against the article URL before an allow-list sanitiser (nh3) drops unsafe markup, and
characters that XML feeds cannot carry are removed. This module must not fetch
anything, read files or decide which part of a page is the article (see worker.extract).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from html import unescape
from urllib.parse import urljoin, urlsplit

import lxml.html
import nh3
from lxml import etree

from worker.links import as_uri_reference

__all__ = [
    "collect_images",
    "html_to_text",
    "make_summary",
    "normalize_space",
    "sanitize_html",
    "strip_xml_illegal",
    "truncate_html",
]

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "a",
        "img",
        "ul",
        "ol",
        "li",
        "blockquote",
        "table",
        "thead",
        "tbody",
        "tr",
        "td",
        "th",
        "figure",
        "figcaption",
        "span",
        "div",
        "pre",
        "code",
        "sup",
        "sub",
        "hr",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Removed together with everything inside them.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "form",
        "noscript",
        "template",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "textarea",
        "select",
        "button",
        "head",
        "title",
    }
)
LAZY_SRC_ATTRIBUTES = ("data-src", "data-original", "data-original-src", "original-src", "_src")
PLACEHOLDER_SRC_RE = re.compile(r"^data:|blank\.|loading|placeholder|lazy", re.IGNORECASE)

BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "blockquote",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "figure",
        "figcaption",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "nav",
        "main",
        "dl",
        "dt",
        "dd",
        "center",
        "caption",
        "address",
        "body",
        "html",
    }
)
CELL_TAGS = frozenset({"td", "th"})
SKIPPED_TEXT_TAGS = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "iframe", "svg", "math"}
)
PARAGRAPH = "\x00P\x00"
LINE = "\x00L\x00"

XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
SURROGATE_PAIR_RE = re.compile("([\ud800-\udbff])([\udc00-\udfff])")
INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
SPACE_RE = re.compile(r"\s+")
SENTENCE_END = "。！？!?；;…"
ENTITY_MAX_CHARS = 32  # "&" + the longest entity name or number + ";"
LATIN_SENTENCE_END = ".!?;"


def sanitize_html(html: str, base_url: str) -> str:
    """Return ``html`` with absolute links and only allow-listed tags, attributes and schemes."""
    source = strip_xml_illegal(html).strip()
    if not source:
        return ""
    return strip_xml_illegal(clean(absolutize_links(source, base_url))).strip()


def truncate_html(html: str, max_bytes: int) -> str:
    """Sanitised ``html`` cut to at most ``max_bytes`` of UTF-8, cleanly.

    The cut falls between characters, never inside a tag or an entity, and the elements left
    open are closed again (the allow-list sanitiser rebalances them), so the result is still
    sanitised, well-formed HTML. Text within the limit is returned unchanged.
    """
    if len(html.encode("utf-8")) <= max_bytes:
        return html
    budget = max_bytes
    for attempt in range(12):  # the closing tags the sanitiser adds back need a little room
        cut = clean(cut_outside_markup(html, budget))
        overflow = len(cut.encode("utf-8")) - max_bytes
        if overflow <= 0:
            return cut
        budget -= overflow if attempt < 4 else max(overflow, budget // 4)
    return ""


def cut_outside_markup(html: str, max_bytes: int) -> str:
    """The longest prefix of ``html`` within ``max_bytes`` that ends outside a tag and entity."""
    head = html.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    opened = head.rfind("<")
    if opened > head.rfind(">"):
        head = head[:opened]  # inside a tag or comment: cut before it
    ampersand = head.rfind("&")
    if ampersand > head.rfind(";") and len(head) - ampersand <= ENTITY_MAX_CHARS:
        head = head[:ampersand]  # inside an entity such as "&amp"
    return head


def clean(html: str) -> str:
    """The allow-list sanitiser (nh3) with herald's tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=_link_as_uri,
    )


def _link_as_uri(tag: str, attribute: str, value: str) -> str | None:
    """An ``href``/``src`` written as a URI reference (feeds and their validators want one);
    one that cannot be is dropped."""
    if attribute in ("href", "src"):
        return as_uri_reference(value) or None
    return value


def absolutize_links(html: str, base_url: str) -> str:
    """Resolve relative ``href``/``src`` (and lazy-loaded image sources) against ``base_url``."""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return html
    promote_lazy_images(root)
    unwrap_dead_links(root)
    if base_url:  # a base URL lxml cannot hold (control characters) leaves the links as they are
        with suppress(ValueError):
            root.make_links_absolute(base_url, resolve_base_href=True, handle_failures="discard")
    return serialize_children(root)


def unwrap_dead_links(root: lxml.html.HtmlElement) -> None:
    """Replace links without a usable target (``javascript:``, anchors) by their text."""
    for anchor in list(root.iter("a")):
        href = (anchor.get("href") or "").strip()
        try:
            scheme = urlsplit(href).scheme.lower()
        except ValueError:
            scheme = "invalid"
        if not href or href.startswith("#") or (scheme and scheme not in URL_SCHEMES):
            anchor.drop_tag()


def promote_lazy_images(root: lxml.html.HtmlElement) -> None:
    """Copy a lazy-loading attribute into ``src`` when the image has no real source."""
    for img in root.iter("img"):
        src = (img.get("src") or "").strip()
        if src and not PLACEHOLDER_SRC_RE.search(src):
            continue
        for name in LAZY_SRC_ATTRIBUTES:
            lazy = (img.get(name) or "").strip()
            if lazy:
                img.set("src", lazy)
                break


def serialize_children(root: lxml.html.HtmlElement) -> str:
    """Serialise the content of ``root`` without the element itself."""
    parts = [root.text or ""]
    parts.extend(etree.tostring(child, encoding="unicode", method="html") for child in root)
    return "".join(parts)


def html_to_text(html: str) -> str:
    """Return readable text: paragraphs separated by blank lines, whitespace collapsed."""
    source = strip_xml_illegal(html).strip()
    if not source:
        return ""
    try:
        root = lxml.html.fragment_fromstring(source, create_parent="div")
    except (etree.ParserError, ValueError):
        return collapse_spaces(source)
    raw = "".join(iter_text_tokens(root))
    paragraphs = []
    for block in raw.split(PARAGRAPH):
        lines = [collapse_spaces(line) for line in block.split(LINE)]
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def iter_text_tokens(element: lxml.html.HtmlElement) -> Iterator[str]:
    """Yield the text of ``element`` in reading order with paragraph and line markers."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in SKIPPED_TEXT_TAGS:
        return
    if tag in BLOCK_TAGS:
        yield PARAGRAPH
    if tag == "br":
        yield LINE
    if tag and element.text:
        yield element.text
    for child in element:
        yield from iter_text_tokens(child)
        if child.tail:
            yield child.tail
    if tag in CELL_TAGS:
        yield " "
    if tag in BLOCK_TAGS:
        yield PARAGRAPH


def normalize_space(text: str) -> str:
    """Collapse every run of whitespace (including NBSP and U+3000) to one space, and trim."""
    return " ".join(text.split())


TWICE_ESCAPED_RE = re.compile(r"&(?:quot|apos|amp|#\d{1,7}|#x[0-9a-fA-F]{1,6});")


def read_twice_escaped(text: str) -> str:
    """Read the quotes, ampersands and numeric references a generator escaped twice
    (``&amp;quot;`` shows as ``&quot;``); ``&nbsp;`` or ``&lt;br&gt;`` written as text stay."""
    return TWICE_ESCAPED_RE.sub(lambda found: unescape(found.group(0)), text)


def collapse_spaces(text: str) -> str:
    """Drop invisible characters and collapse runs of whitespace to one space."""
    return SPACE_RE.sub(" ", INVISIBLE_RE.sub("", text)).strip()


def collect_images(html: str, base_url: str) -> tuple[str, ...]:
    """Return the absolute http(s) URLs of the images in ``html``, in order, without repeats."""
    source = strip_xml_illegal(html).strip()
    if not source:
        return ()
    try:
        root = lxml.html.fragment_fromstring(source, create_parent="div")
    except (etree.ParserError, ValueError):
        return ()
    promote_lazy_images(root)
    seen: dict[str, None] = {}
    for img in root.iter("img"):
        src = (img.get("src") or "").strip()
        if not src:
            continue
        try:
            absolute = urljoin(base_url, src) if base_url else src
        except ValueError:
            continue
        if urlsplit(absolute).scheme in ("http", "https"):
            seen.setdefault(absolute, None)
    return tuple(seen)


def make_summary(text: str, limit: int = 200) -> str:
    """Return the first ``limit`` characters, cut at a sentence or space when possible."""
    flat = collapse_spaces(text)
    if len(flat) <= limit:
        return flat
    if limit <= 0:
        return ""
    head = flat[:limit]
    cut = find_cut(head, flat[limit])
    return head[:cut].rstrip(" ,，、:：;；-—") + "…"


def find_cut(head: str, following: str) -> int:
    """Pick where to cut ``head``: after a sentence end, else at a space, else at the limit."""
    if following == " ":
        return len(head)
    floor = len(head) // 2
    for index in range(len(head) - 1, floor - 1, -1):
        char = head[index]
        if char in SENTENCE_END:
            return index + 1
        if char in LATIN_SENTENCE_END and (index + 1 == len(head) or head[index + 1] == " "):
            return index + 1
    space = head.rfind(" ")
    if space >= floor:
        return space
    return len(head)


def strip_xml_illegal(text: str) -> str:
    """Remove control characters, U+FFFE/U+FFFF and lone surrogates (XML 1.0 cannot hold them)."""
    if not text:
        return text
    joined = SURROGATE_PAIR_RE.sub(join_surrogates, text)
    return XML_ILLEGAL_RE.sub("", joined)


def join_surrogates(match: re.Match[str]) -> str:
    """Turn a UTF-16 surrogate pair into the character it encodes."""
    high, low = ord(match.group(1)), ord(match.group(2))
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
