"""What on an article page belongs to the site rather than to the article: the site's name
in ``<title>`` and the metas (cut at its separators), and mastheads (a heading linking to the
front page or whose class names the site). ``worker.article_titles`` asks these questions.

This module must not choose a title, read anything but the elements and strings it is given,
or fetch anything; its patterns run in linear time on any text.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

import lxml.html

from worker.sanitize import normalize_space

# Separators between a title and the site's or section's name, strongest first: a title is
# split at the first kind it holds ("读书笔记｜人类简史 - 站点" keeps its bar, "游记 · 沙漠 | 站点"
# its dot). Around a chevron the longest part is the title ("站点 » Blog Archive » 标题").
# (?<!\s): a run of spaces is tried once, not from each of its spaces (linear on any text).
CHEVRON_SEPARATOR_RE = re.compile(r"(?<!\s)\s*[»›]\s*|(?<!\s)\s+>>?\s+")
SEPARATOR_TIERS = (
    re.compile(r"(?<!\s)\s+[-|–—]\s+"),
    re.compile(r"(?<!\s)\s+[·•]\s+|(?<!\s)\s*::\s*"),
    re.compile(r"(?<!\s)\s*[_|｜]\s*"),
)
# Every separator, to split a title into the parts a page may show (``shown_part``).
TITLE_PART_RE = re.compile(
    r"(?<!\s)\s+[-|–—@·•»›]\s+|(?<!\s)\s*[_|｜»›]\s*|——|(?<!\s)\s*::\s*|-(?=[^\x00-\x7f])"
)
SEPARATOR_CHARS = "-_|｜–—－:：»·"
SITE_EDGE_CHARS = " " + SEPARATOR_CHARS
CJK_HYPHEN_RE = re.compile(r"\S-[^\x00-\x7f0-9][^-]*$")
SITE_NAME_MAX_CHARS = 30


def names_the_site(value: str, site_name: str) -> bool:
    """Is a title meta or ``<title>`` only the site's name (a theme's default on every page)?"""
    return bool(site_name) and title_key(value) == title_key(site_name)


def title_key(text: str) -> str:
    """A title without spaces and punctuation, for comparing a heading with a title meta
    (``增强——前4个月`` in the heading, ``增强-前4个月`` in ``<title>``)."""
    return "".join(
        char for char in text if not char.isspace() and unicodedata.category(char)[0] not in "PS"
    )


def cut_site_name(title: str, site_name: str) -> str:
    """The title without the site's own name at either end, where a separator (not a bare
    space) sets it apart: ``标题 - 站点`` gives ``标题``; ``人民网评：…`` stays whole."""
    if not site_name or len(title) <= len(site_name):
        return title
    before, after = title[: -len(site_name)].rstrip(), title[len(site_name) :].lstrip()
    if title.endswith(site_name) and before[-1:] in SEPARATOR_CHARS:
        return before.rstrip(SITE_EDGE_CHARS) or title
    if title.startswith(site_name) and after[:1] in SEPARATOR_CHARS:
        return after.lstrip(SITE_EDGE_CHARS) or title
    return title


def strip_site_suffix(title: str, site_name: str = "") -> str:
    """Drop the site's name around a title: ``标题_栏目_站点``, ``Title - Site``, ``标题-站点``,
    ``站点 » 标题``, and the site's own name (``og:site_name``) at either end."""
    title = cut_site_name(title, site_name)
    if CHEVRON_SEPARATOR_RE.search(title):
        parts = [part.strip() for part in CHEVRON_SEPARATOR_RE.split(title) if part.strip()]
        return max(parts, key=len, default=title)
    first = title
    for separator in SEPARATOR_TIERS:
        if separator.search(title):
            parts = [part.strip() for part in separator.split(title)]
            first = next((part for part in parts if part), title)
            break
    head, hyphen, tail = first.rpartition("-")
    if hyphen and head and CJK_HYPHEN_RE.search(first) and len(tail) <= SITE_NAME_MAX_CHARS:
        return head.strip()
    return first


SITE_MARK = r"site[-_]?(?:title|name|brand|logo)|logo"
SITE_MARK_RE = re.compile(rf"(?:^|[\s_-])(?:{SITE_MARK}|brand)(?:$|[\s_-])", re.IGNORECASE)
PARENT_SITE_MARK_RE = re.compile(rf"(?:^|[\s_-])(?:{SITE_MARK})(?:$|[\s_-])", re.IGNORECASE)
SITE_MARK_DEPTH = 2


def names_site(element: lxml.html.HtmlElement) -> bool:
    """Does the element's class or id name the site (``site-title``, ``logo``,
    ``navbar-brand``), or a near parent's (``site-name``, ``logo``; a parent's ``brand`` may be
    a post cover's)?"""
    for depth, node in enumerate((element, *element.iterancestors())):
        if depth > SITE_MARK_DEPTH or node.tag == "body":
            return False
        pattern = SITE_MARK_RE if depth == 0 else PARENT_SITE_MARK_RE
        if pattern.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return True
    return False


INDEX_PAGES = frozenset({"index.html", "index.htm", "index.php", "index.shtml", "default.htm"})


def links_home(element: lxml.html.HtmlElement, text: str) -> bool:
    """Is the element's whole text a link to the site's front page (``<h1><a href="/">站名``,
    or a heading inside such a link)?"""
    links = [a for a in element.iter("a") if normalize_space(a.text_content()) == text]
    links += list(element.iterancestors("a"))
    return any(is_front_page(link.get("href") or "") for link in links)


def is_front_page(href: str) -> bool:
    """``/``, ``./``, ``../../``, ``index.html``, ``https://host/``: the site's front page."""
    parts = urlsplit(href.strip())
    if parts.scheme not in ("", "http", "https") or parts.query or not href.strip():
        return False
    path = parts.path
    if parts.scheme and not parts.netloc:
        return False
    rest = path.strip("/.")
    return rest == "" or (rest in INDEX_PAGES and "/" not in rest)
