"""The queries herald's stages run. Each takes a Session; the caller owns the transaction.

Rows are turned into ``worker.models`` objects at this boundary. This module must not fetch,
parse or send anything.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from worker.config import Config, SourceConfig, SubscriberConfig
from worker.models import Article, Attachment, Extracted
from worker.store.tables import (
    ArticleRow,
    ArticleSourceRow,
    ArticleVersionRow,
    AttemptRow,
    CounterRow,
    DeliveryRow,
    OutboxRow,
    PendingItemRow,
    SourceRow,
    SubscriberRow,
)

FEEDS_GENERATION = "feeds.generation"
FEEDS_BUILT = "feeds.built"
FEEDS_SCHEDULED = "feeds.scheduled"


# --- configuration → rows ----------------------------------------------------------------------


def sync_config(session: Session, config: Config, now: datetime) -> None:
    """Make the sources and subscribers tables match the config file (by name).

    Rows whose name left the config are disabled, never deleted: their articles and ledger stay.
    """
    _sync_sources(session, config.sources, now)
    _sync_subscribers(session, config.subscribers)


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


def _sync_subscribers(session: Session, subscribers: Sequence[SubscriberConfig]) -> None:
    rows = {row.name: row for row in session.scalars(select(SubscriberRow))}
    for sub in subscribers:
        row = rows.pop(sub.name, None)
        if row is None:
            row = SubscriberRow(name=sub.name, disabled_reason="")
            session.add(row)
        row.channel, row.url, row.secret, row.mode = sub.channel, sub.url, sub.secret, sub.mode
        row.sources = list(sub.sources)
        row.enabled = sub.enabled
        row.ops_alerts = sub.ops_alerts
        row.options = sub.options()
    for row in rows.values():
        row.enabled = False


# --- sources -------------------------------------------------------------------------------------


def source_by_name(session: Session, name: str) -> SourceRow | None:
    return session.scalar(select(SourceRow).where(SourceRow.name == name))


def claim_due_sources(
    session: Session, now: datetime, intervals: dict[str, float], *, force: bool = False
) -> list[SourceRow]:
    """Sources whose next poll is due; their next_poll_at moves one interval ahead (a claim)."""
    query = select(SourceRow).where(SourceRow.enabled.is_(True))
    if not force:
        query = query.where(or_(SourceRow.next_poll_at.is_(None), SourceRow.next_poll_at <= now))
    claimed = []
    for row in session.scalars(query.order_by(SourceRow.id)):
        interval = intervals.get(row.name)
        if interval is None:
            continue
        result = session.execute(
            update(SourceRow)
            .where(SourceRow.id == row.id, _same_or_null(SourceRow.next_poll_at, row.next_poll_at))
            .values(next_poll_at=now + timedelta(seconds=interval))
        )
        if _rowcount(result) == 1:
            claimed.append(row)
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


def record_poll(session: Session, source_id: int, record: PollRecord, *, now: datetime) -> str:
    """Store a poll's outcome on the source; returns the status the source had before."""
    row = session.get(SourceRow, source_id)
    assert row is not None
    previous = row.status
    row.last_polled_at = now
    row.next_poll_at = record.next_poll_at
    if record.status != previous:
        row.status, row.status_since = record.status, now
    row.status_reason = record.reason[:2000]
    row.consecutive_failures = 0 if record.status == "ok" else row.consecutive_failures + 1
    if record.succeeded:
        row.last_success_at = now
        row.etag, row.last_modified = record.etag, record.last_modified
        if record.items is not None:
            row.items_last_poll = record.items
            row.dated_share = record.dated_share
            row.layout_fingerprint = record.fingerprint or row.layout_fingerprint
        if record.detected_kind:
            row.detected_kind = record.detected_kind
    if record.status in ("blocked", "failing"):
        row.last_error = record.reason[:2000]
    elif record.status == "ok":
        row.last_error = ""
    return previous


def source_has_articles(session: Session, source_id: int) -> bool:
    found = session.scalar(select(ArticleRow.id).where(ArticleRow.source_id == source_id).limit(1))
    return found is not None


# --- articles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownArticle:
    id: int
    url: str
    guid: str
    first_seen_at: datetime
    linked: bool  # already listed by the source asking


