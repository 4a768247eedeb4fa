"""Sources and subscribers as the stages see them: config sync, poll claims and poll records.

Each function takes a Session; the caller owns the transaction. This module must not fetch, parse
or send anything, nor touch articles or the ledgers beyond looking up whether a source has articles.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from worker.config import Config, SourceConfig, SubscriberConfig
from worker.schedule import next_fire
from worker.store._sql import rowcount
from worker.store.tables import SUBSCRIBERS, ArticleRow, ArticleSourceRow, SourceRow, SubscriberRow
from worker.subscriber import SubscriberOptions

# --- configuration → rows ----------------------------------------------------------------------


HUB_SUBSCRIBER = "_websub"  # the WebSub hub's row: "_" starts no configured subscriber's name
HUB_CHANNEL, HUB_MODE = "websub", "hub"  # a mode no fan-out, digest or alert selects


def sync_config(session: Session, config: Config, now: datetime) -> None:
    """Make the sources and subscribers tables match the config file (by name).

    Rows whose name left the config are disabled, never deleted: their articles and ledger stay.
    ``[feeds] websub_hub`` is kept as an internal subscriber, enabled while it is configured.
    """
    _sync_sources(session, config.sources, now)
    _sync_subscribers(session, config.subscribers, now)
    _sync_hub(session, config.feeds.websub_hub, now)


def _sync_hub(session: Session, hub: str, now: datetime) -> None:
    row = session.scalar(select(SubscriberRow).where(SubscriberRow.name == HUB_SUBSCRIBER))
    if row is None:
        if not hub:
            return
        row = SubscriberRow(name=HUB_SUBSCRIBER, disabled_reason="", created_at=now)
        session.add(row)
    row.channel, row.mode, row.secret, row.sources, row.options = HUB_CHANNEL, HUB_MODE, "", [], {}
    row.url = hub or row.url
    row.enabled, row.ops_alerts = bool(hub), False


def hub_subscriber_id(session: Session) -> int | None:
    """The WebSub hub's subscriber row, when a hub is configured."""
    return session.scalar(
        select(SubscriberRow.id).where(
            SubscriberRow.name == HUB_SUBSCRIBER, SubscriberRow.enabled.is_(True)
        )
    )


