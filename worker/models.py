"""The shared vocabulary of herald's stages: plain dataclasses, no I/O.

Stages exchange these objects; only ``worker.store`` knows how they map to tables.
This module must not import any other herald module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ListSelectors:
    """CSS selectors on an HTML list page (``[sources.list]``)."""

    item: str
    link: str = "a"
    title: str = ""
    date: str = ""
    next: str = ""


@dataclass(frozen=True)
class ArticleSelectors:
    """Optional CSS selectors on an article page (``[sources.article]``)."""

    title: str = ""
    date: str = ""
    body: str = ""
    author: str = ""


@dataclass(frozen=True)
class Discovered:
    """One entry found on a list page or in a feed, before its article page is read.

    Feeds often carry the full content already; then ``content_html`` is set and the
    article page need not be fetched.
    """

    url: str
    title: str = ""
    published_at: datetime | None = None
    guid: str = ""
    summary: str = ""
    content_html: str = ""
    author: str = ""
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A file an article links to (PDF, DOC, XLS …): carried into feeds as an enclosure."""

    url: str
    title: str = ""
    type: str = "application/octet-stream"


@dataclass(frozen=True)
class DateEvidence:
    """Why a page's publication date was chosen: the ``rule`` that read it (``meta:pubdate``,
    ``label:发布日期``, ``text``, ``url``, ``json-ld``, ``wechat:ct``, ``selector`` …), the
    ``text`` it was read from, and its ``score`` against the other candidates."""

    value: datetime
    rule: str
    text: str
    score: float


@dataclass(frozen=True)
class Extracted:
    """The fields read from one article page (see ``worker.extract``).

    ``content_html`` is already sanitised; ``published_at`` is timezone-aware or None.
    """

    url: str
    title: str
    published_at: datetime | None
    author: str
    content_html: str
    text: str
    summary: str
    images: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    published_evidence: DateEvidence | None = None
    body_path: str = ""  # selector, container:#zoom, trafilatura, densest, page
    body_confidence: float = 0.0


@dataclass(frozen=True)
class Article:
    """A stored article, as feeds, digests and notifiers see it."""

    id: int
    source_name: str
    url: str
    guid: str
    title: str
    author: str
    published_at: datetime | None
    summary: str
    content_html: str
    text: str
    images: tuple[str, ...]
    version: int
    first_seen_at: datetime
    updated_at: datetime
    tags: tuple[str, ...] = field(default_factory=tuple)
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


def discovered_to_dict(item: Discovered) -> dict[str, object]:
    """JSON-ready form of a discovered item (it waits in the ingest ledger as JSON)."""
    return {
        "url": item.url,
        "title": item.title,
        "published_at": item.published_at.isoformat() if item.published_at else None,
        "guid": item.guid,
        "summary": item.summary,
        "content_html": item.content_html,
        "author": item.author,
        "images": list(item.images),
    }


def discovered_from_dict(data: dict[str, object]) -> Discovered:
    published = data.get("published_at")
    images = data.get("images") or []
    return Discovered(
        url=str(data["url"]),
        title=str(data.get("title") or ""),
        published_at=datetime.fromisoformat(published) if isinstance(published, str) else None,
        guid=str(data.get("guid") or ""),
        summary=str(data.get("summary") or ""),
        content_html=str(data.get("content_html") or ""),
        author=str(data.get("author") or ""),
        images=tuple(str(i) for i in images) if isinstance(images, list) else (),
    )