def known_articles(
    session: Session, source_id: int, urls: Iterable[str], guids: Iterable[str] = ()
) -> dict[str, KnownArticle]:
    """Stored articles among ``urls`` (any source) or this source's ``guids``, by URL and guid.

    A guid only identifies an article within its own source: two feeds may both number
    their items 1, 2, 3.
    """
    url_list, guid_list = list(set(urls)), [g for g in set(guids) if g]
    rows: dict[int, ArticleRow] = {}
    for start in range(0, len(url_list), 500):
        query = select(ArticleRow).where(ArticleRow.url.in_(url_list[start : start + 500]))
        rows.update((row.id, row) for row in session.scalars(query))
    for start in range(0, len(guid_list), 500):
        query = select(ArticleRow).where(
            ArticleRow.source_id == source_id, ArticleRow.guid.in_(guid_list[start : start + 500])
        )
        rows.update((row.id, row) for row in session.scalars(query))
    linked = _linked_ids(session, source_id, list(rows))
    found: dict[str, KnownArticle] = {}
    for row in rows.values():
        known = KnownArticle(row.id, row.url, row.guid, row.first_seen_at, row.id in linked)
        found[row.url] = known
        if row.guid and row.source_id == source_id:
            found[row.guid] = known
    return found


def _linked_ids(session: Session, source_id: int, article_ids: list[int]) -> set[int]:
    linked: set[int] = set()
    for start in range(0, len(article_ids), 500):
        query = select(ArticleSourceRow.article_id).where(
            ArticleSourceRow.source_id == source_id,
            ArticleSourceRow.article_id.in_(article_ids[start : start + 500]),
        )
        linked.update(session.scalars(query))
    return linked


def link_article(session: Session, article_id: int, source_id: int, now: datetime) -> bool:
    """Record that ``source_id`` lists the article; True when that is news."""
    statement = (
        _insert_for(session)(ArticleSourceRow)
        .values(article_id=article_id, source_id=source_id, linked_at=now)
        .on_conflict_do_nothing()
        .returning(ArticleSourceRow.article_id)
    )  # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT here
    return session.scalar(statement) is not None


