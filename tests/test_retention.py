"""Retention on SQLite and PostgreSQL: ``herald prune [--dry-run]`` and the ``herald.prune``
stage remove ended deliveries (with their attempts) past their age, article versions beyond
the newest few, and digests past their age (with their queue rows), in batches; pending and
sending deliveries, articles and the rest stay. Pruning keeps the deliveries table bounded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select, update

from tests.conftest import site_source, webhook_subscriber, write_config
from worker.cli import main
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.retention import prune
from worker.runtime import Runtime, build_runtime
from worker.store.deliveries import store_event
from worker.store.tables import (
    ArticleRow,
    ArticleVersionRow,
    AttemptRow,
    DeliveryRow,
    DigestQueueRow,
    DigestRow,
    EventRow,
    SubscriberRow,
)

RETENTION = """
[retention]
delivered = "30d"
failed = "90d"
article_versions = 3
digests = "365d"
"""
DAY = timedelta(days=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'herald.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture()
def stocked(tmp_path: Path, database_url: str) -> Iterator[tuple[Path, Runtime]]:
    """A store a real pass filled (a source, a webhook subscriber, 3 delivered articles)."""
    with DemoSite(articles=3, page_size=10) as site, WebhookReceiver() as hook:
        path = write_config(
            tmp_path, sources=site_source(site, notify_existing=True),
            subscribers=webhook_subscriber(hook.url()), database_url=database_url,
            extra=RETENTION,
        )  # fmt: skip
        ran = CliRunner().invoke(main, ["--config", str(path), "run", "--once"])
        assert ran.exit_code == 0, ran.output
        assert len(hook.messages()) == 3
    rt = build_runtime(load_config(path))
    yield path, rt
    rt.close()


def add_deliveries(rt: Runtime, rows: list[dict[str, Any]], attempts: int = 2) -> None:
    """Ledger rows as they are given; a row's event is its own unless it names one (``event``:
    rows of the same subscriber sharing an event row, as rows of several subscribers do)."""
    with rt.session() as session:
        subscriber = session.scalar(select(SubscriberRow.id))
        values = []
        for i, row in enumerate(rows):
            key = f"test:{i}:{row['created_at'].timestamp()}:{row['status']}"
            event = row.pop("event", key)
            ref = store_event(session, event, "herald.test", {}, row["created_at"])
            values.append({"event_id": f"evt_{i}_{row['created_at'].timestamp()}_{row['status']}",
                           "event_key": key, "event_type": "herald.test", "event_ref": ref,
                           "subscriber_id": subscriber, **row})  # fmt: skip
        ids = session.scalars(insert(DeliveryRow).returning(DeliveryRow.id), values).all()
        tried = [
            {"delivery_id": delivery, "attempted_at": row["created_at"], "outcome": "retry"}
            for delivery, row in zip(ids, rows, strict=True)
            for _ in range(attempts)
        ]
        if tried:
            session.execute(insert(AttemptRow), tried)


def ended(status: str, when: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {"status": status, "created_at": when, "next_attempt_at": when}
    if status == "delivered":
        row["delivered_at"] = when + timedelta(seconds=3)
    return row


def counts(rt: Runtime) -> dict[str, int]:
    with rt.session() as session:

        def n(table: Any, *where: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(table).where(*where)))

        return {
            "delivered": n(DeliveryRow, DeliveryRow.status == "delivered"),
            "failed": n(DeliveryRow, DeliveryRow.status == "failed"),
            "pending": n(DeliveryRow, DeliveryRow.status == "pending"),
            "attempts": n(AttemptRow),
            "versions": n(ArticleVersionRow),
            "digests": n(DigestRow),
            "queued": n(DigestQueueRow),
            "articles": n(ArticleRow),
            "events": n(EventRow),
        }


def test_prune_removes_what_is_past_its_time_and_nothing_else(
    stocked: tuple[Path, Runtime],
) -> None:
    path, rt = stocked
    now = datetime.now(UTC)
    add_deliveries(rt, [
        ended("delivered", now - 40 * DAY),
        {**ended("delivered", now - 31 * DAY), "event": "shared"},  # its event stays: the next
        {**ended("delivered", now - 29 * DAY), "event": "shared"},  # row still refers to it
        ended("failed", now - 100 * DAY),
        ended("failed", now - 60 * DAY),
        {"status": "pending", "created_at": now - 200 * DAY, "next_attempt_at": now},
    ])  # fmt: skip
    with rt.session() as session:
        article = session.scalar(select(ArticleRow.id).order_by(ArticleRow.id))
        session.execute(update(ArticleRow).where(ArticleRow.id == article).values(version=8))
        for version in range(1, 8):  # versions 1–7 kept; the newest 3 previous are 5, 6, 7
            session.execute(insert(ArticleVersionRow).values(
                article_id=article, version=version, title=f"v{version}", content_html="",
                content_hash=f"{version:064d}", recorded_at=now - (8 - version) * DAY,
            ))  # fmt: skip
        subscriber = session.scalar(select(SubscriberRow.id))
        for slot, age in (("old", 400), ("new", 10)):
            digest = session.execute(insert(DigestRow).values(
                subscriber_id=subscriber, slot=slot, key=slot, window_start=now - age * DAY,
                window_end=now - age * DAY, article_ids=[article], messages=[],
                created_at=now - age * DAY,
            )).inserted_primary_key[0]  # fmt: skip
            session.execute(insert(DigestQueueRow).values(
                subscriber_id=subscriber, article_id=article, digest_id=digest,
                created_at=now - age * DAY,
            ) if slot == "old" else insert(DigestQueueRow).values(
                subscriber_id=subscriber, article_id=article + 1, digest_id=digest,
                created_at=now - age * DAY,
            ))  # fmt: skip
    before = counts(rt)
    assert before["delivered"] == 3 + 3 and before["versions"] == 7 and before["digests"] == 2

    runner = CliRunner()
    dry = runner.invoke(main, ["--config", str(path), "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.strip() == (
        "would remove: 2 delivered and 1 failed deliveries (6 attempts), 4 article versions, "
        "1 digests"
    )
    assert counts(rt) == before  # a dry run removes nothing

    done = runner.invoke(main, ["--config", str(path), "prune"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("removed: 2 delivered and 1 failed deliveries (6 attempts)")
    after = counts(rt)
    assert after == {**before, "delivered": before["delivered"] - 2, "failed": before["failed"] - 1,
                     "attempts": before["attempts"] - 6, "versions": 3, "digests": 1,
                     "queued": before["queued"] - 1, "events": before["events"] - 2}  # fmt: skip
    with rt.session() as session:  # the shared event is kept for the row that still refers to it
        assert session.scalar(select(EventRow.id).where(EventRow.event_key == "shared"))
    with rt.session() as session:
        kept = sorted(session.scalars(select(ArticleVersionRow.version)))
    assert kept == [5, 6, 7]
    again = runner.invoke(main, ["--config", str(path), "prune"])
    assert again.output.startswith("removed: 0 delivered and 0 failed")


def test_pruning_keeps_the_deliveries_table_bounded(stocked: tuple[Path, Runtime]) -> None:
    """A year of 20 deliveries a day, arriving 15 days at a time and pruned after each (in
    batches of 7): the table never holds much more than the last 30 days."""
    _, rt = stocked
    start = datetime.now(UTC) - 360 * DAY
    sizes = []
    for day in range(0, 360, 15):
        batch = [ended("delivered", start + (day + d) * DAY + i * timedelta(hours=1))
                 for d in range(15) for i in range(20)]  # fmt: skip
        add_deliveries(rt, batch, attempts=1)
        prune(rt, batch=7)
        sizes.append(counts(rt)["delivered"])
    assert max(sizes) <= 30 * 20 + 3  # 30 days and the 3 real deliveries
    assert sizes[-1] >= 29 * 20  # what is within 30 days stays
    assert counts(rt)["attempts"] <= 30 * 20 + 3


def test_retention_settings_are_checked(tmp_path: Path) -> None:
    path = write_config(tmp_path, sources="", extra='[retention]\ndelivered = "forever"\n'
                        'failed = "3650d"\narticle_versions = 1\n')  # fmt: skip
    retention = load_config(path).retention
    assert (retention.delivered, retention.failed, retention.article_versions) == (
        0.0, 3650 * 86400.0, 1,
    )  # fmt: skip
    bad = write_config(tmp_path, sources="", extra='[retention]\ndelivered = "soon"\n')
    with pytest.raises(ValueError, match=r"retention\.delivered: expected a duration"):
        load_config(bad)
