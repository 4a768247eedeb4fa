"""Page furniture: what surrounds an article body and must not be stored with it.

Scripts, navigation, headers, footers, share bars, font-size and print widgets, previous/next
lines and a heading that repeats the title are removed from a body container (``clean_body``)
or from a whole page before trafilatura reads it (``strip_page_chrome``). Every pattern here
runs in linear time on any text. This module must not decide where the body is
(``worker.extract`` does), sanitise (``worker.sanitize``) or fetch anything.
"""

from __future__ import annotations

import re

import lxml.html

from worker.sanitize import normalize_space

SCRIPT_TAGS = ("script", "style", "noscript", "template", "link")
FURNITURE_TAGS = (
    "nav",
    "footer",
    "header",
    "aside",
    "form",
    "iframe",
    "frame",
    "button",
    "input",
    "select",
    "textarea",
    "object",
    "embed",
    "svg",
    "dialog",
)
FURNITURE_ATTR_RE = re.compile(
    r"(?:^|[\s_-])(?:share|bdshare|bdsharebuttonbox|jiathis|social|sharing|print|printer"
    r"|fontsize|font-size|font_size|textsize|zoom-?size|toolbar|breadcrumbs?|crumbs?"
    r"|comments?|related|pager|pagination|page-?nav|prev-?next|next-?prev|advert|ads"
    r"|subscribe|newsletter)(?:$|[\s_-])",
    re.IGNORECASE,
)
CHROME_ATTR_RE = re.compile(
    r"^(?:footer|foot|header|head|top|topbar|nav|navbar|menu|copyright|bottom|sidebar)$",
    re.IGNORECASE,
)
WIDGET_TOKEN_RE = re.compile(
    r"(?:字体|字号)\s*[:：]?\s*(?:[大中小]\s*)*"
    r"|打印本页|打印此页|打印文章|打印正文|打\s*印|关闭窗口|关闭本页|关\s*闭|返回顶部|收藏本页|加入收藏"
    r"|分享到\s*[:：]?|分享|扫一扫"
)
WIDGET_FILLER_RE = re.compile(r"[\s【】\[\]()（）|｜/·:：,，、]+")
WIDGET_TEXT_RE = re.compile(
    r"【\s*(?:字体|字号)(?:\s*[:：])?[大中小\s]*】"
    r"|【\s*(?:打印本页|打印此页|打印|关闭窗口|关闭本页|关闭|收藏本页|加入收藏|返回顶部)\s*】"
)
NAVIGATION_LINE_RE = re.compile(r"^\s*(?:上一篇|下一篇|当前位置|您的位置|您现在的位置|所在位置)")
WIDGET_MAX_CHARS = 60
NAVIGATION_MAX_CHARS = 150


def remove_elements(root: lxml.html.HtmlElement, tags: tuple[str, ...]) -> None:
    """Remove every element with one of ``tags`` below ``root`` (keeping following text)."""
    for element in list(root.iter(*tags)):
        if element is not root:
            drop_element(element)


def drop_element(element: lxml.html.HtmlElement) -> None:
    """Remove ``element`` and its content but keep the text that follows it."""
    if element.getparent() is not None:
        element.drop_tree()


def strip_page_chrome(doc: lxml.html.HtmlElement) -> None:
    """Remove navigation, headers, footers and widgets from a whole page."""
    page = doc.find("body")
    if page is None:
        return
    remove_elements(page, FURNITURE_TAGS)
    for element in list(page.iterdescendants()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        if any(CHROME_ATTR_RE.match(token) for token in attribute_tokens(element)):
            drop_element(element)
    remove_widgets(page)


def clean_body(body: lxml.html.HtmlElement, title: str) -> None:
    """Remove scripts, furniture, widgets and a repeated title heading from the body."""
    remove_elements(body, SCRIPT_TAGS + FURNITURE_TAGS)
    for element in list(body.iterdescendants()):
        if not isinstance(element.tag, str):
            continue
        marker = " ".join(attribute_tokens(element))
        if marker and FURNITURE_ATTR_RE.search(marker):
            drop_element(element)
    remove_widgets(body)
    remove_title_heading(body, title)


def attribute_tokens(element: lxml.html.HtmlElement) -> list[str]:
    """Return the class names and id of an element."""
    return [*(element.get("class") or "").split(), *(element.get("id") or "").split()]


def remove_widgets(root: lxml.html.HtmlElement) -> None:
    """Remove font-size, print, close and share widgets and previous/next lines."""
    for element in list(root.iterdescendants()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        if is_dead_link(element) or is_widget(element):
            drop_element(element)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.text:
            element.text = WIDGET_TEXT_RE.sub("", element.text)
        if element.tail:
            element.tail = WIDGET_TEXT_RE.sub("", element.tail)


def is_dead_link(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element is a short script-driven link (``javascript:``, onclick)."""
    if element.tag != "a":
        return False
    href = (element.get("href") or "").strip().lower()
    scripted = href.startswith("javascript:") or element.get("onclick") is not None
    return scripted and len(normalize_space(element.text_content())) <= WIDGET_MAX_CHARS


def is_widget(element: lxml.html.HtmlElement) -> bool:
    """Tell whether an element's whole text is widget labels or a navigation line."""
    if next(element.iter("img"), None) is not None:
        return False
    text = normalize_space(element.text_content())
    if not text:
        return False
    if len(text) <= NAVIGATION_MAX_CHARS and NAVIGATION_LINE_RE.match(text):
        return True
    if len(text) > WIDGET_MAX_CHARS or not WIDGET_TOKEN_RE.search(text):
        return False
    rest = WIDGET_FILLER_RE.sub("", WIDGET_TOKEN_RE.sub("", text))
    return not rest


def remove_title_heading(body: lxml.html.HtmlElement, title: str) -> None:
    """Remove the first heading that repeats the article title."""
    if not title:
        return
    for heading in body.iter("h1", "h2", "h3"):
        if normalize_space(heading.text_content()) == title:
            drop_element(heading)
            return