def content_hash(title: str, text: str) -> str:
    """What counts as a change: the title and the readable text, whitespace folded."""
    folded = " ".join(title.split()) + "\n" + " ".join(text.split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


ArticleOutcome = Literal["new", "changed", "unchanged"]


def upsert_article(
    session: Session,
    *,
    source_id: int,
    url: str,
    guid: str,
    extracted: Extracted,
    tags: Sequence[str],
    etag: str,
    last_modified: str,
    now: datetime,
) -> tuple[int, ArticleOutcome]:
    """Insert a new article, or bump the version of a changed one.

    Dedup by URL (any source), then by guid within the source. The source is linked to the
    article either way (see ``link_article``).
    """
    digest = content_hash(extracted.title, extracted.text)
    fields = _article_fields(extracted, guid, tags, etag, last_modified, digest)
    fields["checked_at"] = now
    same_guid = and_(
        ArticleRow.source_id == source_id, ArticleRow.guid == guid, ArticleRow.guid != ""
    )
    existing = session.scalar(
        select(ArticleRow).where(or_(ArticleRow.url == url, same_guid)).limit(1)
    )
    if existing is None:
        inserted = _insert_article(session, source_id, url, fields, now)
        if inserted is not None:
            link_article(session, inserted, source_id, now)
            return inserted, "new"
        existing = session.scalar(select(ArticleRow).where(ArticleRow.url == url))
        assert existing is not None
    link_article(session, existing.id, source_id, now)
    existing.checked_at = now
    if existing.content_hash == digest:
        existing.etag, existing.last_modified = etag, last_modified
        return existing.id, "unchanged"
    fields["tags"] = sorted(set(existing.tags or ()) | set(tags))
    session.add(
        ArticleVersionRow(
            article_id=existing.id,
            version=existing.version,
            title=existing.title,
            content_html=existing.content_html,
            content_hash=existing.content_hash,
            recorded_at=now,
        )
    )
    for key, value in fields.items():
        setattr(existing, key, value)
    existing.version += 1
    existing.updated_at = now
    return existing.id, "changed"


def _article_fields(
    extracted: Extracted,
    guid: str,
    tags: Sequence[str],
    etag: str,
    last_modified: str,
    digest: str,
) -> dict[str, Any]:
    published = extracted.published_at
    offset = None
    if published is not None and (delta := published.utcoffset()) is not None:
        offset = int(delta.total_seconds() // 60)
    return dict(
        guid=guid,
        title=extracted.title,
        author=extracted.author,
        published_at=published,
        published_offset=offset,
        summary=extracted.summary,
        content_html=extracted.content_html,
        text=extracted.text,
        images=list(extracted.images),
        attachments=[
            {"url": a.url, "title": a.title, "type": a.type} for a in extracted.attachments
        ],
        tags=list(tags),
        content_hash=digest,
        etag=etag,
        last_modified=last_modified,
    )


def _insert_article(
    session: Session, source_id: int, url: str, fields: dict[str, Any], now: datetime
) -> int | None:
    """INSERT … ON CONFLICT (url) DO NOTHING; None when another worker inserted it first."""
    values = dict(
        fields, source_id=source_id, url=url, version=1, first_seen_at=now, updated_at=now
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ArticleRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["url"])
        .returning(ArticleRow.id)
    )
    return session.scalar(statement)


def touch_article_validators(
    session: Session, article_id: int, etag: str, last_modified: str
) -> None:
    session.execute(
        update(ArticleRow)
        .where(ArticleRow.id == article_id)
        .values(etag=etag, last_modified=last_modified)
    )


def article_from_row(row: ArticleRow, source_name: str) -> Article:
    published = row.published_at
    if published is not None and row.published_offset is not None:
        published = published.astimezone(timezone(timedelta(minutes=row.published_offset)))
    return Article(
        id=row.id,
        source_name=source_name,
        url=row.url,
        guid=row.guid,
        title=row.title,
        author=row.author,
        published_at=published,
        summary=row.summary,
        content_html=row.content_html,
        text=row.text,
        images=tuple(row.images or ()),
        version=row.version,
        first_seen_at=row.first_seen_at,
        updated_at=row.updated_at,
        tags=tuple(row.tags or ()),
        attachments=tuple(Attachment(**a) for a in row.attachments or ()),
    )


def _articles_query() -> Select[ArticleRow, str]:
    return select(ArticleRow, SourceRow.name).join(SourceRow, SourceRow.id == ArticleRow.source_id)


def get_article(session: Session, article_id: int) -> Article | None:
    found = session.execute(_articles_query().where(ArticleRow.id == article_id)).first()
    return article_from_row(found[0], found[1]) if found else None


def recent_articles(
    session: Session, *, limit: int, source_name: str | None = None
) -> list[Article]:
    """Newest first by publication time (first-seen time when undated)."""
    newest = func.coalesce(ArticleRow.published_at, ArticleRow.first_seen_at)
    query = _articles_query().order_by(newest.desc(), ArticleRow.id.desc()).limit(limit)
    if source_name is not None:
        listed_by = (
            select(ArticleSourceRow.article_id)
            .join(SourceRow, SourceRow.id == ArticleSourceRow.source_id)
            .where(SourceRow.name == source_name)
        )
        query = query.where(ArticleRow.id.in_(listed_by))
    return [article_from_row(row, name) for row, name in session.execute(query)]


def mark_checked(session: Session, article_id: int, now: datetime) -> None:
    session.execute(update(ArticleRow).where(ArticleRow.id == article_id).values(checked_at=now))


def recheck_candidates(
    session: Session,
    source_id: int,
    *,
    now: datetime,
    window: timedelta,
    every: timedelta,
    limit: int = 50,
) -> list[ArticleRow]:
    """This source's recent articles not read again for ``every``: candidates for an edit check."""
    query = (
        select(ArticleRow)
        .where(
            ArticleRow.source_id == source_id,
            ArticleRow.first_seen_at >= now - window,
            func.coalesce(ArticleRow.checked_at, ArticleRow.first_seen_at) <= now - every,
        )
        .order_by(ArticleRow.first_seen_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))  # fmt: skip


# --- subscribers and the delivery ledger ---------------------------------------------------------


def new_event_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def ops_alert_subscribers(session: Session) -> list[SubscriberRow]:
    return list(
        session.scalars(
            select(SubscriberRow).where(
                SubscriberRow.enabled.is_(True), SubscriberRow.ops_alerts.is_(True)
            )
        )
    )


def instant_subscribers(session: Session, source_name: str) -> list[SubscriberRow]:
    rows = session.scalars(
        select(SubscriberRow).where(
            SubscriberRow.enabled.is_(True), SubscriberRow.mode.in_(("instant", "both"))
        )
    )
    return [row for row in rows if not row.sources or source_name in row.sources]


def create_deliveries(
    session: Session,
    *,
    event_key: str,
    event_type: str,
    payload: dict[str, Any],
    subscriber_ids: Sequence[int],
    article_id: int | None,
    now: datetime,
) -> list[int]:
    """One ledger row per subscriber for this event; an existing (subscriber, event) is kept."""
    if not subscriber_ids:
        return []
    rows = [
        dict(
            event_id=new_event_id(),
            event_key=event_key,
            event_type=event_type,
            subscriber_id=sub_id,
            article_id=article_id,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            enqueued_at=now,
            last_error="",
            created_at=now,
        )
        for sub_id in subscriber_ids
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(DeliveryRow)
        .on_conflict_do_nothing(index_elements=["subscriber_id", "event_key"])
        .returning(DeliveryRow.id)
    )
    return [int(i) for i in session.scalars(statement, rows)]


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    event_id: str
    event_type: str
    payload: dict[str, Any]
    attempts: int
    subscriber_name: str
    channel: str
    url: str
    secret: str
    options: dict[str, Any]


def claim_delivery(
    session: Session, delivery_id: int, *, now: datetime, lease: float, max_attempts: int
) -> ClaimedDelivery | None:
    """Take a due delivery for sending (status → sending, lease set); None if not ours to send.

    A delivery already claimed ``max_attempts`` times is parked as failed (a message that
    keeps killing its worker, or an exhausted schedule).
    """
    due = and_(
        DeliveryRow.id == delivery_id,
        DeliveryRow.next_attempt_at <= now,
        or_(
            DeliveryRow.status == "pending",
            and_(DeliveryRow.status == "sending", DeliveryRow.lease_until < now),
        ),
    )
    parked = session.execute(
        update(DeliveryRow)
        .where(due, DeliveryRow.attempts >= max_attempts)
        .values(
            status="failed",
            lease_until=None,
            last_error=f"parked after {max_attempts} attempts without a final outcome",
        )
    )
    if _rowcount(parked):
        return None
    result = session.execute(
        update(DeliveryRow)
        .where(due)
        .values(
            status="sending",
            lease_until=now + timedelta(seconds=lease),
            attempts=DeliveryRow.attempts + 1,
        )
    )
    if _rowcount(result) != 1:
        return None
    found = session.execute(
        select(DeliveryRow, SubscriberRow)
        .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
        .where(DeliveryRow.id == delivery_id)
    ).one()
    row, sub = found
    if not sub.enabled:
        row.status, row.lease_until = "pending", None
        row.attempts -= 1
        return None
    return ClaimedDelivery(
        row.id,
        row.event_id,
        row.event_type,
        dict(row.payload),
        row.attempts,
        sub.name,
        sub.channel,
        sub.url,
        sub.secret,
        dict(sub.options or {}),
    )


def delivery_subscriber_name(session: Session, delivery_id: int) -> str | None:
    return session.scalar(
        select(SubscriberRow.name)
        .join(DeliveryRow, DeliveryRow.subscriber_id == SubscriberRow.id)
        .where(DeliveryRow.id == delivery_id)
    )


def delivery_subscriber(session: Session, delivery_id: int) -> SubscriberRow | None:
    return session.scalar(
        select(SubscriberRow)
        .join(DeliveryRow, DeliveryRow.subscriber_id == SubscriberRow.id)
        .where(DeliveryRow.id == delivery_id)
    )


def defer_delivery(session: Session, delivery_id: int, *, until: datetime) -> None:
    """Move a waiting delivery's next attempt later without counting an attempt."""
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, DeliveryRow.status == "pending")
        .values(next_attempt_at=until, enqueued_at=None)
    )


