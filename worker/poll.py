"""Stage: poll one source — fetch its list, judge its health, queue new items for ingesting.

Writes the list's validators, the source's health and the queued items in one transaction, so a
lost broker message loses nothing. A source's first successful poll imports what is already
there without notifying anyone (unless ``notify_existing``). A change of health is logged and
put in the ledger for subscribers with ``ops_alerts``. It must not fetch article pages
(``ingest`` does) or send anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from worker.backoff import source_retry_delay
from worker.config import SourceConfig
from worker.decide import RECHECK_WINDOW, Decision, canonical_url, listed_title, plan_ingest
from worker.fanout import fan_out_article
from worker.fetch import Fetcher, FetchError
from worker.health import PROBLEMS, Verdict, assess_failure, assess_poll, assess_staleness
from worker.models import Discovered, discovered_to_dict
from worker.redact import redact_text
from worker.runtime import Runtime
from worker.sources import Discovery, SourceError, discover
from worker.store.articles import (
    KnownArticle,
    known_articles,
    link_article,
    recheck_candidates,
    remember_listed_titles,
)
from worker.store.deliveries import create_deliveries
from worker.store.pending import queue_items
from worker.store.sources import (
    PollRecord,
    record_poll,
    record_renders,
    source_activity,
    source_by_id,
    source_has_articles,
)
from worker.store.stats import count_poll
from worker.store.subscribers import ops_alert_subscribers

log = logging.getLogger(__name__)

EVENT_SOURCE_HEALTH = "source.health"


@dataclass(frozen=True)
class PollReport:
    source: str
    status: Literal["ok", "stale", "not_modified", "degraded", "blocked", "failing", "skipped"]
    found: int = 0
    queued: list[int] = field(default_factory=list)  # ingest ledger rows
    deliveries: list[int] = field(default_factory=list)  # delivery ledger rows (alerts, links)
    error: str = ""
    skipped: int = 0  # list entries that could not be read (each skipped, its siblings kept)
    rendered: int = 0  # list pages headless Chromium rendered


@dataclass(frozen=True)
class _State:
    """The source row's fields a poll needs, read before the (slow) fetch."""

    id: int
    name: str
    etag: str
    last_modified: str
    failures: int
    first_poll: bool
    items_last_poll: int
    fingerprint: str
    status: str
    status_reason: str
    render_streak: int  # polls in a row whose list needed the browser


def poll_source(
    rt: Runtime,
    source_id: int,
    *,
    now: datetime | None = None,
    max_pages: int | None = None,
    notify: bool | None = None,
) -> PollReport:
    """Poll one source once; failures are recorded on the source, never raised.

    ``max_pages`` overrides the configured pages (``backfill`` on the first poll, else ``pages``)
    and makes the fetch unconditional; ``notify`` overrides whether new items are announced.
    """
    now = now or datetime.now(UTC)
    state = _read_state(rt, source_id)
    if state is None:
        return PollReport(source=str(source_id), status="skipped")
    try:
        source = rt.config.source(state.name)
    except KeyError:
        return PollReport(source=state.name, status="skipped")
    pages = max_pages or (source.backfill if state.first_poll else source.pages)
    started = time.monotonic()
    fetcher = rt.fetcher_for(source)
    report = _fetch_and_record(rt, fetcher, source, state, now, pages, max_pages, notify)
    with rt.session() as session:
        count_poll(session, state.id, report.status, time.monotonic() - started)
        read = report.status not in ("blocked", "failing", "skipped", "not_modified")
        ends_streak = read and state.render_streak > 0  # else a plain poll changes nothing
        if fetcher.render is not None and (fetcher.render.records or ends_streak):
            record_renders(session, state.id, fetcher.render.rendered, fetcher.render.failed,
                           list_rendered=fetcher.render.rendered > 0 if read else None)  # fmt: skip
            report = replace(report, rendered=fetcher.render.rendered)
    return report


def _fetch_and_record(
    rt: Runtime,
    fetcher: Fetcher,
    source: SourceConfig,
    state: _State,
    now: datetime,
    pages: int,
    max_pages: int | None,
    notify: bool | None,
) -> PollReport:
    try:
        discovery = discover(
            fetcher,
            source,
            tz=rt.config.source_timezone(source),
            now=now,
            etag="" if max_pages else state.etag,
            last_modified="" if max_pages else state.last_modified,
            max_pages=pages,
            all_new=None if (max_pages or state.first_poll) else _all_new_check(rt, state.id),
        )
    except (FetchError, SourceError) as err:
        return _record_failure(rt, source, state, err, now)
    except Exception as err:  # a hostile or odd page must not take the worker down
        log.exception("poll: unexpected error", extra={"source": state.name})
        wrapped = SourceError(f"{source.kind}: unexpected {type(err).__name__}: {err}")
        return _record_failure(rt, source, state, wrapped, now)
    if discovery.not_modified:
        return _record_not_modified(rt, source, state, discovery, now)
    if notify is None:
        notify = source.notify_existing or not state.first_poll
    return _record_listing(rt, source, state, discovery, now, notify=notify)


