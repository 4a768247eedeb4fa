"""The W3C Feed Validation Service's error rules that a generated feed can break, as checks.

Read from w3c/feedvalidator (``src/feedvalidator``: rss.py, item.py, channel.py, entry.py,
feed.py, link.py, validators.py) and written anew for herald's output: RSS 2.0 with the
Atom, Dublin Core and content modules, and Atom 1.0. Each problem is returned as
"<element>: <rule>: <value>"; an empty list means no error the service would report.
Warnings (undeclared HTML, duplicate updated dates …) are not errors and are not checked.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from typing import Any

import lxml.html
from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
# validators.py rfc2396: characters a URI may hold, and "%" only before two hex digits
URI_CHARS = re.compile(r"^[A-Za-z0-9\-_.!~*'();/?:@&=+$,#%]*$")
IPV6_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\[[0-9A-Fa-f:.]+\]")  # "[" "]" only here
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
FULL_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
HTTP_URL = re.compile(r"^https?://[^/\s?#]+([/?#]\S*)?$", re.I)
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)  # entry.py / validators.py rfc3339
RFC822_DAY = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" \d{4} \d{2}:\d{2}:\d{2} ([+-]\d{4}|GMT|UT|[A-Z]{3})$"
)
RSS_CHANNEL_REQUIRED = ("title", "link", "description")
RSS_CHANNEL_KNOWN = {
    *RSS_CHANNEL_REQUIRED, "language", "copyright", "managingEditor", "webMaster", "pubDate",
    "lastBuildDate", "category", "generator", "docs", "cloud", "ttl", "image", "rating",
    "textInput", "skipHours", "skipDays", "item",
}  # fmt: skip
RSS_ITEM_KNOWN = {
    "title", "link", "description", "author", "category", "comments", "enclosure", "guid",
    "pubDate", "source",
}  # fmt: skip
ATOM_LINK_RELS = {
    "alternate", "related", "self", "enclosure", "via", "hub", "first", "last", "next",
    "previous", "replies", "license", "edit", "payment",
}  # fmt: skip


def uri_problem(value: str, *, full: bool) -> str:
    """Why ``value`` is no URI (reference) the validator accepts; "" when it is one."""
    if value != value.strip():
        return "whitespace around a URI"
    if not URI_CHARS.match(IPV6_AUTHORITY.sub("", value)):
        return "invalid URI character"
    if BAD_ESCAPE.search(value):
        return "invalid percent escape"
    if full and not FULL_URI.match(value):
        return "not a full URI"
    return ""


def check_feed(data: bytes) -> list[str]:
    """The errors the validator's rules find in one RSS 2.0 or Atom 1.0 document."""
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError as err:
        return [f"document: not well-formed XML: {err}"]
    if root.tag == "rss":
        return check_rss(root)
    if root.tag == f"{{{ATOM}}}feed":
        return check_atom(root)
    return [f"document: neither RSS nor Atom: {root.tag}"]


def _text(element: Any) -> str:
    return element.text or "" if element is not None else ""


def check_rss(root: Any) -> list[str]:
    problems: list[str] = []
    if root.get("version") != "2.0":
        problems.append(f"rss: version must be 2.0: {root.get('version')}")
    channel = root.find("channel")
    if channel is None:
        return ["rss: missing channel"]
    for name in RSS_CHANNEL_REQUIRED:
        if channel.find(name) is None:
            problems.append(f"channel: missing required element: {name}")
    problems += _rss_elements(channel, "channel", RSS_CHANNEL_KNOWN)
    guids: set[str] = set()
    for item in channel.iterfind("item"):
        problems += _rss_elements(item, "item", RSS_ITEM_KNOWN)
        if item.find("title") is None and item.find("description") is None:
            problems.append("item: needs a title or a description")
        guid = item.find("guid")
        if guid is not None:
            value = _text(guid)
            if value in guids:
                problems.append(f"guid: duplicate value: {value}")
            guids.add(value)
            if guid.get("isPermaLink", "true") == "true" and not HTTP_URL.match(value):
                problems.append(f"guid: a permalink must be a full http URL: {value}")
            if value != value.strip() or not value:
                problems.append(f"guid: empty or padded: {value!r}")
        enclosure = item.find("enclosure")
        if enclosure is not None:
            for attribute in ("url", "length", "type"):
                if not enclosure.get(attribute):
                    problems.append(f"enclosure: missing attribute {attribute}")
            if not HTTP_URL.match(enclosure.get("url", "")):
                problems.append(f"enclosure: url must be a full http URL: {enclosure.get('url')}")
        encoded = item.find(f"{{{CONTENT}}}encoded")
        if encoded is not None:
            problems += _html_links(_text(encoded), "content:encoded")
        description = item.find("description")
        if description is not None:
            problems += _html_links(_text(description), "description")
    return problems