def record_attempt(
    session: Session,
    delivery_id: int,
    *,
    now: datetime,
    outcome: str,
    http_status: int | None,
    latency_ms: float,
    error: str,
    response_excerpt: str,
    next_attempt_at: datetime | None,
) -> None:
    """Store one attempt and move the delivery on: delivered, pending (retry) or failed."""
    session.add(
        AttemptRow(
            delivery_id=delivery_id,
            attempted_at=now,
            outcome=outcome,
            http_status=http_status,
            latency_ms=latency_ms,
            error=error[:2000],
            response_excerpt=response_excerpt[:500],
        )
    )
    values: dict[str, Any] = dict(
        last_status=http_status, last_error=error[:2000], lease_until=None
    )
    if outcome == "delivered":
        values.update(status="delivered", delivered_at=now)
    elif outcome == "retry" and next_attempt_at is not None:
        values.update(status="pending", next_attempt_at=next_attempt_at, enqueued_at=None)
    else:
        values.update(status="failed")
    session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values))


def claim_due_deliveries(
    session: Session, now: datetime, *, requeue_after: float, limit: int
) -> list[int]:
    """Due deliveries not enqueued recently (or whose lease ran out); marks them enqueued now."""
    stale = now - timedelta(seconds=requeue_after)
    query = (
        select(DeliveryRow.id)
        .where(
            DeliveryRow.next_attempt_at <= now,
            or_(
                and_(
                    DeliveryRow.status == "pending",
                    or_(DeliveryRow.enqueued_at.is_(None), DeliveryRow.enqueued_at <= stale),
                ),
                and_(DeliveryRow.status == "sending", DeliveryRow.lease_until < now),
            ),
        )
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
        .limit(limit)
    )
    ids = list(session.scalars(query))
    if ids:
        session.execute(update(DeliveryRow).where(DeliveryRow.id.in_(ids)).values(enqueued_at=now))
    return ids


