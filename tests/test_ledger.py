"""The ledger's promises, on SQLite and PostgreSQL: lost messages are found again by the sweep,
leases run out, poison rows are parked, concurrent claims never double, sources share articles."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.conftest import site_source, webhook_subscriber, write_config
from worker import deliver as deliver_stage
from worker import ingest as ingest_stage
from worker import poll as poll_stage
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.runtime import Runtime, build_runtime
from worker.store.deliveries import ClaimedDelivery, claim_deliveries
from worker.store.pending import claim_pending_item, renew_pending_lease
from worker.store.sources import PollRecord, claim_due_sources, record_poll, source_by_name
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


def test_lost_messages_are_found_again_by_the_sweep(
    tmp_path: Path, database_url: str, site: DemoSite, receiver: WebhookReceiver
) -> None:
    rt = _runtime(
        tmp_path,
        database_url,
        site_source(site, backfill=2, notify_existing=True),
        '[delivery]\nrequeue_after = "1s"\n' + webhook_subscriber(receiver.url()),
    )
    try:
        report = poll_stage.poll_source(rt, _source_id(rt), now=datetime.now(UTC))
        assert len(report.queued) == 15  # rows written; their broker messages never sent
        assert find_due_work(rt).pending_items == []  # enqueued just now
        time.sleep(1.2)
        due = find_due_work(rt)
        assert sorted(due.pending_items) == sorted(report.queued)
        deliveries = [
            d for pid in due.pending_items for d in ingest_stage.ingest_item(rt, pid).deliveries
        ]
        assert len(deliveries) == 15
        # the deliver messages are lost too: the next sweep hands them out again
        time.sleep(1.2)
        again = find_due_work(rt).deliveries
        assert sorted(again) == sorted(deliveries)
        deliver_stage.deliver_batch(rt, again)
        assert len(receiver.unique_ids()) == 15 and receiver.duplicates() == 0
    finally:
        rt.close()


def _claim(rt: Runtime, ids: list[int], *, lease: float, token: str) -> list[ClaimedDelivery]:
    with rt.session() as session:
        _, claimed = claim_deliveries(
            session, ids, lease=lease, token=token, max_attempts=deliver_stage.max_claims(rt)
        )
    return claimed


def test_a_dead_workers_lease_runs_out_and_the_same_id_is_sent(
    rt: Runtime, receiver: WebhookReceiver
) -> None:
    now = datetime.now(UTC)
    report = poll_stage.poll_source(rt, _source_id(rt), now=now)
    delivery_id = ingest_stage.ingest_item(rt, report.queued[0], now=now).deliveries[0]
    # a worker claims it and dies before recording anything
    claimed = _claim(rt, [delivery_id], lease=1.0, token="dead-worker")
    assert [c.id for c in claimed] == [delivery_id]
    assert deliver_stage.deliver_batch(rt, [delivery_id]) == {"skipped": 1}  # lease still held
    assert find_due_work(rt).deliveries == []
    time.sleep(1.1)  # the lease runs out (the database's clock)
    assert find_due_work(rt).deliveries == [delivery_id]
    assert deliver_stage.deliver_batch(rt, [delivery_id]) == {"delivered": 1}
    assert receiver.unique_ids() == {claimed[0].event_id}


def test_poison_rows_are_parked(rt: Runtime) -> None:
    now = datetime.now(UTC)
    report = poll_stage.poll_source(rt, _source_id(rt), now=now)
    pending_id = report.queued[0]
    for attempt in range(ingest_stage.MAX_CLAIMS):  # the worker dies every time
        with rt.session() as session:
            row = claim_pending_item(
                session, pending_id, lease=0.05, token=f"dies-{attempt}",
                max_attempts=ingest_stage.MAX_CLAIMS,
            )  # fmt: skip
            assert row is not None
        time.sleep(0.06)  # its lease runs out
    assert ingest_stage.ingest_item(rt, pending_id).outcome == "skipped"
    with rt.session() as session:
        parked = session.get(PendingItemRow, pending_id)
        assert parked is not None and parked.status == "failed"
        assert "parked after" in parked.last_error


def test_an_item_being_ingested_is_not_taken_by_another_worker(rt: Runtime) -> None:
    """While one worker reads a slow article page, its lease is renewed: another worker's
    claim of the same item finds it held, however long the read takes."""
    report = poll_stage.poll_source(rt, _source_id(rt), now=datetime.now(UTC))
    pending_id = report.queued[0]
    with rt.session() as session:
        assert claim_pending_item(session, pending_id, lease=60, token="a", max_attempts=9)
        assert claim_pending_item(session, pending_id, lease=60, token="b", max_attempts=9) is None
        assert renew_pending_lease(session, pending_id, "a", lease=60)
        assert not renew_pending_lease(session, pending_id, "b", lease=60)


def test_concurrent_claims_never_double(rt: Runtime) -> None:
    now = datetime.now(UTC)
    report = poll_stage.poll_source(rt, _source_id(rt), now=now)
    deliveries = ingest_stage.ingest_item(rt, report.queued[0], now=now).deliveries
    barrier = threading.Barrier(8)
    wins: list[int] = []

    def claim(token: str) -> None:
        barrier.wait()
        wins.extend(c.id for c in _claim(rt, deliveries[:1], lease=60, token=token))

    threads = [threading.Thread(target=claim, args=(f"worker-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins == [deliveries[0]]


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
        assert len(waiting) == 3
        held = next(row for row in waiting if row.attempts == 0)
        retried = [row.next_attempt_at for row in waiting if row.attempts == 1]
        # held back until the endpoint's retry time (its wait counted from when it was given back)
        assert min(abs((held.next_attempt_at - at).total_seconds()) for at in retried) < 1.0
        assert all(row.next_attempt_at >= now + timedelta(seconds=3) for row in waiting)
        assert sorted(row.attempts for row in waiting) == [0, 1, 1]


def test_a_source_due_before_the_next_sweep_is_polled_on_time(rt: Runtime) -> None:
    """A source due 5 s from now, with the next sweep 15 s away, is claimed now with a 5 s
    wait (not polled up to 15 s late), once; its next poll is one interval after that poll,
    not after the claim, so polls keep to their interval."""
    interval = 60.0
    now = datetime.now(UTC).replace(microsecond=0)
    due = now + timedelta(seconds=5)
    with rt.session() as session:
        session.execute(update(SourceRow).values(next_poll_at=due))
    with rt.session() as session:
        assert claim_due_sources(session, now, {"cases": interval}) == []  # not due yet
        claimed = claim_due_sources(session, now, {"cases": interval}, within=15.0)
        assert [(row.name, delay) for row, delay in claimed] == [("cases", 5.0)]
        assert claim_due_sources(session, now, {"cases": interval}, within=15.0) == []
        stored = session.scalars(select(SourceRow.next_poll_at)).one()
    assert stored == due + timedelta(seconds=interval)
    later = due + timedelta(seconds=interval + 40)  # a late sweep: polled now, no catching up
    with rt.session() as session:
        claimed = claim_due_sources(session, later, {"cases": interval}, within=15.0)
        assert [delay for _, delay in claimed] == [0.0]
        stored = session.scalars(select(SourceRow.next_poll_at)).one()
    assert stored == later + timedelta(seconds=interval)


def test_a_slow_poll_does_not_undo_the_claim_of_the_next(rt: Runtime) -> None:
    """A poll that ends after the sweep claimed the source's next poll must not move
    ``next_poll_at`` back (the source would then be claimed, and polled, twice)."""
    now = datetime.now(UTC).replace(microsecond=0)
    source_id = _source_id(rt)
    with rt.session() as session:
        session.execute(update(SourceRow).values(next_poll_at=now + timedelta(seconds=5)))
    with rt.session() as session:
        assert claim_due_sources(session, now, {"cases": 60.0}, within=15.0)
    claimed_next = now + timedelta(seconds=65)
    record = PollRecord("ok", "", now - timedelta(seconds=50) + timedelta(seconds=60), True)
    with rt.session() as session:
        record_poll(session, source_id, record, now=now)
    with rt.session() as session:
        assert session.scalars(select(SourceRow.next_poll_at)).one() == claimed_next
        assert claim_due_sources(session, now + timedelta(seconds=10), {"cases": 60.0}) == []


def test_an_interval_shorter_than_the_sweeps_is_kept(rt: Runtime) -> None:
    """Polled every 4 s with a sweep every 15 s: one sweep schedules each poll due before the
    next sweep, at its moment, and the next sweep takes up where it stopped."""
    now = datetime.now(UTC).replace(microsecond=0)
    with rt.session() as session:
        session.execute(update(SourceRow).values(next_poll_at=now + timedelta(seconds=2)))
    with rt.session() as session:
        first = claim_due_sources(session, now, {"cases": 4.0}, within=15.0)
        second = claim_due_sources(
            session, now + timedelta(seconds=15), {"cases": 4.0}, within=15.0
        )
    assert [delay for _, delay in first] == [2.0, 6.0, 10.0, 14.0]
    assert [delay for _, delay in second] == [3.0, 7.0, 11.0, 15.0]  # 18, 22, 26, 30 s


def test_an_eager_pass_takes_only_the_polls_due_now(rt: Runtime) -> None:
    """``herald run --once`` cannot wait: its sweeps leave a poll due in 5 s for later."""
    now = datetime.now(UTC)
    with rt.session() as session:
        session.execute(update(SourceRow).values(next_poll_at=now + timedelta(seconds=5)))
    assert find_due_work(rt, now=now, ahead=False).sources == []
    assert [d for _, d in find_due_work(rt, now=now).sources] == [pytest.approx(5.0, abs=1.0)]
