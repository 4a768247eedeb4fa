"""What the web pages and ``/metrics`` read: per-source overviews, poll counts, ledger figures.

Each function takes a Session; the caller owns the transaction. Only ``count_poll`` writes (one
row of ``poll_stats``); everything else reads. This module must not fetch or send anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from worker.models import Article
from worker.store._sql import insert_for
from worker.store.articles import recent_articles
from worker.store.clock import db_now
from worker.store.counters import get_counter
from worker.store.tables import (
    ArticleRow,
    ArticleSourceRow,
    DeliveryRow,
    PendingItemRow,
    PollStatRow,
    SourceRow,
    SubscriberRow,
)


def count_poll(session: Session, source_id: int, outcome: str, fetch_seconds: float) -> None:
    """Add one poll of ``source_id`` ending in ``outcome`` that spent ``fetch_seconds``."""
    seconds = max(0.0, fetch_seconds)
    statement = insert_for(session)(PollStatRow).values(
        source_id=source_id, outcome=outcome, polls=1, fetch_seconds=seconds
    )
    session.execute(statement.on_conflict_do_update(
        index_elements=["source_id", "outcome"],
        set_={"polls": PollStatRow.polls + 1, "fetch_seconds": PollStatRow.fetch_seconds + seconds},
    ))  # fmt: skip


def all_sources(session: Session) -> list[SourceRow]:
    """Every stored source, by name."""
    return list(session.scalars(select(SourceRow).order_by(SourceRow.name)))


def articles_per_source(session: Session) -> dict[int, int]:
    """Stored articles by the source that first listed them (its id)."""
    rows = session.execute(
        select(ArticleRow.source_id, func.count()).group_by(ArticleRow.source_id)
    )
    return {int(source_id): int(count) for source_id, count in rows}


@dataclass(frozen=True)
class SourceOverview:
    """One stored source as the index page shows it."""

    name: str
    kind: str
    detected_kind: str
    status: str
    enabled: bool
    articles: int
    last_success_at: datetime | None
    latest: Article | None
    rendered_polls: int = 0  # polls in a row whose list needed headless Chromium


def source_overviews(session: Session) -> dict[str, SourceOverview]:
    """Every stored source by name, with its article count and its newest article."""
    counts = dict(
        session.execute(
            select(ArticleSourceRow.source_id, func.count()).group_by(ArticleSourceRow.source_id)
        ).all()
    )
    found: dict[str, SourceOverview] = {}
    for row in session.scalars(select(SourceRow).order_by(SourceRow.name)):
        latest = recent_articles(session, limit=1, source_names=[row.name])
        found[row.name] = SourceOverview(
            row.name, row.kind, row.detected_kind, row.status, row.enabled,
            int(counts.get(row.id, 0)), row.last_success_at, latest[0] if latest else None,
            int(row.render_streak or 0),
        )  # fmt: skip
    return found


def sources_with_articles(session: Session, names: Iterable[str]) -> set[str]:
    """Which of the sources ``names`` have at least one stored article."""
    wanted = list(names)
    if not wanted:
        return set()
    linked = select(ArticleSourceRow.article_id).where(ArticleSourceRow.source_id == SourceRow.id)
    query = select(SourceRow.name).where(SourceRow.name.in_(wanted), linked.exists())
    return set(session.scalars(query))


@dataclass(frozen=True)
class Figures:
    """The numbers ``/metrics`` exposes, read in one transaction."""

    articles_by_source: Mapping[str, int]
    polls: Mapping[tuple[str, str], tuple[int, float]]  # (source, outcome) → (polls, seconds)
    deliveries: Mapping[tuple[str, str], int]  # (channel, status) → rows
    ledger_lag: float  # seconds the oldest due delivery has waited (0 when none is due)
    ingest_lag: float  # the same for the ingest ledger
    sources_by_status: Mapping[str, int]
    counters: Mapping[str, int] = field(default_factory=dict)
    renders: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    # source → (pages rendered, renders failed, polls in a row that needed the browser)


def read_figures(session: Session, counter_names: tuple[str, ...]) -> Figures:
    """Read every figure of :class:`Figures` (``counter_names``: named counters to include)."""
    by_source = session.execute(
        select(SourceRow.name, func.count(ArticleSourceRow.article_id))
        .join(ArticleSourceRow, ArticleSourceRow.source_id == SourceRow.id, isouter=True)
        .group_by(SourceRow.name)
    )
    polls = session.execute(
        select(
            SourceRow.name, PollStatRow.outcome, PollStatRow.polls, PollStatRow.fetch_seconds
        ).join(SourceRow, SourceRow.id == PollStatRow.source_id)
    )
    deliveries = session.execute(
        select(SubscriberRow.channel, DeliveryRow.status, func.count())
        .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
        .group_by(SubscriberRow.channel, DeliveryRow.status)
    )
    now = db_now(session)
    oldest_delivery = session.scalar(
        select(func.min(DeliveryRow.next_attempt_at)).where(
            DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now
        )
    )
    oldest_item = session.scalar(
        select(func.min(PendingItemRow.next_attempt_at)).where(
            PendingItemRow.status == "pending", PendingItemRow.next_attempt_at <= now
        )
    )
    statuses = session.execute(
        select(SourceRow.status, SourceRow.enabled, func.count())
        .group_by(SourceRow.status, SourceRow.enabled)
    )  # fmt: skip
    renders = session.execute(
        select(SourceRow.name, SourceRow.renders, SourceRow.render_failures,
               SourceRow.render_streak)
    )  # fmt: skip
    by_status: dict[str, int] = {}
    for status, enabled, count in statuses:
        key = status if enabled else "disabled"
        by_status[key] = by_status.get(key, 0) + int(count)
    return Figures(
        articles_by_source={name: int(count) for name, count in by_source},
        polls={(name, outcome): (int(n), float(s)) for name, outcome, n, s in polls},
        deliveries={(channel, status): int(count) for channel, status, count in deliveries},
        ledger_lag=_age(now, oldest_delivery),
        ingest_lag=_age(now, oldest_item),
        sources_by_status=by_status,
        counters={name: get_counter(session, name) for name in counter_names},
        renders={name: (int(ok or 0), int(bad or 0), int(streak or 0))
                 for name, ok, bad, streak in renders},
    )  # fmt: skip


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


def database_answers(session: Session) -> None:
    """Raise if the database does not answer a trivial query (``/healthz``)."""
    session.execute(select(1)).one()
