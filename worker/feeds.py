"""Render stored articles as RSS 2.0, Atom 1.0 and JSON Feed 1.1 files.

The caller passes the articles in; this module only renders them (RSS and Atom with feedgen,
JSON Feed with ``json``) and writes the files atomically, skipping files whose bytes are
unchanged. Output is deterministic: feed-level dates come from the articles, never from the
wall clock, so an unchanged store renders byte-identical files.

Text fields stay text for readers: an article's summary is plain text, so it is written
HTML-escaped into RSS ``<description>`` (which readers parse as HTML) and as text into Atom
``<summary>`` and JSON Feed ``summary``; ``content_html`` is the store's sanitised HTML.

It must NOT query the database, fetch anything over the network, or decide which articles
are stored; it does not delete feed files of sources that are no longer configured.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from feedgen.feed import FeedGenerator
from lxml import etree

from worker.files import write_atomic
from worker.links import as_uri
from worker.models import Article, Attachment

ALL_KEY = "all"
ALL_TITLE = "herald — all sources"
GENERATOR = "herald"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)
UNTITLED = "(untitled)"

EXTENSIONS = {"rss": "xml", "atom": "atom", "json": "json"}
FORMATS_BY_EXTENSION = {ext: fmt for fmt, ext in EXTENSIONS.items()}
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
_NAME_URI = re.compile(r"^(?:urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}|tag):[\x21-\x7e]+$", re.I)
_BAD_SEGMENT = re.compile(r"[/\\\x00-\x1f\x7f]")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FeedSpec:
    """One feed to render: ``key`` is "all" or "sources/<name>"; it names the files."""

    key: str
    title: str
    articles: Sequence[Article]


def render_rss(
    spec: FeedSpec, *, base_url: str, generated_at: datetime | None = None, hub: str = ""
) -> bytes:
    """Return the RSS 2.0 document for ``spec`` (UTF-8), entries newest first."""
    fg = _build_generator(spec, "rss", base_url=base_url, generated_at=generated_at, hub=hub)
    data: bytes = fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return _add_rss_hub(data, hub) if hub else data


def _add_rss_hub(data: bytes, hub: str) -> bytes:
    """feedgen writes only the ``self`` atom:link into RSS; the WebSub hub link is added here."""
    root = etree.fromstring(data)
    channel = root.find("channel")
    assert channel is not None
    link = etree.Element(f"{{{ATOM_NS}}}link", nsmap={"atom": ATOM_NS})
    link.set("href", hub)
    link.set("rel", "hub")
    self_link = channel.find(f"{{{ATOM_NS}}}link")
    if self_link is not None:
        self_link.addnext(link)
    else:
        channel.insert(0, link)
    etree.indent(root, space="  ")
    out: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    return out


def render_atom(
    spec: FeedSpec, *, base_url: str, generated_at: datetime | None = None, hub: str = ""
) -> bytes:
    """Return the Atom 1.0 document for ``spec`` (UTF-8), entries newest first."""
    fg = _build_generator(spec, "atom", base_url=base_url, generated_at=generated_at, hub=hub)
    data: bytes = fg.atom_str(pretty=False, encoding="UTF-8", xml_declaration=True)
    return _write_atom_enclosures(data, sort_articles(spec.articles))


def _write_atom_enclosures(data: bytes, articles: Sequence[Article]) -> bytes:
    """Add ``<link rel="enclosure">`` per attachment to the Atom entries.

    feedgen 1.0 writes only the ``href`` of an entry's links (it drops rel, type and title),
    so the enclosures are added here, in entry order.
    """
    root = etree.fromstring(data)
    for entry, article in zip(root.iterfind(f"{{{ATOM_NS}}}entry"), articles, strict=True):
        for attachment in attachments_of(article):
            link = etree.SubElement(entry, f"{{{ATOM_NS}}}link")
            link.set("rel", "enclosure")
            link.set("href", attachment.url)
            link.set("type", attachment.type)
            if attachment.title:
                link.set("title", _clean_text(attachment.title))
    etree.indent(root, space="  ")
    out: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    return out


def render_json_feed(
    spec: FeedSpec, *, base_url: str, generated_at: datetime | None = None, hub: str = ""
) -> bytes:
    """Return the JSON Feed 1.1 document for ``spec`` (UTF-8), items newest first.

    JSON Feed has no feed-level date, so ``generated_at`` is accepted only for a signature
    shared with the other renderers and does not change the output.
    """
    del generated_at
    articles = sort_articles(spec.articles)
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": _clean_text(spec.title) or UNTITLED,
        "feed_url": build_feed_url(base_url, spec.key, "json"),
        **({"hubs": [{"type": "WebSub", "url": hub}]} if hub else {}),
        "items": [
            _build_json_item(article, entry_id)
            for article, entry_id in zip(articles, entry_ids(articles), strict=True)
        ],
    }
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


RENDERERS = {"rss": render_rss, "atom": render_atom, "json": render_json_feed}


def render_feed(spec: FeedSpec, fmt: str, *, base_url: str, hub: str = "") -> bytes:
    """Render ``spec`` in ``fmt`` ("rss", "atom" or "json")."""
    return RENDERERS[fmt](spec, base_url=base_url, hub=hub)


def write_feeds(
    specs: Iterable[FeedSpec], feeds_dir: Path, *, base_url: str, hub: str = ""
) -> list[Path]:
    """Write ``K.xml``, ``K.atom`` and ``K.json`` for every spec under ``feeds_dir``.

    Returns the paths whose content changed (new or rewritten), in writing order.
    """
    changed: list[Path] = []
    for spec in specs:
        for fmt in RENDERERS:
            data = render_feed(spec, fmt, base_url=base_url, hub=hub)
            path = build_feed_path(feeds_dir, spec.key, fmt)
            if write_atomic(path, data):
                changed.append(path)
    return changed


def sort_articles(articles: Iterable[Article]) -> list[Article]:
    """Return articles newest first: (published_at or first_seen_at) desc, then id desc."""
    return sorted(articles, key=lambda a: (_entry_published(a), a.id), reverse=True)


def build_feed_url(base_url: str, key: str, fmt: str) -> str:
    """Return the public URL of feed ``key`` in format ``fmt`` ("rss", "atom" or "json")."""
    return f"{base_url.rstrip('/')}/feeds/{feed_file_name(key, fmt)}"


def feed_file_name(key: str, fmt: str) -> str:
    """Feed ``key`` in ``fmt`` as a URL path below ``feeds/`` (``tags/%E9%80%9A.xml``)."""
    return f"{quote(key)}.{EXTENSIONS[fmt]}"


def split_feed_name(name: str) -> tuple[str, str] | None:
    """``sources/notices.xml`` → (``sources/notices``, ``rss``); None for what is no feed."""
    stem, dot, extension = name.rpartition(".")
    fmt = FORMATS_BY_EXTENSION.get(extension)
    if not dot or fmt is None or not stem:
        return None
    return stem, fmt


def valid_key_segment(name: str) -> bool:
    """Whether ``name`` can be one segment of a feed key (a file name under feeds_dir)."""
    return bool(name) and name not in (".", "..") and not _BAD_SEGMENT.search(name)


def build_feed_path(feeds_dir: Path, key: str, fmt: str) -> Path:
    """Return the file path of feed ``key`` in format ``fmt``; reject keys leaving feeds_dir."""
    parts = PurePosixPath(key).parts
    if (
        not parts
        or key.startswith("/")
        or "\\" in key
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise ValueError(f"feed: invalid feed key {key!r}")
    return feeds_dir.joinpath(*parts[:-1], f"{parts[-1]}.{EXTENSIONS[fmt]}")


def _build_generator(
    spec: FeedSpec, fmt: str, *, base_url: str, generated_at: datetime | None, hub: str
) -> FeedGenerator:
    """Return a feedgen generator holding the feed metadata and its entries, newest first."""
    fg = FeedGenerator()
    if fmt == "rss":
        fg.load_extension("dc", atom=False, rss=True)
    title = _clean_text(spec.title) or UNTITLED
    self_url = build_feed_url(base_url, spec.key, fmt)
    fg.id(build_feed_url(base_url, spec.key, "atom"))
    fg.title(title)
    fg.description(title)
    fg.author(name=GENERATOR)
    fg.generator(GENERATOR)
    # RSS takes its channel link from the last link added: the feed's own stable URL.
    if hub and fmt == "atom":
        fg.link(href=hub, rel="hub")
    fg.link(href=self_url, rel="self", type=MEDIA_TYPES[fmt])
    if fmt == "rss":
        fg.link(href=self_url, rel="alternate")
    fg.updated(_ensure_aware(generated_at) if generated_at else _feed_updated(spec.articles))
    articles = sort_articles(spec.articles)
    for article, entry_id in zip(articles, entry_ids(articles), strict=True):
        _add_entry(fg, article, entry_id, fmt)
    return fg


def _add_entry(fg: FeedGenerator, article: Article, entry_id: str, fmt: str) -> None:
    """Append one article as a feed entry (append keeps the newest-first order)."""
    fe = fg.add_entry(order="append")
    url = as_uri(article.url)
    fe.guid(entry_id, permalink=bool(url) and entry_id == url)
    fe.title(_clean_text(article.title) or url or UNTITLED)
    if url:
        fe.link(href=url, rel="alternate")
    fe.published(_entry_published(article))
    fe.updated(_ensure_aware(article.updated_at))
    summary = _clean_text(article.summary)
    if summary:  # plain text; RSS readers parse <description> as HTML, so it goes escaped
        fe.summary(html.escape(summary, quote=False) if fmt == "rss" else summary)
    content = _clean_text(article.content_html)
    if content:
        fe.content(content, type="html" if fmt == "atom" else None)
    elif not url:
        fe.content(fe.title(), type="text" if fmt == "atom" else None)
    author = _clean_text(article.author)
    if author:
        if fmt == "rss":
            fe.dc.dc_creator(author)
        else:
            fe.author(name=author)
    for tag in article.tags:
        term = _clean_text(tag)
        if term:
            fe.category(term=term)
    files = attachments_of(article)
    if fmt == "rss" and files:  # RSS allows one enclosure: the first file
        fe.enclosure(url=files[0].url, length="0", type=files[0].type)


ATOM_NS = "http://www.w3.org/2005/Atom"


def _build_json_item(article: Article, entry_id: str) -> dict[str, Any]:
    """Return the JSON Feed item for one article."""
    url = as_uri(article.url)
    item: dict[str, Any] = {"id": entry_id}
    if url:
        item["url"] = url
    item["title"] = _clean_text(article.title) or url or UNTITLED
    content = _clean_text(article.content_html)
    if content:
        item["content_html"] = content
    else:
        item["content_text"] = _clean_text(article.text) or _clean_text(article.summary)
    summary = _clean_text(article.summary)
    if summary:
        item["summary"] = summary
    image = next((u for u in map(as_uri, article.images) if u), "")
    if image:
        item["image"] = image
    item["date_published"] = _entry_published(article).isoformat()
    item["date_modified"] = _ensure_aware(article.updated_at).isoformat()
    author = _clean_text(article.author)
    if author:
        item["authors"] = [{"name": author}]
    tags = [term for term in (_clean_text(tag) for tag in article.tags) if term]
    if tags:
        item["tags"] = tags
    files = attachments_of(article)
    if files:
        item["attachments"] = [
            {"url": a.url, "mime_type": a.type, "title": _clean_text(a.title)} for a in files
        ]
    return item


def entry_ids(articles: Sequence[Article]) -> list[str]:
    """Each entry's id, unique within the feed: the article's guid when it is a URI (an http(s)
    URL, or a ``urn:``/``tag:`` name), else its URL, else ``urn:herald:<id>``; an id already
    taken by an earlier entry becomes ``urn:herald:<id>`` too."""
    taken: set[str] = set()
    found = []
    for article in articles:
        candidate = _guid_uri(article.guid) or as_uri(article.url)
        if not candidate or candidate in taken:
            candidate = f"urn:herald:{article.id}"
        taken.add(candidate)
        found.append(candidate)
    return found


def _guid_uri(guid: str) -> str:
    text = guid.strip()
    if _NAME_URI.match(text):
        return text
    return as_uri(text) if text.lower().startswith(("http://", "https://")) else ""


def attachments_of(article: Article) -> list[Attachment]:
    """The article's attachments whose URL can be written as a URI, written so."""
    found = []
    for attachment in article.attachments:
        url = as_uri(attachment.url)
        if url:
            found.append(Attachment(url, attachment.title, _clean_text(attachment.type)))
    return found


def _entry_published(article: Article) -> datetime:
    """Return when the article was published, falling back to when it was first seen."""
    return _ensure_aware(article.published_at or article.first_seen_at)


def _feed_updated(articles: Sequence[Article]) -> datetime:
    """Return the newest ``updated_at`` of the articles, or a fixed date for an empty feed."""
    if not articles:
        return EMPTY_FEED_UPDATED
    return max(_ensure_aware(article.updated_at) for article in articles)


def _ensure_aware(value: datetime) -> datetime:
    """Return ``value`` with a timezone; naive datetimes are taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _clean_text(value: str) -> str:
    """Remove characters XML 1.0 forbids (C0 controls, lone surrogates, U+FFFE/FFFF)."""
    return _XML_ILLEGAL.sub("", value)