def _rss_elements(parent: Any, where: str, known: set[str]) -> list[str]:
    problems: list[str] = []
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if qname.namespace is None and qname.localname not in known:
            problems.append(f"{where}: undefined element: {qname.localname}")
        if qname.namespace is None and qname.localname in ("pubDate", "lastBuildDate"):
            value = _text(child)
            if not RFC822_DAY.match(value):
                problems.append(f"{qname.localname}: not an RFC-822 date-time: {value}")
            else:
                parsedate_to_datetime(value)
        if qname.namespace is None and qname.localname == "link":
            value = _text(child)
            if not HTTP_URL.match(value) or uri_problem(value, full=True):
                problems.append(f"{where} link: not a full http URL: {value}")
        if qname.namespace is None and qname.localname == "category" and not _text(child):
            pass  # an empty category is a warning only
        if qname.namespace == ATOM and qname.localname == "link":
            problems += _atom_link(child, where)
        if qname.namespace == DC and qname.localname == "creator" and len(child):
            problems.append("dc:creator: must be text")
    return problems


def _atom_link(link: Any, where: str) -> list[str]:
    problems = []
    href = link.get("href")
    if href is None:
        return [f"{where} atom:link: missing href"]
    if problem := uri_problem(href, full=True):
        problems.append(f"{where} atom:link href: {problem}: {href}")
    rel = link.get("rel", "alternate")
    if rel not in ATOM_LINK_RELS and not FULL_URI.match(rel):
        problems.append(f"{where} atom:link: unknown rel {rel}")
    return problems


def _html_links(markup: str, where: str) -> list[str]:
    """Links inside escaped HTML content (the validator checks their URIs too)."""
    if not markup.strip():
        return []
    try:
        fragment = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    problems = []
    for element in fragment.iter():
        for attribute in ("href", "src"):
            value = element.get(attribute)
            if value is not None and (problem := uri_problem(value, full=False)):
                problems.append(f"{where} {attribute}: {problem}: {value}")
    return problems


def check_atom(root: Any) -> list[str]:
    problems: list[str] = []
    ns = {"a": ATOM}
    for name in ("id", "title", "updated"):
        if root.find(f"a:{name}", ns) is None:
            problems.append(f"feed: missing required element: {name}")
    has_author = root.find("a:author", ns) is not None
    problems += _atom_common(root, "feed", ns)
    ids: set[str] = set()
    for entry in root.iterfind("a:entry", ns):
        for name in ("id", "title", "updated"):
            if entry.find(f"a:{name}", ns) is None:
                problems.append(f"entry: missing required element: {name}")
        if not has_author and entry.find("a:author", ns) is None:
            problems.append("entry: missing author (and the feed has none)")
        value = _text(entry.find("a:id", ns))
        if value in ids:
            problems.append(f"entry id: duplicate: {value}")
        ids.add(value)
        problems += _atom_common(entry, "entry", ns)
        for name in ("content", "summary"):
            element = entry.find(f"a:{name}", ns)
            if element is not None and element.get("type", "text") == "html":
                problems += _html_links(_text(element), name)
    return problems


def _atom_common(element: Any, where: str, ns: dict[str, str]) -> list[str]:
    problems = []
    identifier = element.find("a:id", ns)
    if identifier is not None:
        value = _text(identifier)
        if value != value.strip():
            problems.append(f"{where} id: unexpected whitespace: {value!r}")
        elif problem := uri_problem(value, full=True):
            problems.append(f"{where} id: {problem}: {value}")
    for name in ("updated", "published"):
        for stamp in element.iterfind(f"a:{name}", ns):
            if not RFC3339.match(_text(stamp)):
                problems.append(f"{where} {name}: not an RFC 3339 date-time: {_text(stamp)}")
    for link in element.iterfind("a:link", ns):
        problems += _atom_link(link, where)
    for author in element.iterfind("a:author", ns):
        if author.find("a:name", ns) is None:
            problems.append(f"{where} author: missing name")
    return problems
