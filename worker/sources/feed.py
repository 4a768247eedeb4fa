"""Parse a syndication feed (RSS 0.9x/2.0, RSS 1.0/RDF, Atom, JSON Feed) into discovered items.

XML feeds go through feedparser, always given the bytes (never a URL or file name, so it cannot
fetch or open anything) and without its own sanitiser: entry HTML is kept as the feed wrote it
and sanitised with nh3 before it is stored, titles and summaries become plain text; JSON Feed
is read with ``json``. Dates become aware UTC datetimes; a
date without a zone is taken as wall time in the source's timezone. This module must not fetch
pages, follow links, or touch the database.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import lxml.html

from worker.links import make_absolute
from worker.models import Discovered
from worker.sanitize import normalize_space
from worker.sources.base import ListPage, SourceError, read_each, strip_markup

_JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/")
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)
_ZONE_SUFFIX = re.compile(r"(?:[zZ]|[+-]\d{2}:?\d{2}|\b[A-Za-z]{1,5})\s*$")
_CST_SUFFIX = re.compile(r"\bCST\s*$")
_GB_LABEL = re.compile(rb"""(encoding\s*=\s*["'])(?:gb2312|gbk)(["'])""", re.IGNORECASE)
_GB_CHARSET = re.compile(r"charset\s*=\s*[\"']?(?:gb2312|gbk)\b[\"']?", re.IGNORECASE)
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".svg", ".avif")
# feedparser reads "CST" as US Central (UTC-6); Chinese feeds mean China Standard Time.
_US_CENTRAL = timedelta(hours=-6)
_CHINA = timedelta(hours=8)


def parse_feed(
    content: bytes, url: str, *, tz: tzinfo, content_type: str = "", limit: int = 0
) -> ListPage:
    """Read the entries of one feed document fetched from ``url``, in document order.

    Entries without a usable http(s) URL are left out; an entry that cannot be read is
    skipped and counted (``ListPage.skipped``), its siblings kept. With ``limit`` only the
    first ``limit`` items are read. Raises ``SourceError`` with reason ``"malformed"`` for a
    broken document that yields no items and ``"not_a_feed"`` for an HTML page or another
    document that is not a feed.
    """
    if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return parse_json_feed(content, url, tz=tz, limit=limit)
    parsed = feedparser.parse(
        io.BytesIO(relabel_gb_charset(cut_after_entries(content, 2 * limit))),
        response_headers=build_headers(url, content_type),
        sanitize_html=False,  # herald sanitises once, with nh3, before storing (worker.sanitize)
    )
    author = feed_author(parsed) if str(parsed.get("version", "")).startswith("atom") else ""
    items, skipped = read_each(
        parsed.get("entries", []),
        lambda entry: read_entry(entry, url, tz, default_author=author),
        limit=limit,
    )
    if not items and not skipped:
        check_empty_feed(parsed, content, url)
    next_url = find_next_link(parsed.get("feed", {}), url)
    return ListPage(items=items, next_url=next_url, skipped=skipped)


def build_headers(url: str, content_type: str) -> dict[str, str]:
    """The response headers feedparser uses for the base URL and the charset."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = _GB_CHARSET.sub("charset=gb18030", content_type)
    return headers


ENTRY_END_RE = re.compile(rb"</(?:[A-Za-z][\w.-]*:)?(?:item|entry)\s*>")
CUT_MIN_BYTES = 256 * 1024
ROOT_CLOSERS = (  # how each kind of feed document ends after its last entry
    (re.compile(rb"<(?:[A-Za-z][\w.-]*:)?feed[\s>]"), b"</feed>"),
    (re.compile(rb"<rdf:RDF[\s>]"), b"</rdf:RDF>"),
    (re.compile(rb"<rss[\s>]"), b"</channel></rss>"),
)


def cut_after_entries(content: bytes, entries: int) -> bytes:
    """A large document cut after its ``entries``-th entry and closed again, so that a feed of
    10,000 entries costs what herald reads of it, not what it holds. Small documents, documents
    of an unknown kind and ``entries = 0`` are returned whole."""
    if not entries or len(content) < CUT_MIN_BYTES:
        return content
    head = content[:4096]
    closer = next((end for start, end in ROOT_CLOSERS if start.search(head)), b"")
    if not closer:
        return content
    for count, match in enumerate(ENTRY_END_RE.finditer(content), start=1):
        if count == entries:
            return content[: match.end()] + closer
    return content


def relabel_gb_charset(content: bytes) -> bytes:
    """Relabel a ``gb2312``/``gbk`` XML declaration as gb18030, the superset browsers use."""
    head, tail = content[:512], content[512:]
    return _GB_LABEL.sub(rb"\1gb18030\2", head, count=1) + tail


def check_empty_feed(parsed: Mapping[str, Any], content: bytes, url: str) -> None:
    """Raise the right SourceError for a document with no usable items, or accept an empty feed."""
    version = str(parsed.get("version", "") or "")
    if not content.strip():
        raise SourceError(f"feed: empty document at {url}", reason="malformed")
    if not version and _HTML_START.search(content[:2048]):
        raise SourceError(f"feed: {url} is an HTML page, not a feed", reason="not_a_feed")
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and not isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe):
        raise SourceError(f"feed: malformed document at {url}: {problem}", reason="malformed")
    if not version:
        raise SourceError(f"feed: {url} is not a recognised feed", reason="not_a_feed")


def read_entry(
    entry: Mapping[str, Any], base: str, tz: tzinfo, *, default_author: str = ""
) -> Discovered | None:
    """Turn one feedparser entry into a Discovered item, or None without a usable URL."""
    guid = str(entry.get("id", "") or "")
    url = make_absolute(str(entry.get("link", "") or ""), base) or make_absolute(guid, "")
    if not url:
        return None
    summary_html = str(entry.get("summary", "") or "")
    summary_type = str(entry.get("summary_detail", {}).get("type", "text/html"))
    author = entry.get("author_detail", {}).get("name") or entry.get("author") or default_author
    return Discovered(
        url=url,
        title=read_text(entry.get("title", ""), entry.get("title_detail", {}).get("type", "")),
        published_at=read_entry_date(entry, tz),
        guid=guid,
        summary=read_text(summary_html, summary_type),
        content_html=read_content_html(entry, summary_html, summary_type),
        author=normalize_space(str(author)),
        images=collect_entry_images(entry, url),
    )


def read_text(value: object, content_type: object) -> str:
    """Plain text of a feed text construct; HTML constructs lose tags and entities."""
    text = str(value or "")
    return normalize_space(text) if content_type == "text/plain" else strip_markup(text)


def read_content_html(entry: Mapping[str, Any], summary_html: str, summary_type: str) -> str:
    """The entry's full content as HTML, falling back to its summary."""
    contents = entry.get("content") or []
    if contents and contents[0].get("value"):
        return as_html(str(contents[0]["value"]), str(contents[0].get("type", "")))
    return as_html(summary_html, summary_type)


def as_html(value: str, content_type: str) -> str:
    """Escape plain text so every content field holds HTML."""
    if content_type != "text/plain":
        return value
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", value) if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def read_entry_date(entry: Mapping[str, Any], tz: tzinfo) -> datetime | None:
    """The entry's publication (else update) time, aware, in the offset the feed wrote."""
    for key in ("published", "updated", "created"):
        raw = str(entry.get(key, "") or "").strip()
        if raw and (moment := interpret_date(raw, entry.get(f"{key}_parsed"), tz)):
            return keep_written_offset(raw, moment, tz)
    return None


def keep_written_offset(raw: str, moment: datetime, tz: tzinfo) -> datetime:
    """The same instant as ``moment``, shown with the offset written in ``raw`` (``+0800``),
    or in ``tz`` when ``raw`` names no zone."""
    from worker.dates import parse_date

    written = parse_date(raw, tz)
    if written is not None and written == moment:
        return written
    return moment.astimezone(tz) if not _ZONE_SUFFIX.search(raw) else moment


def interpret_date(raw: str, parsed: Any, tz: tzinfo) -> datetime | None:
    """Combine feedparser's parse of ``raw`` with the raw text's zone (or its lack of one)."""
    if not raw.isascii():
        # feedparser misreads "2022年10月6日" (as 2022-11-01); the local parser does not.
        return parse_local_date(raw, tz)
    if parsed is None:
        return parse_plain_date(raw, tz)
    wall = datetime(*parsed[:6])
    if not _ZONE_SUFFIX.search(raw):
        return wall.replace(tzinfo=tz).astimezone(UTC)
    if _CST_SUFFIX.search(raw):
        local = wall + _US_CENTRAL
        if tz.utcoffset(local) == _CHINA:
            return local.replace(tzinfo=tz).astimezone(UTC)
    return wall.replace(tzinfo=UTC)


def parse_plain_date(raw: str, tz: tzinfo) -> datetime | None:
    """Parse an ISO 8601 or RFC 822 date feedparser could not; naive means ``tz`` wall time."""
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return parse_local_date(raw, tz)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def parse_local_date(raw: str, tz: tzinfo) -> datetime | None:
    """Parse a Chinese or otherwise free-form date with herald's date reader."""
    from worker.dates import parse_date

    moment = parse_date(raw, tz)
    return moment.astimezone(UTC) if moment is not None else None


def collect_entry_images(entry: Mapping[str, Any], base: str) -> tuple[str, ...]:
    """Image URLs from image enclosures and Media RSS content, without duplicates."""
    found: list[str] = []
    for enclosure in entry.get("enclosures", []):
        if str(enclosure.get("type", "")).startswith("image/"):
            found.append(str(enclosure.get("href", "")))
    for media in entry.get("media_content", []):
        href = str(media.get("url", ""))
        if is_image(str(media.get("type", "")), str(media.get("medium", "")), href):
            found.append(href)
    return unique_urls(found, base)


def is_image(mime_type: str, medium: str, href: str) -> bool:
    """Whether a Media RSS object is an image, by type, medium or file suffix."""
    if mime_type or medium:
        return mime_type.startswith("image/") or medium == "image"
    return href.lower().split("?")[0].endswith(_IMAGE_SUFFIXES)


def unique_urls(hrefs: Iterable[str], base: str) -> tuple[str, ...]:
    """Absolute http(s) URLs in first-seen order, without duplicates."""
    urls: dict[str, None] = {}
    for href in hrefs:
        if absolute := make_absolute(href, base):
            urls.setdefault(absolute, None)
    return tuple(urls)


def feed_author(parsed: Mapping[str, Any]) -> str:
    """The feed-level author, which Atom entries without their own author inherit."""
    feed = parsed.get("feed", {})
    return str(feed.get("author_detail", {}).get("name") or feed.get("author") or "")


def find_next_link(feed: Mapping[str, Any], base: str) -> str:
    """The RFC 5005 ``rel="next"`` link of a paged feed, absolute, or ``""``."""
    for link in feed.get("links", []):
        if link.get("rel") == "next" and (url := make_absolute(str(link.get("href", "")), base)):
            return url
    return ""


def parse_json_feed(content: bytes, url: str, *, tz: tzinfo, limit: int = 0) -> ListPage:
    """Read a JSON Feed 1.0/1.1 document; an item that cannot be read is skipped and counted."""
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SourceError(f"feed: malformed JSON at {url}: {exc}", reason="malformed") from exc
    if not isinstance(data, dict) or not _JSON_FEED_VERSION.match(str(data.get("version", ""))):
        raise SourceError(f"feed: {url} is JSON but not a JSON Feed", reason="not_a_feed")
    entries = data.get("items", [])
    if not isinstance(entries, list):
        message = f"feed: malformed JSON Feed at {url}: items is not a list"
        raise SourceError(message, reason="malformed")
    author = json_author(data)
    items, skipped = read_each(
        entries, lambda entry: read_json_item(entry, url, tz, default_author=author), limit=limit
    )
    next_url = make_absolute(str(data.get("next_url", "")), url)
    return ListPage(items=items, next_url=next_url, skipped=skipped)


def read_json_item(
    entry: Mapping[str, Any], base: str, tz: tzinfo, *, default_author: str = ""
) -> Discovered | None:
    """Turn one JSON Feed item into a Discovered item, or None without a usable URL.

    Raises ``TypeError`` for an item that is not an object or whose fields have the wrong
    shape (``"attachments": 5``).
    """
    if not isinstance(entry, Mapping):
        raise TypeError(f"a JSON Feed item must be an object, not {type(entry).__name__}")
    guid = str(entry.get("id", "") or "")
    url = (
        make_absolute(str(entry.get("url", "") or ""), base)
        or make_absolute(guid, "")
        or make_absolute(str(entry.get("external_url", "") or ""), base)
    )
    if not url:
        return None
    content_html = absolutize_links(str(entry.get("content_html", "") or ""), base)
    if not content_html:
        content_html = as_html(str(entry.get("content_text", "") or ""), "text/plain")
    raw_date = str(entry.get("date_published") or entry.get("date_modified") or "").strip()
    attachments = [
        str(a.get("url", ""))
        for a in entry.get("attachments", [])
        if isinstance(a, dict) and str(a.get("mime_type", "")).startswith("image/")
    ]
    return Discovered(
        url=url,
        title=normalize_space(str(entry.get("title", "") or "")),
        published_at=parse_plain_date(raw_date, tz) if raw_date else None,
        guid=guid,
        summary=normalize_space(str(entry.get("summary", "") or "")),
        content_html=content_html,
        author=json_author(entry) or default_author,
        images=unique_urls(
            [
                str(entry.get("image", "") or ""),
                str(entry.get("banner_image", "") or ""),
                *attachments,
            ],
            base,
        ),
    )


def absolutize_links(fragment: str, base: str) -> str:
    """Resolve relative ``href``/``src`` URLs in an HTML fragment (feedparser does this for XML)."""
    if not fragment.strip():
        return fragment
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    root.make_links_absolute(base, resolve_base_href=False, handle_failures="discard")
    children = "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
    return html.escape(root.text or "", quote=False) + children


def json_author(obj: Mapping[str, Any]) -> str:
    """Author names of a JSON Feed object: ``authors`` (1.1) or ``author`` (1.0)."""
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj.get("author")]
    names = [str(a.get("name", "")).strip() for a in authors if isinstance(a, dict)]
    return ", ".join(name for name in names if name)