def _all_new_check(rt: Runtime, source_id: int) -> Callable[[list[str]], bool]:
    """For readers: are none of these URLs stored yet? (then the next list page is read too)"""

    def all_new(urls: list[str]) -> bool:
        with rt.session() as session:
            canonical = [canonical_url(url) for url in urls]
            return not known_articles(session, source_id, canonical)

    return all_new


def _read_state(rt: Runtime, source_id: int) -> _State | None:
    with rt.session() as session:
        row = source_by_id(session, source_id)
        if row is None or not row.enabled:
            return None
        return _State(
            row.id,
            row.name,
            row.etag,
            row.last_modified,
            row.consecutive_failures,
            row.last_success_at is None and not source_has_articles(session, row.id),
            row.items_last_poll,
            row.layout_fingerprint,
            row.status,
            row.status_reason,
            row.render_streak or 0,
        )


def _record_listing(
    rt: Runtime,
    source: SourceConfig,
    state: _State,
    discovery: Discovery,
    now: datetime,
    *,
    notify: bool,
) -> PollReport:
    items = [_canonical(item) for item in discovery.items]
    verdict = assess_poll(
        items=len(items),
        dated=discovery.dated,
        fingerprint=discovery.fingerprint,
        previous_items=state.items_last_poll,
        previous_fingerprint=state.fingerprint,
    )
    record = PollRecord(
        status=verdict.status,
        reason=verdict.reason,
        next_poll_at=now + timedelta(seconds=_next_delay(source, state, verdict, None)),
        succeeded=True,
        etag=discovery.etag,
        last_modified=discovery.last_modified,
        items=len(items),
        dated_share=discovery.dated / len(items) if items else None,
        fingerprint=discovery.fingerprint,
        detected_kind=discovery.kind if source.kind == "auto" else "",
    )
    with rt.session() as session:
        urls, guids = [i.url for i in items], [i.guid for i in items]
        known = known_articles(session, state.id, urls, guids)
        every = timedelta(seconds=source.recheck)
        decisions = plan_ingest(items, known, now=now, recheck_every=every)
        entries = [
            (discovered_to_dict(d.item), d.known_id) for d in decisions if d.action != "link"
        ]
        listed = {d.item.url for d in decisions}
        entries += _recheck_entries(session, source, state, now, skip=listed)
        queued = queue_items(session, state.id, entries, notify=notify, now=now)
        new = [d.item.published_at or now for d in decisions if d.action == "new"]
        found: datetime | None = None
        if new and not state.first_poll:  # something new now, whatever day its list shows
            record, found = replace(record, found_new=True), now
        else:
            found = max(new, default=None)
        deliveries = _record_and_alert(session, source, state, record, now, found=found)
        for decision in decisions:
            if decision.action == "link" and decision.known_id is not None:
                deliveries += _link(session, decision, source, state, now, notify)
        remember_listed_titles(session, state.id, _listed_titles(items, known))
    log.info(
        "poll: %s, found %d items (%d dated, %d unreadable skipped), queued %d%s",
        verdict.status,
        len(items),
        discovery.dated,
        discovery.skipped,
        len(queued),
        "" if notify else " as a silent first import",
        extra={"source": source.name},
    )
    if verdict.status != "ok":
        log.warning(
            "poll: source %s: %s", verdict.status, verdict.reason, extra={"source": source.name}
        )
    return PollReport(
        source.name, verdict.status, len(items), queued, deliveries, skipped=discovery.skipped
    )


def _listed_titles(items: list[Discovered], known: dict[str, KnownArticle]) -> dict[int, str]:
    """The titles the list shows for stored articles, where they differ from last time."""
    titles: dict[int, str] = {}
    for item in items:
        found = known.get(item.url) or (known.get(item.guid) if item.guid else None)
        title = listed_title(item.title)
        if found is not None and title and found.listed_title != title:
            titles[found.id] = title
    return titles


def _link(
    session: Session,
    decision: Decision,
    source: SourceConfig,
    state: _State,
    now: datetime,
    notify: bool,
) -> list[int]:
    """An article another source found first is listed here too: its subscribers hear of it."""
    assert decision.known_id is not None
    article_id = decision.known_id
    title = listed_title(decision.item.title)
    if not link_article(session, article_id, state.id, now, title) or not notify:
        return []
    return fan_out_article(session, article_id, source.name, now)  # fmt: skip


