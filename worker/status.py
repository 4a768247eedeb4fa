"""Read-only summary of herald's state for ``herald status``. It must not change anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from worker.breaker import BREAKER_OPENED
from worker.render.locate import describe_rendering
from worker.runtime import Runtime
from worker.store.counters import FEEDS_BUILT, FEEDS_GENERATION, get_counter
from worker.store.digests import digest_counts
from worker.store.due import delivery_counts
from worker.store.pending import pending_item_counts
from worker.store.stats import all_sources, articles_per_source
from worker.store.subscribers import suspended_subscribers
from worker.store.tables import SourceRow

EVERY_POLL = 3  # polls in a row that needed the browser before status says it always does


@dataclass(frozen=True)
class StatusReport:
    sources: list[tuple[str, ...]]
    pending: dict[str, int]
    deliveries: dict[str, int]
    feeds: str
    suspended: list[tuple[str, str]] = field(default_factory=list)  # (subscriber, reason)
    breaker_opened: int = 0
    digests: dict[str, int] = field(default_factory=dict)
    rendering: str = ""  # whether headless Chromium is available, in words


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _items(items: int, dated_share: float | None) -> str:
    if dated_share is None:
        return str(items)
    return f"{items} ({dated_share:.0%} dated)"


def _status(row: SourceRow) -> str:
    """``ok``, or ``ok (rendered)`` when the last poll's list needed the browser."""
    if not row.enabled:
        return "disabled"
    if row.render_streak and row.status in ("ok", "stale"):
        return f"{row.status} (rendered)"
    return row.status


def _reason(row: SourceRow) -> str:
    reason = row.status_reason or row.last_error
    if row.render_streak >= EVERY_POLL:
        every = (f"needs headless Chromium on every poll (the last {row.render_streak}): the "
                 "site challenges each time, or its list is built by script")  # fmt: skip
        reason = f"{reason}; {every}" if reason else every
    return reason


def collect_status(rt: Runtime) -> StatusReport:
    with rt.session() as session:
        counts = articles_per_source(session)
        rows: list[tuple[str, ...]] = [
            (
                row.name,
                f"{row.kind} → {row.detected_kind}" if row.detected_kind else row.kind,
                _status(row),
                str(counts.get(row.id, 0)),
                _items(row.items_last_poll, row.dated_share),
                _when(row.last_success_at),
                str(row.consecutive_failures),
                _when(row.next_poll_at),
                _reason(row),
            )
            for row in all_sources(session)
        ]
        generation = get_counter(session, FEEDS_GENERATION)
        built = get_counter(session, FEEDS_BUILT)
        stored = {row[0] for row in rows}
        rows += [
            (src.name, src.kind, "not started", "0", "—", "—", "0", "—", "")
            for src in rt.config.sources
            if src.name not in stored
        ]
        state = "up to date" if generation == built else "pending rebuild"
        feeds = f"{rt.config.herald.feeds_dir} ({state})"
        suspended = list(suspended_subscribers(session).items())
        return StatusReport(
            rows, pending_item_counts(session), delivery_counts(session), feeds, suspended,
            get_counter(session, BREAKER_OPENED), digest_counts(session),
            describe_rendering(rt.config.browser)[1],
        )  # fmt: skip
