"""The ledger's promises, on SQLite and PostgreSQL: lost messages are found again by the sweep,
leases run out, poison rows are parked, concurrent claims never double, sources share articles."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import SECRET, site_source, webhook_subscriber, write_config
from worker import deliver as deliver_stage
from worker import ingest as ingest_stage
from worker import poll as poll_stage
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.runtime import Runtime, build_runtime
from worker.store.articles import recent_articles, upsert_article
from worker.store.ledger import claim_delivery, claim_pending_item, fail_pending_item
from worker.store.sources import source_by_name
from worker.store.tables import DeliveryRow, PendingItemRow, SourceRow, SubscriberRow
from worker.sweep import find_due_work
from worker.tasks import prepare_database


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return "sqlite:///herald.db"
    return str(request.getfixturevalue("postgres_url"))


def _runtime(directory: Path, database_url: str, sources: str, subscribers: str) -> Runtime:
    path = write_config(
        directory, sources=sources, subscribers=subscribers, database_url=database_url
    )
    rt = build_runtime(load_config(path))
    prepare_database(rt)
    return rt


@pytest.fixture()
def rt(
    tmp_path: Path, database_url: str, site: DemoSite, receiver: WebhookReceiver
) -> Iterator[Runtime]:
    runtime = _runtime(
        tmp_path,
        database_url,
        site_source(site, backfill=2, notify_existing=True),
        webhook_subscriber(receiver.url()),
    )
    yield runtime
    runtime.close()


def _source_id(rt: Runtime, name: str = "cases") -> int:
    with rt.session() as session:
        row = source_by_name(session, name)
        assert row is not None
        return row.id


def test_lost_messages_are_found_again_by_the_sweep(rt: Runtime, receiver: WebhookReceiver) -> None:
    now = datetime.now(UTC)
    report = poll_stage.poll_source(rt, _source_id(rt), now=now)
    assert len(report.queued) == 15  # rows written; their broker messages never sent
    assert find_due_work(rt, now=now).pending_items == []  # enqueued just now
    later = now + timedelta(seconds=rt.config.delivery.requeue_after + 1)
    due = find_due_work(rt, now=later)
    assert sorted(due.pending_items) == sorted(report.queued)
    deliveries = [
        d for pid in due.pending_items for d in ingest_stage.ingest_item(rt, pid).deliveries
    ]
    assert len(deliveries) == 15
    # the deliver messages are lost too: the next sweep hands them out again
    much_later = later + timedelta(seconds=rt.config.delivery.requeue_after + 1)
    again = find_due_work(rt, now=much_later).deliveries
    assert sorted(again) == sorted(deliveries)
    deliver_stage.deliver_batch(rt, again)
    assert len(receiver.unique_ids()) == 15 and receiver.duplicates() == 0


def test_a_dead_workers_lease_runs_out_and_the_same_id_is_sent(
    rt: Runtime, receiver: WebhookReceiver
) -> None:
    now = datetime.now(UTC)
    report = poll_stage.poll_source(rt, _source_id(rt), now=now)
    delivery_id = ingest_stage.ingest_item(rt, report.queued[0], now=now).deliveries[0]
    with rt.session() as session:  # a worker claims it and dies before recording anything
        claimed = claim_delivery(
            session, delivery_id, now=now, lease=60, max_attempts=deliver_stage.max_claims(rt)
        )
    assert claimed is not None
    assert deliver_stage.deliver_one(rt, delivery_id).status == "skipped"  # lease still held
    after = lambda: now + timedelta(seconds=61)  # noqa: E731
    assert find_due_work(rt, now=after()).deliveries == [delivery_id]
    assert deliver_stage.deliver_one(rt, delivery_id, clock=after).status == "delivered"
    assert receiver.unique_ids() == {claimed.event_id}


def test_poison_rows_are_parked(rt: Runtime) -> None:
    now = datetime.now(UTC)
    report = poll_stage.poll_source(rt, _source_id(rt), now=now)
    pending_id = report.queued[0]
    moment = now
    for _ in range(ingest_stage.MAX_CLAIMS):  # the worker dies every time
        with rt.session() as session:
            row = claim_pending_item(
                session, pending_id, now=moment, lease=1, max_attempts=ingest_stage.MAX_CLAIMS
            )
            assert row is not None
        moment += timedelta(seconds=2)
    assert ingest_stage.ingest_item(rt, pending_id, now=moment).outcome == "skipped"
    with rt.session() as session:
        parked = session.get(PendingItemRow, pending_id)
        assert parked is not None and parked.status == "failed"
        assert "parked after" in parked.last_error


def test_concurrent_claims_never_double(rt: Runtime) -> None:
    now = datetime.now(UTC)
    report = poll_stage.poll_source(rt, _source_id(rt), now=now)
    deliveries = ingest_stage.ingest_item(rt, report.queued[0], now=now).deliveries
    barrier = threading.Barrier(8)
    wins: list[int] = []

    def claim() -> None:
        barrier.wait()
        with rt.session() as session:
            got = claim_delivery(session, deliveries[0], now=now, lease=60, max_attempts=10)
        if got is not None:
            wins.append(got.id)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins == [deliveries[0]]


def test_a_parked_item_is_revived_when_seen_again(rt: Runtime, site: DemoSite) -> None:
    now = datetime.now(UTC)
    report = poll_stage.poll_source(rt, _source_id(rt), now=now)
    with rt.session() as session:
        fail_pending_item(session, report.queued[0], error="boom", retry_at=None)
    site.add_article()  # the list changes, the parked URL is listed again
    again = poll_stage.poll_source(rt, _source_id(rt), now=now + timedelta(seconds=1))
    assert report.queued[0] in again.queued
    with rt.session() as session:
        row = session.get(PendingItemRow, report.queued[0])
        assert row is not None and row.status == "pending" and row.attempts == 0


def test_an_article_in_two_sources_reaches_both_audiences_once(
    tmp_path: Path, database_url: str, site: DemoSite
) -> None:
    with WebhookReceiver(secret=SECRET) as first, WebhookReceiver(secret=SECRET) as second:
        rt = _runtime(
            tmp_path,
            database_url,
            site_source(site, name="a", notify_existing=True)
            + site_source(site, name="b", notify_existing=True),
            webhook_subscriber(first.url(), name="to-a", sources='["a"]')
            + webhook_subscriber(second.url(), name="to-b", sources='["b"]'),
        )
        now = datetime.now(UTC)
        for name in ("a", "b"):
            report = poll_stage.poll_source(rt, _source_id(rt, name), now=now)
            rows = list(report.deliveries)
            for pending_id in report.queued:
                rows += ingest_stage.ingest_item(rt, pending_id, now=now).deliveries
            deliver_stage.deliver_batch(rt, rows)
        assert len(first.unique_ids()) == 15 and len(second.unique_ids()) == 15
        assert first.duplicates() == 0 and second.duplicates() == 0
        with rt.session() as session:
            assert len(recent_articles(session, limit=100)) == 15
            assert len(recent_articles(session, limit=100, source_name="b")) == 15
        rt.close()


def test_guids_only_deduplicate_within_their_source(tmp_path: Path, database_url: str) -> None:
    from worker.models import Extracted

    rt = _runtime(tmp_path, database_url, "", "")
    now = datetime.now(UTC)
    with rt.session() as session:
        for name in ("x", "y"):
            session.add(SourceRow(name=name, url=f"http://{name}.test/", kind="feed"))
    ids = []
    with rt.session() as session:
        for name in ("x", "y"):
            source = source_by_name(session, name)
            assert source is not None
            text = f"{name} 的文章正文"
            extracted = Extracted(f"http://{name}.test/1", f"{name}-1", None, "", text, text, text)
            article_id, outcome = upsert_article(
                session, source_id=source.id, url=extracted.url, guid="1", extracted=extracted,
                tags=(), etag="", last_modified="", now=now,
            )  # fmt: skip
            ids.append((article_id, outcome))
    assert ids[0][1] == "new" and ids[1][1] == "new" and ids[0][0] != ids[1][0]
    rt.close()


def test_a_dead_endpoint_defers_its_other_rows_in_the_batch(
    rt: Runtime, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    with rt.session() as session:
        session.add(SubscriberRow(name="dead", channel="webhook", url=dead, mode="instant"))
    now = datetime.now(UTC)
    report = poll_stage.poll_source(rt, _source_id(rt), now=now)
    rows: list[int] = []
    for pending_id in report.queued[:3]:
        rows += ingest_stage.ingest_item(rt, pending_id, now=now).deliveries
    counts = deliver_stage.deliver_batch(rt, rows)
    # two requests in flight per endpoint ([delivery] per_endpoint = 2): both fail, the third
    # row is held back unsent until the endpoint's retry time
    assert counts == {"delivered": 3, "retry": 2, "deferred": 1}
    with rt.session() as session:
        waiting = session.query(DeliveryRow).filter(DeliveryRow.status == "pending").all()
        assert len(waiting) == 3 and len({row.next_attempt_at for row in waiting}) <= 2
        assert all(row.next_attempt_at >= now + timedelta(seconds=3) for row in waiting)
        assert sorted(row.attempts for row in waiting) == [0, 1, 1]
