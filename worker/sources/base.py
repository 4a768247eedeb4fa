"""What every source parser returns: one list page of discovered items, or a SourceError.

Holds the shared result and error types plus small text and URL helpers used by the parsers.
It must not fetch anything, touch the database, or import any parser.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

from worker.models import Discovered

_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(
    r"</?(?:p|br|div|li|ul|ol|tr|td|th|table|h[1-6]|blockquote|pre|section|article|hr)\b[^>]*>",
    re.IGNORECASE,
)
_DROPPED_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


class SourceError(Exception):
    """A source document could not be read.

    The message starts with the source kind (``"feed: …"``, ``"html: …"``); ``reason`` is a
    short machine-readable cause such as ``"parse"``, ``"malformed"``, ``"not_a_feed"`` or
    ``"config"``, for source health reporting.
    """

    def __init__(self, message: str, *, reason: str = "parse") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ListPage:
    """The items found on one list page or feed, in document order.

    ``next_url`` is the absolute URL of the next list page, or ``""`` when there is none.
    """

    items: list[Discovered]
    next_url: str = ""


def normalize_space(text: str) -> str:
    """Collapse every run of whitespace (including NBSP and U+3000) to one space."""
    return " ".join(text.split())


def strip_markup(text: str) -> str:
    """Turn an HTML snippet into plain text: drop tags, decode entities, collapse whitespace.

    Block-level tags become spaces so paragraphs do not run together; inline tags vanish so
    Chinese text is not split by stray spaces.
    """
    text = _DROPPED_BLOCK.sub(" ", text)
    text = _BLOCK_TAG.sub(" ", text)
    text = _TAG.sub("", text)
    return normalize_space(html.unescape(text))


def make_absolute(href: str, base: str, *, keep_fragment: bool = True) -> str:
    """Resolve ``href`` against ``base``; return ``""`` unless the result is an http(s) URL.

    Empty hrefs, pure fragments (``#top``) and ``javascript:``/``mailto:`` links give ``""``.
    """
    href = href.strip()
    if not href or href.startswith("#"):
        return ""
    absolute = urljoin(base, href)
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return absolute if keep_fragment else urldefrag(absolute).url
