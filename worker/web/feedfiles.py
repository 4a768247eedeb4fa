"""``/feeds/…``: the feed files under ``feeds_dir``, with validators, gzip and query options.

A plain request gets the file as written (``ETag``, ``Last-Modified``, ``304`` on a conditional
request). RSSHub-style options — ``?limit=``, ``?filter=`` / ``?filterout=`` (regular
expressions searched in the title and description, under the filters' time limit) and
``?format=rss|atom|json`` — render the feed afresh from the store. With a WebSub hub configured,
``Link`` headers name the hub and the feed. This module must not write feed files.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import regex
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from worker.config import Config
from worker.feeds import (
    EXTENSIONS,
    MEDIA_TYPES,
    FeedSpec,
    build_feed_path,
    build_feed_url,
    render_feed,
    split_feed_name,
)
from worker.filters import REGEX_MAX_CHARS, REGEX_TIMEOUT, compile_filter
from worker.publish import feed_spec
from worker.runtime import get_runtime

OPTION_NAMES = ("limit", "filter", "filterout", "format")
CACHE_CONTROL = "public, max-age=60"


@dataclass(frozen=True)
class FeedOptions:
    """The query options of one feed request (all unset: the file as written)."""

    limit: int | None = None
    filter: str = ""
    filterout: str = ""
    format: str = ""

    @property
    def plain(self) -> bool:
        return self == FeedOptions()

    @classmethod
    def from_query(cls, query: QueryParams, *, max_limit: int) -> FeedOptions:
        """Read the options; ValueError names the parameter and what it takes."""
        limit = None
        if "limit" in query:
            text = query["limit"]
            if not text.isdigit() or not 1 <= int(text) <= max_limit:
                raise ValueError(f"limit: expected a whole number from 1 to {max_limit}")
            limit = int(text)
        fmt = query.get("format", "")
        if fmt and fmt not in EXTENSIONS:
            raise ValueError("format: expected rss, atom or json")
        for name in ("filter", "filterout"):
            check_pattern(name, query.get(name, ""))
        return cls(limit, query.get("filter", ""), query.get("filterout", ""), fmt)


MAX_PATTERN_CHARS = 200
MAX_COUNTED = 2  # {n,m} repetitions in one pattern
MAX_COUNT = 100  # the largest n or m in one
_COUNTED = regex.compile(r"\{\s*(\d*)\s*(?:,\s*(\d*)\s*)?\}")


def check_pattern(name: str, pattern: str) -> None:
    """Refuse a query's pattern that is too long, counts too high or does not compile: a
    visitor's regular expression must stay cheap to compile (its matching has a time limit)."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"{name}: at most {MAX_PATTERN_CHARS} characters")
    counted = _COUNTED.findall(pattern)
    numbers = [int(n) for pair in counted for n in pair if n]
    if len(counted) > MAX_COUNTED or any(n > MAX_COUNT for n in numbers):
        raise ValueError(
            f"{name}: at most {MAX_COUNTED} counted repetitions, each at most {{{MAX_COUNT}}}"
        )
    try:
        compile_filter(pattern)
    except regex.error as err:
        raise ValueError(f"{name}: invalid regular expression: {err}") from None


class PatternTooSlow(ValueError):
    """A query's pattern hit the time limit: the request is refused rather than dragged on."""


class FileCache:
    """Bytes and ETag of recently served files, keyed by path, size and mtime."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, int, int], tuple[bytes, str]] = {}

    def read(self, path: Path) -> tuple[bytes, str, datetime] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            found = self._entries.get(key)
        if found is None:
            try:
                data = path.read_bytes()
            except OSError:
                return None
            found = (data, entity_tag(data))
            with self._lock:
                if len(self._entries) >= self.size:
                    self._entries.clear()
                self._entries[key] = found
        modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0)
        return found[0], found[1], modified


def entity_tag(data: bytes) -> str:
    """A weak validator of the body (weak: gzip may change the bytes on the wire)."""
    return f'W/"{hashlib.sha256(data).hexdigest()[:32]}"'


def not_modified(request: Request, etag: str, modified: datetime | None) -> bool:
    """Whether the request's validators say the client's copy is current (RFC 9110 13.2.2)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in wanted or etag.removeprefix("W/") in wanted
    since = request.headers.get("if-modified-since")
    if since and modified is not None:
        try:
            return modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def feed_headers(config: Config, key: str, fmt: str, etag: str) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    hub = config.feeds.websub_hub
    if hub:
        self_url = build_feed_url(config.herald.base_url, key, fmt)
        headers["Link"] = f'<{hub}>; rel="hub", <{self_url}>; rel="self"'
    return headers