def delivery_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status))
    return {status: int(count) for status, count in rows}


# --- counters (feeds generation) -----------------------------------------------------------------


def get_counter(session: Session, name: str) -> int:
    return int(session.scalar(select(CounterRow.value).where(CounterRow.name == name)) or 0)


def bump_counter(session: Session, name: str) -> None:
    result = session.execute(
        update(CounterRow).where(CounterRow.name == name).values(value=CounterRow.value + 1)
    )
    if _rowcount(result) == 0:
        set_counter(session, name, 1)


def set_counter(session: Session, name: str, value: int) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CounterRow).values(name=name, value=value)
    session.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"value": value}))


def claim_counter_slot(session: Session, name: str, now: datetime, spacing: float) -> bool:
    """True for at most one caller per ``spacing`` seconds (a debounce shared by all workers)."""
    stamp = int(now.timestamp() * 1000)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(CounterRow).values(name=name, value=0).on_conflict_do_nothing())
    result = session.execute(
        update(CounterRow)
        .where(CounterRow.name == name, CounterRow.value <= stamp - int(spacing * 1000))
        .values(value=stamp)
    )
    return _rowcount(result) == 1


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


# --- the ingest ledger (pending items) -----------------------------------------------------------


def queue_items(
    session: Session,
    source_id: int,
    entries: Sequence[tuple[dict[str, Any], int | None]],
    *,
    notify: bool,
    now: datetime,
) -> list[int]:
    """Record discovered items to ingest; an item already waiting is not queued twice."""
    if not entries:
        return []
    rows = [
        dict(
            source_id=source_id,
            url=item["url"],
            item=item,
            known_article_id=known_id,
            notify=notify,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            enqueued_at=now,
            last_error="",
            created_at=now,
        )
        for item, known_id in entries
    ]
    ids: list[int] = []
    for row in rows:  # one statement per row: RETURNING with ON CONFLICT DO UPDATE … WHERE
        statement = _insert_for(session)(PendingItemRow).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=["url"],
            set_={
                "status": "pending", "attempts": 0, "next_attempt_at": now, "enqueued_at": now,
                "lease_until": None, "item": statement.excluded.item,
                "source_id": statement.excluded.source_id,
                "known_article_id": statement.excluded.known_article_id,
                "notify": statement.excluded.notify,
            },
            where=PendingItemRow.status == "failed",  # a parked item seen again gets a new chance
        ).returning(PendingItemRow.id)  # fmt: skip
        ids.extend(int(i) for i in session.scalars(statement))
    return ids