def source_config_hash(source: SourceConfig) -> str:
    """What, when changed, makes the list worth reading again (URL, kind, selectors …)."""
    data = json.dumps(asdict(source), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _sync_sources(session: Session, sources: Sequence[SourceConfig], now: datetime) -> None:
    rows = {row.name: row for row in session.scalars(select(SourceRow))}
    for src in sources:
        row = rows.pop(src.name, None)
        digest = source_config_hash(src)
        if row is None:
            row = SourceRow(name=src.name, url=src.url, kind=src.kind, next_poll_at=now)
            row.status, row.etag, row.last_modified, row.last_error = "new", "", "", ""
            row.consecutive_failures = row.items_last_poll = 0
            row.config_hash = digest
            session.add(row)
        elif row.config_hash != digest:  # new URL or selectors: read the list afresh, now
            row.url, row.kind, row.etag, row.last_modified = src.url, src.kind, "", ""
            row.layout_fingerprint, row.detected_kind = "", ""
            row.config_hash, row.next_poll_at = digest, now
        row.enabled = src.enabled
    for row in rows.values():
        row.enabled = False


SYNCED_COLUMNS = (
    "channel", "url", "secret", "mode", "sources", "enabled", "ops_alerts", "options",
    "next_digest_at",
)  # fmt: skip
SYNC_CHUNK = 1000
MIN_INTERVAL = 1.0  # seconds: no source is polled more often, whatever its interval says


def _sync_subscribers(
    session: Session, subscribers: Sequence[SubscriberConfig], now: datetime
) -> None:
    """In bulk: stored rows read as tuples, only new and changed rows written, so 100,000
    subscribers sync without an object per row and a config read again writes nothing."""
    table = SUBSCRIBERS
    columns = [getattr(SubscriberRow, name) for name in SYNCED_COLUMNS]
    stored_rows = select(SubscriberRow.id, SubscriberRow.name, *columns)
    assignments: dict[str, Any] = {name: bindparam(f"new_{name}") for name in SYNCED_COLUMNS}
    change = update(table).where(table.c.id == bindparam("row_id")).values(assignments)
    for start in range(0, len(subscribers), SYNC_CHUNK):  # chunks: memory stays small
        chunk = subscribers[start : start + SYNC_CHUNK]
        names = [sub.name for sub in chunk]
        stored = {
            row.name: row
            for row in session.execute(stored_rows.where(SubscriberRow.name.in_(names)))
        }
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for sub in chunk:
            row = stored.get(sub.name)
            values: dict[str, Any] = dict(
                channel=sub.channel, url=sub.url, secret=sub.secret, mode=sub.mode,
                sources=list(sub.sources), enabled=sub.enabled, ops_alerts=sub.ops_alerts,
                options=sub.options.to_stored(), next_digest_at=_next_digest(row, sub, now),
            )  # fmt: skip
            if row is None:
                new.append(dict(values, name=sub.name, disabled_reason="", created_at=now))
            elif any(getattr(row, name) != value for name, value in values.items()):
                changed.append({f"new_{k}": v for k, v in values.items()} | {"row_id": row.id})
        if new:
            session.execute(insert(table), new)
        if changed:
            session.execute(change, changed)
    configured = {sub.name for sub in subscribers} | {HUB_SUBSCRIBER}  # the hub's sync keeps it
    enabled = session.execute(
        select(SubscriberRow.id, SubscriberRow.name).where(SubscriberRow.enabled.is_(True))
    )
    gone = [row_id for row_id, name in enabled if name not in configured]
    if gone:
        session.execute(update(table).where(table.c.id.in_(gone)).values(enabled=False))


def _next_digest(stored: Any, sub: SubscriberConfig, now: datetime) -> datetime | None:
    """When the subscriber's next digest is due: kept unless its schedule or zone changed
    (``stored``: its row as read, or None for a new subscriber)."""
    if not sub.wants_digest:
        return None
    options = sub.options
    if (
        stored is not None
        and stored.next_digest_at is not None
        and stored.mode in ("digest", "both")
    ):
        old = SubscriberOptions.from_stored(stored.options)
        if old.schedule == options.schedule and old.timezone == options.timezone:
            return cast(datetime, stored.next_digest_at)
    return next_fire(options.schedule, options.timezone, now)


# --- sources -------------------------------------------------------------------------------------


def source_by_id(session: Session, source_id: int) -> SourceRow | None:
    return session.get(SourceRow, source_id)


def source_by_name(session: Session, name: str) -> SourceRow | None:
    return session.scalar(select(SourceRow).where(SourceRow.name == name))


def claim_due_sources(
    session: Session,
    now: datetime,
    intervals: dict[str, float],
    *,
    force: bool = False,
    within: float = 0.0,
) -> list[tuple[SourceRow, float]]:
    """Sources whose next poll is due now or within ``within`` seconds (the next sweep would
    come too late for them), each with the seconds until its poll (0.0: now; ``force``: every
    enabled source, now); a source polled more often than that comes once per poll. A claim
    moves ``next_poll_at`` one interval past its last poll, so polls keep to their interval
    instead of drifting by the sweep's delay each time."""
    horizon = now + timedelta(seconds=within)
    query = select(SourceRow).where(SourceRow.enabled.is_(True))
    if not force:
        query = query.where(
            or_(SourceRow.next_poll_at.is_(None), SourceRow.next_poll_at <= horizon)
        )
    claimed = []
    for row in session.scalars(query.order_by(SourceRow.id)):
        interval = intervals.get(row.name)
        if interval is None:
            continue
        step = timedelta(seconds=max(interval, MIN_INTERVAL))
        polls = [now if force or row.next_poll_at is None else max(row.next_poll_at, now)]
        while not force and polls[-1] + step <= horizon:  # an interval shorter than the sweep's
            polls.append(polls[-1] + step)
        result = session.execute(
            update(SourceRow)
            .where(SourceRow.id == row.id, _same_or_null(SourceRow.next_poll_at, row.next_poll_at))
            .values(next_poll_at=polls[-1] + step)
        )
        if rowcount(result) == 1:
            claimed += [(row, (poll - now).total_seconds()) for poll in polls]
    return claimed


def _same_or_null(column: Any, value: datetime | None) -> Any:
    return column.is_(None) if value is None else column == value


@dataclass(frozen=True)
class PollRecord:
    """What one poll did to a source's row (see ``worker.poll``)."""

    status: str  # ok | degraded | blocked | failing
    reason: str
    next_poll_at: datetime
    succeeded: bool  # the list was fetched and read (even if degraded)
    etag: str = ""
    last_modified: str = ""
    items: int | None = None  # None: not modified, keep the previous numbers
    dated_share: float | None = None
    fingerprint: str = ""
    detected_kind: str = ""
    found_new: bool = False  # a new article was on the list (not counting a first import)


def record_poll(session: Session, source_id: int, record: PollRecord, *, now: datetime) -> str:
    """Store a poll's outcome on the source; returns the status the source had before."""
    row = session.get(SourceRow, source_id)
    assert row is not None
    previous = row.status
    row.last_polled_at = now
    if row.next_poll_at is None or record.next_poll_at > row.next_poll_at:
        row.next_poll_at = record.next_poll_at  # never earlier than a claim made meanwhile
    if record.status != previous:
        row.status, row.status_since = record.status, now
    row.status_reason = record.reason[:2000]
    healthy = record.status in ("ok", "stale")  # stale: read fine, nothing new on it
    row.consecutive_failures = 0 if healthy else row.consecutive_failures + 1
    if record.succeeded:
        row.last_success_at = now
        row.etag, row.last_modified = record.etag, record.last_modified
        if record.items is not None:
            row.items_last_poll = record.items
            row.dated_share = record.dated_share
            row.layout_fingerprint = record.fingerprint or row.layout_fingerprint
        if record.detected_kind:
            row.detected_kind = record.detected_kind
    if record.found_new:
        row.last_new_at = now
    if record.status in ("blocked", "failing"):
        row.last_error = record.reason[:2000]
    elif healthy:
        row.last_error = ""
    return previous


def record_renders(
    session: Session, source_id: int, rendered: int, failed: int, *, list_rendered: bool | None
) -> None:
    """Count pages rendered for a source; ``list_rendered`` (a poll that read its list: did it
    need the browser?) extends or ends the streak of rendered polls, None leaves it."""
    row = session.get(SourceRow, source_id)
    if row is None:
        return
    row.renders = (row.renders or 0) + rendered
    row.render_failures = (row.render_failures or 0) + failed
    if list_rendered is not None:
        row.render_streak = (row.render_streak or 0) + 1 if list_rendered else 0


def source_activity(session: Session, source_id: int) -> tuple[datetime | None, datetime]:
    """When the source last showed something new — its newest listed article's publication
    (else first-seen) time, or the last poll that found a new article, whichever is later —
    and when it was first configured (herald has watched it since)."""
    row = session.get(SourceRow, source_id)
    assert row is not None
    newest = session.scalar(
        select(func.max(ArticleSourceRow.newest_at)).where(ArticleSourceRow.source_id == source_id)
    )
    seen = [moment for moment in (newest, row.last_new_at) if moment is not None]
    return (max(seen) if seen else None), row.created_at


def source_has_articles(session: Session, source_id: int) -> bool:
    found = session.scalar(select(ArticleRow.id).where(ArticleRow.source_id == source_id).limit(1))
    return found is not None