class FeedFiles:
    """The ``/feeds/{path}`` endpoint."""

    def __init__(self) -> None:
        self.cache = FileCache()

    async def serve(self, request: Request) -> Response:
        config = (await run_in_threadpool(get_runtime)).config
        split = split_feed_name(request.path_params["path"])
        if split is None:
            return PlainTextResponse("no such feed\n", status_code=404)
        key, fmt = split
        try:
            options = await run_in_threadpool(
                FeedOptions.from_query, request.query_params, max_limit=config.feeds.limit
            )
        except ValueError as err:
            return PlainTextResponse(f"{err}\n", status_code=400)
        if options.plain:
            return await self.file(request, config, key, fmt)
        try:
            rendered = await run_in_threadpool(render_with_options, config, key, fmt, options)
        except PatternTooSlow as err:
            return PlainTextResponse(f"{err}\n", status_code=400)
        if rendered is None:
            return PlainTextResponse("no such feed\n", status_code=404)
        body, out_fmt = rendered
        return self.answer(request, config, (key, out_fmt), body, entity_tag(body), None)

    async def file(self, request: Request, config: Config, key: str, fmt: str) -> Response:
        feeds_dir = config.herald.feeds_dir
        try:
            path = build_feed_path(feeds_dir, key, fmt)
        except ValueError:
            return PlainTextResponse("no such feed\n", status_code=404)
        found = await run_in_threadpool(self.cache.read, path)
        if found is None or not path.resolve().is_relative_to(feeds_dir.resolve()):
            return PlainTextResponse("no such feed\n", status_code=404)
        data, etag, modified = found
        return self.answer(request, config, (key, fmt), data, etag, modified)

    def answer(
        self,
        request: Request,
        config: Config,
        feed: tuple[str, str],
        body: bytes,
        etag: str,
        modified: datetime | None,
    ) -> Response:
        key, fmt = feed
        headers = feed_headers(config, key, fmt, etag)
        if modified is not None:
            headers["Last-Modified"] = format_datetime(modified, usegmt=True)
        if not_modified(request, etag, modified):
            return Response(status_code=304, headers=headers)
        media_type = f"{MEDIA_TYPES[fmt]}; charset=utf-8"
        return Response(body, headers=headers, media_type=media_type)


def _passes(options: FeedOptions, text: str) -> bool:
    """Whether an entry's text passes ``filter`` and ``filterout``; PatternTooSlow at the
    first search that hits the time limit."""
    for name, pattern, wanted in (("filter", options.filter, True),
                                  ("filterout", options.filterout, False)):  # fmt: skip
        if not pattern:
            continue
        try:
            found = compile_filter(pattern).search(text[:REGEX_MAX_CHARS], timeout=REGEX_TIMEOUT)
        except TimeoutError:
            raise PatternTooSlow(f"{name}: the pattern takes too long; simplify it") from None
        if (found is not None) != wanted:
            return False
    return True


def render_with_options(
    config: Config, key: str, fmt: str, options: FeedOptions
) -> tuple[bytes, str] | None:
    """The feed ``key`` rendered from the store with ``options`` applied; None if unknown."""
    rt = get_runtime()
    with rt.session() as session:
        spec = feed_spec(session, config, key, limit=config.feeds.limit)
    if spec is None:
        return None
    kept = [
        article
        for article in spec.articles
        if _passes(options, f"{article.title}\n{article.summary}\n{article.text}")
    ]
    if options.limit is not None:
        kept = kept[: options.limit]
    out_fmt = options.format or fmt
    trimmed = FeedSpec(spec.key, spec.title, tuple(kept))
    body = render_feed(
        trimmed, out_fmt, base_url=config.herald.base_url, hub=config.feeds.websub_hub
    )
    return body, out_fmt
