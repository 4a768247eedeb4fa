"""An article page's author (or source), the error of reading a page, and the element helpers
the other article stages share (``select_first``, ``in_chrome``, ``element_value``).

``pick_author`` tries the source's configured selector first, then the page's own signals: the
``author`` metas and the line under the title where CMS pages write ``来源：``. This module must
not choose the title (``worker.article_titles``), choose or clean the body
(``worker.article_body``, ``worker.furniture``), read dates (``worker.article_dates``) or
fetch anything; its patterns run in linear time on any text.
"""

from __future__ import annotations

import itertools
import re

import lxml.html
from cssselect import SelectorError

from worker.sanitize import normalize_space

AUTHOR_META_NAMES = ("author", "article:author", "contentsource")
CMS_VENDOR_RE = re.compile(r"大汉|hanweb|拓尔思|^trs\b|jcms|jpaas|webmaster", re.IGNORECASE)

SOURCE_RE = re.compile(
    r"(?:信息来源|文章来源|稿件来源|来\s*源|作\s*者)\s*[:：]\s*(?P<value>[^\n]*)"
)
SOURCE_STOP_RE = re.compile(
    r"发布|发表|时间|日期|作\s*者|浏览|点击|阅读|访问|字体|字号|编辑|责任|更新|分享|打印"
    r"|[【\[|｜]|\s{2,}"
)
SOURCE_MAX_CHARS = 40


class ExtractError(ValueError):
    """The page holds no article body that herald can read."""


def select_first(root: lxml.html.HtmlElement, selector: str) -> lxml.html.HtmlElement | None:
    """Return the first element matching a CSS selector, or None."""
    try:
        matches = root.cssselect(selector)
    except SelectorError as exc:
        raise ExtractError(f"extract: bad CSS selector {selector!r}: {exc}") from exc
    return matches[0] if matches else None


SIDEBAR_RE = re.compile(r"(?:^|\s)(?:sidebar|side-bar|widget|aside)[\w-]*")  # not "has-sidebar"


def in_chrome(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element is, or sits in, navigation, a footer, a sidebar or its widgets, a
    logo or a share widget.
    A ``<footer>`` inside an ``<article>`` is that article's own (its date, its author), not
    the site's."""
    for ancestor in itertools.chain([element], element.iterancestors()):
        if ancestor.tag in ("body", "html"):
            break
        if ancestor.tag in ("nav", "aside") or (
            ancestor.tag == "footer" and not in_article(ancestor)
        ):
            return True
        marker = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}".lower()
        if "logo" in marker or "share" in marker or SIDEBAR_RE.search(marker):
            return True
    return False


def in_article(element: lxml.html.HtmlElement) -> bool:
    """Whether the element sits inside an ``<article>``."""
    return any(ancestor.tag == "article" for ancestor in element.iterancestors())


def element_value(element: lxml.html.HtmlElement, attributes: tuple[str, ...]) -> str:
    """Return the first non-empty attribute of ``attributes``, else the element's text."""
    for attribute in attributes:
        value = normalize_space(element.get(attribute) or "")
        if value:
            return value
    return normalize_space(element.text_content())


def pick_author(
    doc: lxml.html.HtmlElement,
    meta: dict[str, str],
    selector: str,
    window: str,
    before: str,
) -> str:
    """Choose the author or source: selector, meta author/ContentSource, then ``来源：`` text."""
    if selector:
        element = select_first(doc, selector)
        if element is not None:
            value = strip_source_label(element_value(element, ("content",)))
            if value:
                return value
    for name in AUTHOR_META_NAMES:
        value = meta.get(name, "")
        if value and not CMS_VENDOR_RE.search(value) and "://" not in value:
            return value
    for text in (window, before):
        value = find_source(text)
        if value:
            return value
    return ""


def strip_source_label(text: str) -> str:
    """Turn ``来源：重庆市科协 发布…`` into ``重庆市科协``; other text is returned as is."""
    return find_source(text) or normalize_space(text)


def find_source(text: str) -> str:
    """Return the value after the first ``来源：``/``作者：`` label in ``text``."""
    for match in SOURCE_RE.finditer(text):
        value = SOURCE_STOP_RE.split(match.group("value"), maxsplit=1)[0].strip()
        if value and len(value) <= SOURCE_MAX_CHARS:
            return value
    return ""
