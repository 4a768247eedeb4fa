"""Stage: poll one source — fetch its list, decide what is new, queue it for ingesting.

Writes the list's validators and the queued items in one transaction, so a lost broker message
loses nothing. It must not fetch article pages (``ingest`` does) or send anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from worker.backoff import source_retry_delay
from worker.config import SourceConfig
from worker.decide import canonical_url, plan_ingest
from worker.fetch import FetchError
from worker.models import Discovered, discovered_to_dict
from worker.runtime import Runtime
from worker.sources import Discovery, SourceError, discover
from worker.store import queries
from worker.store.tables import SourceRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollReport:
    source: str
    status: Literal["ok", "not_modified", "failed", "skipped"]
    found: int = 0
    queued: list[int] = field(default_factory=list)
    error: str = ""


def poll_source(rt: Runtime, source_id: int, *, now: datetime | None = None) -> PollReport:
    """Poll one source once; failures are recorded on the source, never raised."""
    now = now or datetime.now(UTC)
    with rt.session() as session:
        row = session.get(SourceRow, source_id)
        if row is None or not row.enabled:
            return PollReport(source=str(source_id), status="skipped")
        name, etag, last_modified = row.name, row.etag, row.last_modified
        failures = row.consecutive_failures
        first_poll = not queries.source_has_articles(session, source_id)
    try:
        source = rt.config.source(name)
    except KeyError:
        return PollReport(source=name, status="skipped")
    try:
        discovery = discover(
            rt.fetcher,
            source,
            tz=rt.config.source_timezone(source),
            now=now,
            etag=etag,
            last_modified=last_modified,
            max_pages=source.backfill if first_poll else source.pages,
        )
    except (FetchError, SourceError) as err:
        return _record_failure(rt, source, source_id, err, failures, now)
    except Exception as err:  # a hostile or odd page must not take the worker down
        log.exception("poll: unexpected error", extra={"source": name})
        wrapped = SourceError(f"{source.kind}: unexpected {type(err).__name__}: {err}")
        return _record_failure(rt, source, source_id, wrapped, failures, now)
    if discovery.not_modified:
        _record_success(rt, source, source_id, discovery, None, now)
        log.info("poll: not modified", extra={"source": name})
        return PollReport(source=name, status="not_modified")
    return _queue_new_items(rt, source, source_id, discovery, now)


def _queue_new_items(
    rt: Runtime, source: SourceConfig, source_id: int, discovery: Discovery, now: datetime
) -> PollReport:
    items = [_canonical(item) for item in discovery.items]
    with rt.session() as session:
        known = queries.known_articles(session, [i.url for i in items], [i.guid for i in items])
        decisions = plan_ingest(items, known, now=now)
        entries = [(discovered_to_dict(d.item), d.known_id) for d in decisions]
        queued = queries.queue_items(session, source_id, entries, notify=True, now=now)
        _write_success(session, source, source_id, discovery, len(items), now)
    log.info(
        "poll: found %d items, queued %d", len(items), len(queued), extra={"source": source.name}
    )
    return PollReport(source=source.name, status="ok", found=len(items), queued=queued)


def _canonical(item: Discovered) -> Discovered:
    return replace(item, url=canonical_url(item.url))


def _record_success(
    rt: Runtime,
    source: SourceConfig,
    source_id: int,
    discovery: Discovery,
    items: int | None,
    now: datetime,
) -> None:
    with rt.session() as session:
        _write_success(session, source, source_id, discovery, items, now)


def _write_success(
    session: Session,
    source: SourceConfig,
    source_id: int,
    discovery: Discovery,
    items: int | None,
    now: datetime,
) -> None:
    queries.record_poll_success(
        session,
        source_id,
        now=now,
        etag=discovery.etag,
        last_modified=discovery.last_modified,
        items=items,
        next_poll_at=now + timedelta(seconds=source.interval),
    )


def _record_failure(
    rt: Runtime,
    source: SourceConfig,
    source_id: int,
    err: FetchError | SourceError,
    failures: int,
    now: datetime,
) -> PollReport:
    retry_after = getattr(err, "retry_after", None)
    delay = source_retry_delay(source.interval, failures + 1, retry_after)
    with rt.session() as session:
        queries.record_poll_failure(
            session,
            source_id,
            now=now,
            error=str(err),
            next_poll_at=now + timedelta(seconds=delay),
        )
    log.warning("poll failed: %s (next try in %.0f s)", err, delay, extra={"source": source.name})
    return PollReport(source=source.name, status="failed", error=str(err))
