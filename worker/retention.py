"""Stage: retention. What the store no longer needs goes, in batches of ``BATCH`` rows, each its
own short transaction: delivered deliveries after ``[retention] delivered``, failed ones after
``failed`` (attempts with them), article versions beyond the newest ``article_versions``, digests
after ``digests``. Ages are measured on the database's clock. ``herald.prune`` runs it daily;
``herald prune [--dry-run]`` runs it now or counts what it would remove.

It must not remove pending or sending deliveries, articles, sources or subscribers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select
from sqlalchemy.orm import Session

from worker.runtime import Runtime
from worker.store.clock import db_now
from worker.store.retention import (
    count,
    count_attempts,
    ended_deliveries,
    old_digests,
    old_versions,
    remove_deliveries,
    remove_digests,
    remove_versions,
)

log = logging.getLogger(__name__)

BATCH = 1000


@dataclass
class PruneReport:
    """Rows removed (or, in a dry run, that would be)."""

    delivered: int = 0
    failed: int = 0
    attempts: int = 0
    article_versions: int = 0
    digests: int = 0

    @property
    def total(self) -> int:
        return self.delivered + self.failed + self.attempts + self.article_versions + self.digests


def prune(rt: Runtime, *, dry_run: bool = False, batch: int = BATCH) -> PruneReport:
    """Remove what the retention settings say has been kept long enough (see the module)."""
    keep = rt.config.retention
    with rt.session() as session:
        now = db_now(session)
    report = PruneReport()
    for status, seconds in (("delivered", keep.delivered), ("failed", keep.failed)):
        if seconds:
            removed, attempts = _deliveries(rt, ended_deliveries(status, _ago(now, seconds)),
                                            dry_run=dry_run, batch=batch)  # fmt: skip
            setattr(report, status, removed)
            report.attempts += attempts
    report.article_versions = _rows(
        rt, old_versions(keep.article_versions),
        lambda session: remove_versions(session, keep.article_versions, batch),
        dry_run=dry_run, batch=batch,
    )  # fmt: skip
    if keep.digests:
        cutoff = _ago(now, keep.digests)
        report.digests = _rows(rt, old_digests(cutoff),
                               lambda session: remove_digests(session, cutoff, batch),
                               dry_run=dry_run, batch=batch)  # fmt: skip
    if report.total and not dry_run:
        log.info("prune: removed %s", report)
    return report


def _ago(now: datetime, seconds: float) -> datetime:
    return now - timedelta(seconds=seconds)


def _deliveries(rt: Runtime, query: Select[int], *, dry_run: bool, batch: int) -> tuple[int, int]:
    if dry_run:
        with rt.session() as session:
            return count(session, query), count_attempts(session, query)
    removed = attempts = 0
    while True:
        with rt.session() as session:
            rows, their_attempts = remove_deliveries(session, query, batch)
        removed, attempts = removed + rows, attempts + their_attempts
        if rows < batch:
            return removed, attempts


def _rows(
    rt: Runtime,
    query: Select[int],
    remove: Callable[[Session], int],
    *,
    dry_run: bool,
    batch: int,
) -> int:
    if dry_run:
        with rt.session() as session:
            return count(session, query)
    removed = 0
    while True:
        with rt.session() as session:
            rows = remove(session)
        removed += rows
        if rows < batch:
            return removed