def _insert_for(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def claim_pending_item(
    session: Session, pending_id: int, *, now: datetime, lease: float, max_attempts: int
) -> PendingItemRow | None:
    """Take a waiting item for ingesting (lease set); None if it is gone or someone has it.

    An item already tried ``max_attempts`` times without an outcome (its worker died each
    time) is parked as failed instead: a poison message must not loop for ever.
    """
    due = and_(
        PendingItemRow.id == pending_id,
        PendingItemRow.status == "pending",
        PendingItemRow.next_attempt_at <= now,
        or_(PendingItemRow.lease_until.is_(None), PendingItemRow.lease_until < now),
    )
    parked = session.execute(
        update(PendingItemRow)
        .where(due, PendingItemRow.attempts >= max_attempts)
        .values(
            status="failed",
            lease_until=None,
            last_error=f"parked after {max_attempts} attempts without an outcome",
        )
    )
    if _rowcount(parked):
        return None
    result = session.execute(
        update(PendingItemRow)
        .where(due)
        .values(lease_until=now + timedelta(seconds=lease), attempts=PendingItemRow.attempts + 1)
    )
    if _rowcount(result) != 1:
        return None
    return session.get(PendingItemRow, pending_id)


def finish_pending_item(session: Session, pending_id: int) -> None:
    session.execute(delete(PendingItemRow).where(PendingItemRow.id == pending_id))


def fail_pending_item(
    session: Session, pending_id: int, *, error: str, retry_at: datetime | None
) -> None:
    """Retry later, or (``retry_at`` None) park it as failed with the reason."""
    values: dict[str, Any] = dict(last_error=error[:2000], lease_until=None, enqueued_at=None)
    if retry_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    session.execute(update(PendingItemRow).where(PendingItemRow.id == pending_id).values(**values))


def claim_due_pending_items(
    session: Session, now: datetime, *, requeue_after: float, limit: int
) -> list[int]:
    """Waiting items not enqueued recently (or whose lease ran out); marks them enqueued now."""
    stale = now - timedelta(seconds=requeue_after)
    query = (
        select(PendingItemRow.id)
        .where(
            PendingItemRow.status == "pending",
            PendingItemRow.next_attempt_at <= now,
            or_(PendingItemRow.enqueued_at.is_(None), PendingItemRow.enqueued_at <= stale),
            or_(PendingItemRow.lease_until.is_(None), PendingItemRow.lease_until < now),
        )
        .order_by(PendingItemRow.id)
        .limit(limit)
    )
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(PendingItemRow).where(PendingItemRow.id.in_(ids)).values(enqueued_at=now)
        )
    return ids


def pending_item_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(PendingItemRow.status, func.count()).group_by(PendingItemRow.status)
    )
    return {status: int(count) for status, count in rows}


# --- chat outbox and rate windows -----------------------------------------------------------


def add_to_outbox(
    session: Session, subscriber_ids: Sequence[int], article_id: int, now: datetime
) -> None:
    """Articles waiting to be folded into each chat subscriber's next message (never twice)."""
    for subscriber_id in subscriber_ids:
        statement = (
            _insert_for(session)(OutboxRow)
            .values(subscriber_id=subscriber_id, article_id=article_id, created_at=now)
            .on_conflict_do_nothing()
        )
        session.execute(statement)


def take_outbox(session: Session, subscriber_id: int, now: datetime) -> list[tuple[int, int]]:
    """Mark and return this subscriber's waiting (outbox id, article id), oldest first.

    The UPDATE … RETURNING makes two concurrent flushes take disjoint rows; the rows stay (and
    their ids are never reused), so the (subscriber, article) key keeps an article from being
    queued for the same subscriber again.
    """
    statement = (
        update(OutboxRow)
        .where(OutboxRow.subscriber_id == subscriber_id, OutboxRow.flushed_at.is_(None))
        .values(flushed_at=now)
        .returning(OutboxRow.id, OutboxRow.article_id)
    )
    return sorted((int(a), int(b)) for a, b in session.execute(statement))


def outbox_subscribers(session: Session) -> list[SubscriberRow]:
    waiting = select(OutboxRow.subscriber_id).where(OutboxRow.flushed_at.is_(None)).distinct()
    return list(
        session.scalars(
            select(SubscriberRow).where(
                SubscriberRow.id.in_(waiting), SubscriberRow.enabled.is_(True)
            )
        )
    )


def attempts_since(session: Session, subscriber_id: int, since: datetime) -> list[datetime]:
    """When this subscriber's endpoint was sent to since ``since`` (for its rate windows)."""
    query = (
        select(AttemptRow.attempted_at)
        .join(DeliveryRow, DeliveryRow.id == AttemptRow.delivery_id)
        .where(DeliveryRow.subscriber_id == subscriber_id, AttemptRow.attempted_at >= since)
        .order_by(AttemptRow.attempted_at)
    )
    return list(session.scalars(query))
