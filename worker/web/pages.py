"""The HTML pages: the index (sources and feeds), a source's recent articles, digest archives.

Pages link relatively to themselves, so they work at whatever address serves them; dates are
shown in the source's timezone. Digest pages are the files the digest stage wrote under
``feeds_dir/digests/<subscriber>/``. This module must not build SQL or write anything.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from worker.config import Config, SourceConfig
from worker.config.checks import SLUG_RE
from worker.feeds import feed_file_name
from worker.models import Article
from worker.notify.render import render_document
from worker.publish import feed_keys, publishes_digest
from worker.runtime import get_runtime
from worker.store.articles import recent_articles
from worker.store.stats import SourceOverview, source_overviews

SOURCE_PAGE_ARTICLES = 50
PAGE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.html$")
FEED_FORMATS = (("RSS", "rss"), ("Atom", "atom"), ("JSON", "json"))


def local_time(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


@dataclass(frozen=True)
class FeedLink:
    """One feed on the index: its label and its files, relative to the site's root."""

    label: str
    kind: str
    links: tuple[tuple[str, str], ...]  # (format label, path)


def feed_links(config: Config, with_articles: Collection[str]) -> list[FeedLink]:
    found = []
    for key in feed_keys(config, with_articles):
        kind, _, name = key.partition("/")
        label = {"all": "全部来源", "sources": name, "tags": f"#{name}", "digests": f"{name} 摘要"}
        paths = tuple((fmt, f"feeds/{feed_file_name(key, f)}") for fmt, f in FEED_FORMATS)
        found.append(FeedLink(label[kind], kind, paths))
    return found


def source_row(source: SourceConfig, seen: SourceOverview | None, zone: ZoneInfo) -> dict[str, Any]:
    latest = seen.latest if seen else None
    status = "disabled" if not source.enabled else (seen.status if seen else "not started")
    return {
        "name": source.name,
        "family": (seen.detected_kind if seen and seen.detected_kind else source.kind),
        "status": status,
        "rendered": bool(seen and seen.rendered_polls and status in ("ok", "stale")),
        "articles": seen.articles if seen else 0,
        "latest_title": latest.title if latest else "",
        "latest_url": latest.url if latest else "",
        "latest_when": local_time(latest.published_at or latest.first_seen_at, zone)
        if latest
        else "",
        "href": f"sources/{quote(source.name)}",
    }


def index_html(config: Config, seen: Mapping[str, SourceOverview]) -> str:
    """The index page: every source with its latest article (``seen``), the feeds, the digests."""
    sources = [source_row(s, seen.get(s.name), config.source_timezone(s)) for s in config.sources]
    digests = [
        {"name": s.name, "href": f"digests/{s.name}/"}
        for s in config.subscribers
        if publishes_digest(s)
    ]
    stored = {name for name, overview in seen.items() if overview.articles}
    context = {"sources": sources, "feeds": feed_links(config, stored), "digests": digests}
    return render_document("web.index.html.j2", context)


def source_html(source: SourceConfig, zone: ZoneInfo, articles: Sequence[Article]) -> str:
    """A source's page: its recent ``articles`` (newest first) and its feeds."""
    name = source.name
    entries = [
        {
            "title": a.title or a.url,
            "url": a.url,
            "when": local_time(a.published_at or a.first_seen_at, zone),
            "iso": (a.published_at or a.first_seen_at).isoformat(),
            "summary": a.summary,
        }
        for a in articles
    ]
    feeds = [(fmt, f"../feeds/{feed_file_name(f'sources/{name}', f)}") for fmt, f in FEED_FORMATS]
    context = {
        "source": {"name": name, "url": source.url, "kind": source.kind, "tags": source.tags},
        "timezone": str(zone),
        "entries": entries,
        "feeds": feeds,
    }
    return render_document("web.source.html.j2", context)


def message_html(message: str) -> str:
    """A page that says one thing (not found, nothing yet)."""
    return render_document("web.message.html.j2", {"title": message, "message": message})


def read_index() -> str:
    rt = get_runtime()
    with rt.session() as session:
        seen = source_overviews(session)
    return index_html(rt.config, seen)


def read_source(name: str) -> str | None:
    rt = get_runtime()
    try:
        source = rt.config.source(name)
    except KeyError:
        return None
    with rt.session() as session:
        articles = recent_articles(session, limit=SOURCE_PAGE_ARTICLES, source_names=[name])
    return source_html(source, rt.config.source_timezone(source), articles)


async def index(request: Request) -> Response:
    return HTMLResponse(await run_in_threadpool(read_index))


async def source_page(request: Request) -> Response:
    name = request.path_params["name"]
    page = await run_in_threadpool(read_source, name) if SLUG_RE.match(name) else None
    if page is None:
        return not_found("没有这个来源")
    return HTMLResponse(page)


async def digest_page(request: Request) -> Response:
    """``/digests/<subscriber>/`` (the archive) and ``/digests/<subscriber>/<key>.html``."""
    config = (await run_in_threadpool(get_runtime)).config
    name = request.path_params["name"]
    page = request.path_params.get("page") or "index.html"
    if not SLUG_RE.match(name) or not PAGE_FILE.match(page):
        return not_found("没有这份摘要")
    if not any(s.name == name and s.wants_digest for s in config.subscribers):
        return not_found("没有这份摘要")
    root = (config.herald.feeds_dir / "digests").resolve()
    path = (root / name / page).resolve()
    if not path.is_relative_to(root) or not await run_in_threadpool(Path.is_file, path):
        if page == "index.html":
            return not_found("还没有摘要")
        return not_found("没有这份摘要")
    return FileResponse(path, media_type="text/html; charset=utf-8")


def not_found(message: str) -> Response:
    return HTMLResponse(message_html(message), status_code=404)
