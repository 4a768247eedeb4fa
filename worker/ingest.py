"""Stage: ingest one queued item — read its article, store it (dedup, versions), fan out.

A new article gets one ledger row per matching instant subscriber in the same transaction
that stores it. It must not send anything (``deliver`` does) nor write feeds (``publish``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Literal

from worker.backoff import scheduled_retry_delay
from worker.config import SourceConfig
from worker.decide import listed_title
from worker.extract import ExtractError, extract_article, find_attachments
from worker.fanout import fan_out_article, fan_out_update
from worker.fetch import Fetcher, FetchError
from worker.lease import LeaseKeeper, effective_lease
from worker.models import Discovered, Extracted, discovered_from_dict
from worker.runtime import Runtime
from worker.sanitize import (
    collect_images,
    html_to_text,
    make_summary,
    sanitize_html,
    truncate_html,
)
from worker.store.articles import article_validators, mark_checked, upsert_article
from worker.store.clock import new_lease_token
from worker.store.counters import FEEDS_GENERATION, bump_counter
from worker.store.pending import (
    claim_pending_item,
    fail_pending_item,
    finish_pending_item,
    renew_pending_lease,
)
from worker.store.sources import record_renders, source_by_id
from worker.store.tables import SourceRow

log = logging.getLogger(__name__)

RETRY_DELAYS = (60.0, 300.0, 1800.0, 7200.0, 21600.0)  # then parked; revived when seen again
# A page's Retry-After is honoured up to the longest of these waits.
MAX_CLAIMS = len(RETRY_DELAYS) + 3  # claims without an outcome (dead workers) count too
FEED_CONTENT_MIN_CHARS = 200


@dataclass(frozen=True)
class IngestReport:
    outcome: Literal["new", "changed", "unchanged", "failed", "skipped"]
    article_id: int | None = None
    deliveries: list[int] = field(default_factory=list)
    error: str = ""


@dataclass(frozen=True)
class ArticlePage:
    extracted: Extracted | None  # None: the article page answered 304
    etag: str = ""
    last_modified: str = ""


def ingest_item(rt: Runtime, pending_id: int, *, now: datetime | None = None) -> IngestReport:
    """Ingest one queued item; a failure is recorded on the item and retried, never raised.

    The item is leased to this call and the lease renewed while its page is read, so another
    worker takes it over only if this one dies."""
    now = now or datetime.now(UTC)
    token = new_lease_token()
    lease = effective_lease(rt.config.delivery.lease, rt.config.network.deadline)
    claimed_at = time.monotonic()  # before the database's clock is read: a safe lower bound
    with rt.session() as session:
        row = claim_pending_item(
            session, pending_id, lease=lease, token=token, max_attempts=MAX_CLAIMS
        )
        if row is None:
            return IngestReport("skipped")
        item = discovered_from_dict(row.item)
        source_row = source_by_id(session, row.source_id)
        attempts, notify, source_id = row.attempts, row.notify, row.source_id
        known_id = row.known_article_id
        validators = article_validators(session, known_id)
    source = _source_config(rt, source_row)
    if source is None:
        with rt.session() as session:
            finish_pending_item(session, pending_id, token)
        return IngestReport("skipped")
    keeper = LeaseKeeper(
        held=[pending_id], lease=lease, longest_step=rt.config.network.deadline,
        renew=lambda: _renew(rt, pending_id, token, lease), confirmed_at=claimed_at,
        name=f"lease-{token[:8]}",
    ).start()  # fmt: skip
    fetcher = rt.fetcher_for(source)
    try:
        tz = rt.config.source_timezone(source)
        page = read_article(fetcher, source, item, tz=tz, validators=validators)
    except (FetchError, ExtractError) as err:
        return _record_failure(rt, pending_id, token, item, err, attempts)
    except Exception as err:  # a hostile or odd page must not take the worker down
        log.exception("ingest: unexpected error", extra={"article_url": item.url})
        wrapped = ExtractError(f"extract: unexpected {type(err).__name__}: {err}")
        return _record_failure(rt, pending_id, token, item, wrapped, attempts)
    finally:
        keeper.stop()
        _count_renders(rt, source_id, fetcher)
    if page.extracted is None:
        with rt.session() as session:
            if known_id:
                mark_checked(session, known_id, now)
            finish_pending_item(session, pending_id, token)
        return IngestReport("unchanged", known_id)
    return _store(rt, pending_id, token, source_id, source, item, page, notify=notify, now=now)


def _count_renders(rt: Runtime, source_id: int, fetcher: Fetcher) -> None:
    """Article pages the browser rendered (a challenge met on the article itself)."""
    if fetcher.render is None or not fetcher.render.records:
        return
    with rt.session() as session:
        record_renders(session, source_id, fetcher.render.rendered, fetcher.render.failed,
                       list_rendered=None)  # fmt: skip


def _renew(rt: Runtime, pending_id: int, token: str, lease: float) -> set[int]:
    with rt.session() as session:
        return (
            {pending_id} if renew_pending_lease(session, pending_id, token, lease=lease) else set()
        )


def _source_config(rt: Runtime, row: SourceRow | None) -> SourceConfig | None:
    if row is None:
        return None
    try:
        return rt.config.source(row.name)
    except KeyError:
        return None


def read_article(
    fetcher: Fetcher,
    source: SourceConfig,
    item: Discovered,
    *,
    tz: tzinfo,
    validators: tuple[str, str] = ("", ""),
) -> ArticlePage:
    """The article's fields: from the feed entry when it carries the full text, else its page.

    ``validators`` (ETag, Last-Modified) make the page fetch conditional; a 304 gives
    ``ArticlePage(None)``.
    """
    if item.content_html and len(html_to_text(item.content_html)) >= FEED_CONTENT_MIN_CHARS:
        return ArticlePage(from_feed_entry(item))
    page = fetcher.get(item.url, etag=validators[0], last_modified=validators[1])
    if page.not_modified:
        return ArticlePage(None)
    extracted = extract_article(
        page.text,
        page.url,
        tz=tz,
        selectors=source.article,
        fallback_title=item.title,
        fallback_date=item.published_at,
        trust_fallback_title=source.kind == "feed",
        now=datetime.now(tz),
    )
    return ArticlePage(extracted, page.etag, page.last_modified)


def from_feed_entry(item: Discovered) -> Extracted:
    content = sanitize_html(item.content_html, item.url)
    text = html_to_text(content)
    images = collect_images(content, item.url) or item.images
    return Extracted(
        url=item.url,
        title=item.title or item.url,
        published_at=item.published_at,
        author=item.author,
        content_html=content,
        text=text,
        summary=make_summary(item.summary or text),
        images=tuple(images),
        attachments=find_attachments(content, item.url),
    )


def cap_article(extracted: Extracted, *, max_html_bytes: int, max_title_chars: int) -> Extracted:
    """The article within the store's limits: its HTML cut cleanly (``truncate_html``) and its
    text read again from what is kept; its title cut to ``max_title_chars`` characters."""
    title = extracted.title[:max_title_chars]
    content = truncate_html(extracted.content_html, max_html_bytes)
    if content is extracted.content_html:
        return replace(extracted, title=title)
    return replace(extracted, title=title, content_html=content, text=html_to_text(content))


def _store(
    rt: Runtime,
    pending_id: int,
    token: str,
    source_id: int,
    source: SourceConfig,
    item: Discovered,
    page: ArticlePage,
    *,
    notify: bool,
    now: datetime,
) -> IngestReport:
    assert page.extracted is not None
    limits = rt.config.herald
    extracted = cap_article(
        page.extracted, max_html_bytes=limits.max_html_bytes, max_title_chars=limits.max_title_chars
    )
    with rt.session() as session:
        stored = upsert_article(
            session,
            source_id=source_id,
            url=item.url,
            guid=item.guid,
            extracted=extracted,
            tags=source.tags,
            etag=page.etag,
            last_modified=page.last_modified,
            now=now,
            listed_title=listed_title(item.title),
        )
        deliveries: list[int] = []
        if stored.outcome == "new" and notify:
            deliveries = fan_out_article(session, stored.article_id, source.name, now)
        elif stored.outcome == "changed" and notify:
            deliveries = fan_out_update(session, stored, source.name, now)
        if stored.outcome != "unchanged":
            bump_counter(session, FEEDS_GENERATION)
        finish_pending_item(session, pending_id, token)
    log.info("ingest: %s %s", stored.outcome, item.url, extra={"source": source.name})
    return IngestReport(stored.outcome, stored.article_id, deliveries)


def _record_failure(
    rt: Runtime, pending_id: int, token: str, item: Discovered, err: Exception, attempts: int
) -> IngestReport:
    retry_after = getattr(err, "retry_after", None)
    retry_in = scheduled_retry_delay(attempts, retry_after, schedule=RETRY_DELAYS, spread=0.0)
    with rt.session() as session:
        fail_pending_item(session, pending_id, token=token, error=str(err), retry_in=retry_in)
    log.warning("ingest failed (attempt %d): %s", attempts, err, extra={"article_url": item.url})
    return IngestReport("failed", error=str(err))
