"""An article page's title: the source's selector, else the one heading microdata marks as
the headline, else the heading the title metas or ``<title>`` confirm, else the post's marked
heading, the metas, the first heading, the part of ``<title>`` the page shows, an emphasised
line right above the body, ``<title>`` without its site suffix. Mastheads (a heading linking
to the front page or named as the site's), navigation, sidebars and widgets never give the
title.

This module must not read dates, authors or bodies, or fetch anything; its patterns run in
linear time on any text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.html

from worker.article_meta import element_value, in_chrome, select_first
from worker.sanitize import collapse_spaces, normalize_space, read_twice_escaped
from worker.title_site import (
    TITLE_PART_RE,
    cut_site_name,
    links_home,
    names_site,
    names_the_site,
    strip_site_suffix,
    title_key,
)

TITLE_META_NAMES = ("articletitle", "og:title")
SITE_NAME_META = ("sitename", "og:site_name", "application-name")
TRUNCATION_MARKS = ("...", "…", "。。。")


def pick_title(
    doc: lxml.html.HtmlElement,
    meta: dict[str, str],
    selector: str,
    fallback_title: str,
    *,
    trust_fallback: bool = False,
    body: lxml.html.HtmlElement | None = None,
) -> str:
    """Choose the title; a truncated list title gives way to a longer page title. With
    ``trust_fallback`` (a feed's own entry title) the page only fills a missing or truncated
    one: a page's heading never replaces what the feed says."""
    page_title = collapse_spaces(read_page_title(doc, meta, selector, body))
    fallback = collapse_spaces(fallback_title)
    if not page_title:
        return fallback
    if trust_fallback and fallback and not fallback.endswith(TRUNCATION_MARKS):
        return fallback
    if fallback.endswith(TRUNCATION_MARKS):
        bare = fallback.rstrip(".…。").rstrip()
        return page_title if len(page_title) >= len(bare) else fallback
    return page_title


def read_page_title(
    doc: lxml.html.HtmlElement,
    meta: dict[str, str],
    selector: str,
    body: lxml.html.HtmlElement | None = None,
) -> str:
    """Return the page's own title: the selector's; else the one heading microdata marks as
    the headline; else a heading that the title metas or ``<title>`` confirm (they often add
    the site or section name around it); else, with several unconfirmed h1 (Markdown
    sections), the part of ``<title>`` shown as a line of its own; else the post's one heading
    whose class names a title (an SEO ``og:title`` may differ); else ArticleTitle, og:title,
    the first h1, the body's own single h1, a part of ``<title>`` shown as a line of its own,
    the first other heading, the emphasised line above the body, ``<title>`` without its site
    suffix. A heading inside the body counts only when no heading outside it is confirmed
    (sub-headings of a WeChat article are h1 too)."""
    if selector:
        element = select_first(doc, selector)
        if element is not None:
            value = element_value(element, ("content", "title"))
            if value:
                return value
    site_name = next((meta[name] for name in SITE_NAME_META if meta.get(name)), "")
    title_element = doc.find(".//title")
    title_text = title_element.text_content() if title_element is not None else ""
    title_tag = original_title = normalize_space(read_twice_escaped(title_text))
    names = (*TITLE_META_NAMES, "twitter:title")
    titles = {name: meta.get(name, "") for name in names}  # without one naming only the site
    titles = {name: value for name, value in titles.items() if not names_the_site(value, site_name)}
    references = list(titles.values())
    if names_the_site(title_tag, site_name):
        title_tag = ""  # the site's name only: it confirms the logo, not the article
    every = without_masthead(list(iter_headings(doc, body)))
    headings = [(tag, text) for tag, text, inside in every if not inside]
    confirmed = confirmed_heading(headings, [*references, title_tag], site_name)
    if not confirmed and len(headings) < len(every):  # a container may wrap its own heading
        confirmed = confirmed_heading(
            [(tag, text) for tag, text, _ in every], [*references, title_tag], site_name
        )
    declared = declared_headline(doc)
    if declared:
        return declared  # microdata names the post; <title> may name only the site
    if confirmed:
        return confirmed
    if site_name:  # a heading that is only the site's name is its logo
        headings = [(tag, text) for tag, text in headings if not names_the_site(text, site_name)]
    h1s = [text for tag, text in headings if tag == "h1"]
    if len(set(h1s)) > 1:  # several unconfirmed h1: Markdown sections rather than a title
        shown = shown_part(doc, [*references, title_tag], body)
        if shown:
            return shown
    heading = h1s[0] if h1s else ""
    marked = marked_heading(doc)
    if marked and (marked == heading or not heading):
        return marked  # the post's own heading, shown; og:title may be an SEO title
    for name in TITLE_META_NAMES:
        value = titles.get(name, "")
        if value and name == "og:title" and value == title_tag and TITLE_PART_RE.search(value):
            continue  # <title> copied, with the site's name: read below as <title> is
        if value and name == "og:title":  # SEO plugins write "标题 - 站点" here
            if heading and value.startswith(heading) and len(value) > len(heading):
                return heading
            if heading and heading.startswith(value) and len(heading) > len(value):
                return heading  # og:title cut short (an unescaped quote ends the attribute)
            cut = cut_site_name(value, site_name)
            if cut != value:
                return cut
        if value:
            return value
    if heading:
        return heading
    leading = next((text for tag, text, inside in every if inside and tag == "h1"), "")
    if leading and body is not None and sum(1 for _ in body.iter("h1")) == 1:
        return leading  # the body's container wraps the article's own h1 (not Markdown sections)
    shown = shown_part(doc, [*references, title_tag], body)
    if shown:
        return shown
    named = next((text for tag, text in headings if len(text) >= SHOWN_PART_MIN_CHARS), "")
    if named:
        return named  # the first h2/h3 or element whose class names a title
    above = line_above_body(doc, body, not_this=title_tag)
    if above:
        return above  # an old page's title: a bold or centred line right above the text
    if title_tag:
        return strip_site_suffix(title_tag, site_name)
    return original_title  # only the site's name, which is then the page's title too


HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5"})
TITLE_MARK_RE = re.compile(
    r"title|headline|biaoti|subject|(?:^|[\s_-])(?:tit|bt)(?:$|[\s_-])", re.IGNORECASE
)
HEADING_MIN_CHARS = 4  # for an element whose class names a title; a heading may be shorter
HEADING_MAX_CHARS = 200
SHOWN_PART_MIN_CHARS = 6  # "辟谣文章", "新闻动态": shorter parts are section and site names
MAX_HEADINGS = 200
MINOR_HEADINGS = ("h4", "h5")  # a footer's 版权声明, a widget's caption: never the title
NUMBERS_ONLY_RE = re.compile(r"[\d\s\-/.:：,，年月日时分()（）\[\]|·]+")


def iter_headings(
    doc: lxml.html.HtmlElement, body: lxml.html.HtmlElement | None
) -> Iterator[tuple[str, str, bool, bool]]:
    """``(tag, text, inside_body, links_home)`` of the page's headings and of elements whose
    class or id names a title, in document order, outside chrome; a heading with child
    elements also comes with its own text alone (``标题<span>241</span>``): before its whole
    text when the rest is a date or a counter, else after it."""
    page = doc.find("body")
    if page is None:
        return
    found = 0
    for element in page.iter():
        if not isinstance(element.tag, str):
            continue
        marker = f"{element.get('class') or ''} {element.get('id') or ''}"
        if element.tag not in HEADING_TAGS and not TITLE_MARK_RE.search(marker):
            continue
        text = normalize_space(element.text_content())
        least = 1 if element.tag in HEADING_TAGS else HEADING_MIN_CHARS
        if not least <= len(text) <= HEADING_MAX_CHARS or in_chrome(element):
            continue
        found += 1
        if found > MAX_HEADINGS:
            return
        inside = body is not None and (element is body or body in element.iterancestors())
        home = links_home(element, text) or names_site(element)
        own, added = own_and_added(element)
        if own == text or len(own) < max(least, SHOWN_PART_MIN_CHARS):
            yield element.tag, text, inside, home
            continue
        if adds_no_words(added):  # a date or a counter inside: the title is the rest
            yield element.tag, own, inside, home
        yield element.tag, text, inside, home
        yield element.tag, own, inside, home  # without a counter or badge inside the heading


def declared_headline(doc: lxml.html.HtmlElement) -> str:
    """The text of the one element outside chrome that microdata marks as the headline
    (``itemprop="name headline"``); "" when there is none or several (a list of posts)."""
    page = doc.find("body")
    if page is None:
        return ""
    found = [
        element
        for element in page.xpath(".//*[@itemprop]")
        if element.tag != "meta"
        and "headline" in (element.get("itemprop") or "").lower().split()
        and not in_chrome(element)
        and not about_other_items(element)
    ]
    if len(found) != 1:
        return ""
    text = normalize_space(found[0].text_content())
    if not 1 <= len(text) <= HEADING_MAX_CHARS or links_home(found[0], text):
        return ""
    return text if not names_site(found[0]) else ""


def marked_heading(doc: lxml.html.HtmlElement) -> str:
    """The text of the one h1 or h2 outside chrome whose class or id names a title
    (``h1.post-title``, ``h2.entry-title``) and that is not a masthead; "" otherwise."""
    found = []
    for element in doc.iter("h1", "h2"):
        marker = f"{element.get('class') or ''} {element.get('id') or ''}"
        if not TITLE_MARK_RE.search(marker) or in_chrome(element) or names_site(element):
            continue
        if about_other_items(element):
            continue
        text = normalize_space(element.text_content())
        if 1 <= len(text) <= HEADING_MAX_CHARS and not links_home(element, text):
            found.append(without_numbers(element, text))
    return found[0] if len(set(found)) == 1 else ""


OTHER_ITEMS_RE = re.compile(
    r"comment|reply|relate|recommend|tuijian|(?<![a-z])(?:next|prev|pager)(?![a-z])",
    re.IGNORECASE,
)


def about_other_items(element: lxml.html.HtmlElement) -> bool:
    """Does the element sit in a block about other items (comments, related or recommended
    posts, the next and previous post), up to ``<body>``?"""
    for node in (element, *element.iterancestors()):
        if node.tag == "body":
            return False
        if OTHER_ITEMS_RE.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return True
    return False


def without_numbers(element: lxml.html.HtmlElement, text: str) -> str:
    """A heading's text without the date or counter its child elements add
    (``标题 <small>2020-01-01</small>``)."""
    own, added = own_and_added(element)
    return own if own and added and adds_no_words(added) else text


def adds_no_words(added: str) -> bool:
    """Is what a heading's children add only a date, a counter or a permalink mark (``¶``,
    ``#``)?"""
    return bool(NUMBERS_ONLY_RE.fullmatch(added)) or not title_key(added)


def own_and_added(element: lxml.html.HtmlElement) -> tuple[str, str]:
    """An element's own text (outside its child elements) and the text its children add."""
    own = normalize_space((element.text or "") + "".join(c.tail or "" for c in element))
    added = normalize_space(
        " ".join(child.text_content() for child in element if isinstance(child.tag, str))
    )
    return own, added


def without_masthead(
    found: list[tuple[str, str, bool, bool]],
) -> list[tuple[str, str, bool]]:
    """The headings without the masthead: one linking to the front page that another
    title-level heading follows (the site's name above the article's title; an ``h4`` such as
    a footer's 版权声明 does not count). A heading linking home with nothing
    after it is the article's own (some exports link every title back home)."""
    kept: list[tuple[str, str, bool]] = []
    for index, (tag, text, inside, home) in enumerate(found):
        if home and any(
            not later_home and later != text and later_tag not in MINOR_HEADINGS
            for later_tag, later, _, later_home in found[index + 1 :]
        ):
            continue
        kept.append((tag, text, inside))
    return kept


TITLE_LINE_MIN_CHARS, TITLE_LINE_MAX_CHARS = 6, 100
NOT_A_TITLE_RE = re.compile(
    r"当前位置|當前位置|您的位置|发布时间|发布日期|發布時間|發佈時間|發布日期"
    r"|[来來]源[:：]|作者[:：]|浏览|瀏覽|字号|字號|首页|首頁"
)
EMPHASIS_TAGS = frozenset({*HEADING_TAGS, "strong", "b", "font", "td", "center"})


def line_above_body(
    doc: lxml.html.HtmlElement, body: lxml.html.HtmlElement | None, *, not_this: str = ""
) -> str:
    """The last emphasised line before the body (a heading, bold, centred or large text, a
    table cell of its own) that is not navigation, a date or source line, or ``not_this``:
    where old pages put their title. "" when there is no body or no such line."""
    if body is None:
        return ""
    found = ""
    for element in doc.iter():
        if element is body:
            return found
        if not isinstance(element.tag, str) or not emphasised(element):
            continue
        text = normalize_space(element.text_content())
        if not TITLE_LINE_MIN_CHARS <= len(text) <= TITLE_LINE_MAX_CHARS:
            continue
        if NOT_A_TITLE_RE.search(text) or text == not_this or in_chrome(element):
            continue
        if any(True for _ in element.iter("a")) or any(True for _ in element.iterancestors("a")):
            continue  # a link: navigation or another article
        found = text
    return ""


def emphasised(element: lxml.html.HtmlElement) -> bool:
    """A heading, bold or large text, a centred block, or a cell of its own."""
    if element.tag in EMPHASIS_TAGS:
        return True
    style = (element.get("style") or "").replace(" ", "").lower()
    return (element.get("align") or "").lower() == "center" or "text-align:center" in style


def confirmed_heading(
    headings: list[tuple[str, str]], references: list[str], site_name: str
) -> str:
    """The heading a title meta or ``<title>`` confirms: one equal to a reference without its
    site suffix, else one equal to a whole reference, else the longest one a reference
    contains (the rest of that reference is the site's or the section's name)."""
    raw = [title_key(ref) for ref in references if ref]
    if not raw:
        return ""
    stripped = [title_key(strip_site_suffix(ref, site_name)) for ref in references if ref]
    keyed = [(title_key(text), text) for _, text in headings]
    for keys in (stripped, raw):
        for key, text in keyed:
            if key in keys:
                return text
    contained = ""
    for key, text in keyed:
        if not key or text == site_name or len(key) <= len(title_key(contained)):
            continue
        if any(key in ref and len(key) * 3 >= len(ref) for ref in raw):
            contained = text
    return contained


def shown_part(
    doc: lxml.html.HtmlElement, references: list[str], body: lxml.html.HtmlElement | None
) -> str:
    """The longest part of a title meta or ``<title>`` (split at ``_``, `` - ``, ``——``,
    ``@``, ``::``) that the page shows as a line of its own outside the body: the title
    without the site's and the section's names around it."""
    page = doc.find("body")
    if page is None:
        return ""
    inside = set(body.iter()) if body is not None else set()
    lines = {
        normalize_space(element.text or "")
        for element in page.iter()
        if isinstance(element.tag, str) and element not in inside and element.text
    }
    best = ""
    for reference in references:
        for part in [reference, *TITLE_PART_RE.split(reference)]:
            part = normalize_space(part)
            if len(part) > len(best) and len(part) >= SHOWN_PART_MIN_CHARS and part in lines:
                best = part
    return best