def _recheck_entries(
    session: Session, source: SourceConfig, state: _State, now: datetime, skip: set[str]
) -> list[tuple[dict[str, Any], int | None]]:
    """Recent articles not read for ``recheck``: queued again to notice edits (page sources)."""
    if source.kind == "feed":
        return []  # a feed carries its items' contents: its changes show in the feed itself
    rows = recheck_candidates(
        session, state.id, now=now, window=RECHECK_WINDOW, every=timedelta(seconds=source.recheck)
    )
    return [
        (discovered_to_dict(Discovered(url=row.url, title=row.title, guid=row.guid,
                                       published_at=row.published_at)), row.id)
        for row in rows
        if row.url not in skip
    ]  # fmt: skip


def _record_not_modified(
    rt: Runtime, source: SourceConfig, state: _State, discovery: Discovery, now: datetime
) -> PollReport:
    status = "degraded" if state.status == "degraded" else "ok"  # same content as last time
    # (``ok`` is judged stale again in ``_record_and_alert``: time passes on an unchanged list)
    record = PollRecord(
        status=status,
        reason=state.status_reason if status == "degraded" else "",
        next_poll_at=now + timedelta(seconds=source.interval),
        succeeded=True,
        etag=discovery.etag,
        last_modified=discovery.last_modified,
    )
    with rt.session() as session:
        deliveries = _record_and_alert(session, source, state, record, now)
        rechecks = _recheck_entries(session, source, state, now, skip=set())
        queued = queue_items(session, state.id, rechecks, notify=not state.first_poll, now=now)
    log.info("poll: not modified", extra={"source": source.name})
    return PollReport(source.name, "not_modified", queued=queued, deliveries=deliveries)


def _record_failure(
    rt: Runtime, source: SourceConfig, state: _State, err: FetchError | SourceError, now: datetime
) -> PollReport:
    verdict = assess_failure(
        str(err), getattr(err, "status", None), getattr(err, "body_excerpt", "")
    )
    retry_after = getattr(err, "retry_after", None)
    delay = _next_delay(source, state, verdict, retry_after)
    record = PollRecord(
        status=verdict.status,
        reason=redact_text(verdict.reason),  # a fetch error may quote a URL with a token
        next_poll_at=now + timedelta(seconds=delay),
        succeeded=False,
    )
    with rt.session() as session:
        deliveries = _record_and_alert(session, source, state, record, now)
    log.warning(
        "poll %s: %s (next try in %.0f s)", verdict.status, verdict.reason, delay,
        extra={"source": source.name},
    )  # fmt: skip
    return PollReport(source.name, verdict.status, deliveries=deliveries, error=str(err))


def _next_delay(
    source: SourceConfig, state: _State, verdict: Verdict, retry_after: float | None
) -> float:
    """The interval when healthy; exponential backoff with jitter (capped) when not."""
    if verdict.status == "ok":
        return source.interval
    return source_retry_delay(source.interval, state.failures + 1, retry_after)


def _record_and_alert(
    session: Session,
    source: SourceConfig,
    state: _State,
    record: PollRecord,
    now: datetime,
    *,
    found: datetime | None = None,
) -> list[int]:
    """Store the poll's outcome (``stale`` instead of ``ok`` when nothing new came in for
    ``expect_new_within``; ``found``: the newest item this poll found) and alert on a change."""
    if record.status == "ok" and source.expect_new_within:
        shown, watched = source_activity(session, state.id)
        newest = max(filter(None, (shown, found)), default=None)
        stale = assess_staleness(source.expect_new_within, newest, watched, now)
        record = replace(record, status=stale.status, reason=stale.reason)
    previous = record_poll(session, state.id, record, now=now)
    changed = previous != record.status and (record.status in PROBLEMS or previous in PROBLEMS)
    if not changed:
        return []
    data: dict[str, Any] = {
        "source": source.name,
        "url": source.url,
        "status": record.status,
        "previous_status": previous,
        "reason": record.reason,
        "at": now.isoformat(),
    }
    subscribers = ops_alert_subscribers(session)
    return create_deliveries(
        session,
        event_key=f"{EVENT_SOURCE_HEALTH}:{state.id}:{now.isoformat()}:{record.status}",
        event_type=EVENT_SOURCE_HEALTH,
        payload=data,
        subscriber_ids=[s.id for s in subscribers],
        article_id=None,
        now=now,
    )


def _canonical(item: Discovered) -> Discovered:
    return replace(item, url=canonical_url(item.url))
