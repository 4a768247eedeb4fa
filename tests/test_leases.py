"""Leases that follow the worker: renewed while it lives, taken over only when it is gone, and
timed by the database's clock, so no setting and no worker's clock makes a row go out twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import site_source, webhook_subscriber, write_config
from tests.support.fault_cluster import wait_until
from tests.support.hostile import StatusEndpoint
from worker import deliver as deliver_stage
from worker import ingest as ingest_stage
from worker import poll as poll_stage
from worker import sweep as sweep_stage
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.lease import LeaseKeeper, effective_lease
from worker.runtime import Runtime, build_runtime
from worker.store.deliveries import claim_deliveries, renew_leases
from worker.store.sources import source_by_name
from worker.store.tables import DeliveryRow
from worker.sweep import find_due_work
from worker.tasks import prepare_database


def test_a_lease_shorter_than_the_batch_never_sends_twice(tmp_path: Path) -> None:
    """One article to 18 subscribers on one slow endpoint (1–2 s a reply, two at a time): the
    batch takes ~14 s, far past ``lease = "3s"``, and a sweep runs every second; the worker
    holding the batch keeps it (the embedded default)."""
    site = DemoSite(articles=1, page_size=20)
    site.start()
    slow = StatusEndpoint(200, body=b"{}", delay=(1.0, 2.0)).start()
    subscribers = "".join(
        webhook_subscriber(slow.url("/hook"), name=f"hook{i:02d}") for i in range(18)
    )
    config = write_config(
        tmp_path,
        sources=site_source(site, backfill=1, interval="1h", notify_existing=True),
        subscribers='[delivery]\nlease = "3s"\ntimeout = "2.5s"\nrequeue_after = "1s"\n'
        + subscribers,
        extra_herald='sweep_interval = "1s"',
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "--config", str(config), "run"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        ids = lambda: Counter(hit.headers["webhook-id"] for hit in slow.hits)  # noqa: E731
        assert wait_until(lambda: len(ids()) == 18, 90, 0.2), log.read_text()[-3000:]
        time.sleep(5)  # long enough for any second copy to arrive
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        slow.stop()
        site.stop()
    repeated = {webhook_id: n for webhook_id, n in ids().items() if n > 1}
    assert repeated == {}, f"{len(repeated)} of 18 sent more than once: {repeated}"


# --------------------------------------------------------------------------------------------
# The keeper and the database's clock, on SQLite and PostgreSQL


@pytest.fixture(params=["sqlite", "postgres"])
def rt(
    request: pytest.FixtureRequest, tmp_path: Path, site: DemoSite, receiver: WebhookReceiver
) -> Iterator[Runtime]:
    url = "sqlite:///herald.db"
    if request.param == "postgres":
        url = str(request.getfixturevalue("postgres_url"))
    path = write_config(
        tmp_path,
        sources=site_source(site, backfill=1, notify_existing=True),
        subscribers=webhook_subscriber(receiver.url()),
        database_url=url,
    )
    runtime = build_runtime(load_config(path))
    prepare_database(runtime)
    yield runtime
    runtime.close()


def _new_rows(rt: Runtime) -> list[int]:
    now = datetime.now().astimezone()
    with rt.session() as session:
        source = source_by_name(session, "cases")
        assert source is not None
    report = poll_stage.poll_source(rt, source.id, now=now)
    return [d for pid in report.queued for d in ingest_stage.ingest_item(rt, pid).deliveries]


def _claim(rt: Runtime, ids: list[int], token: str, lease: float) -> list[int]:
    with rt.session() as session:
        _, claimed = claim_deliveries(session, ids, lease=lease, token=token, max_attempts=20)
    return [c.id for c in claimed]


def test_a_live_workers_keeper_holds_its_rows_past_the_lease(rt: Runtime) -> None:
    rows = _new_rows(rt)
    claimed_at = time.monotonic()
    assert _claim(rt, rows, "alive", lease=1.0) == rows

    def renew() -> set[int]:
        with rt.session() as session:
            return renew_leases(session, "alive", lease=1.0)

    keeper = LeaseKeeper(
        held=rows, lease=1.0, longest_step=0.0, renew=renew, confirmed_at=claimed_at
    ).start()
    try:
        time.sleep(2.5)  # more than two leases
        assert _claim(rt, rows, "thief", lease=1.0) == []  # still held
        assert find_due_work(rt).deliveries == []
        assert all(keeper.may_start(row) is not False for row in rows)  # still held
    finally:
        keeper.stop()
    time.sleep(1.2)  # the keeper stopped: the lease runs out
    assert _claim(rt, rows, "thief", lease=60.0) == rows
    keeper.renew_now()
    assert all(keeper.may_start(row) is False for row in rows)  # it knows it lost them


def test_only_the_holder_records_a_row(rt: Runtime, receiver: WebhookReceiver) -> None:
    rows = _new_rows(rt)[:1]
    assert _claim(rt, rows, "dead", lease=0.5) == rows
    time.sleep(0.7)
    assert deliver_stage.deliver_batch(rt, rows) == {"delivered": 1}
    with rt.session() as session:
        row = session.get(DeliveryRow, rows[0])
        assert row is not None and row.status == "delivered" and row.lease_token is None


class _Ahead(datetime):
    """This worker's clock, an hour fast."""

    @classmethod
    def now(cls, tz: object = None) -> _Ahead:  # type: ignore[override]
        return super().now(tz) + timedelta(hours=1)  # type: ignore[arg-type,return-value]


def test_a_worker_with_a_fast_clock_takes_nothing_early(
    rt: Runtime, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker holds the rows for a minute; this one's clock is an hour ahead. Leases
    and due times are the database's, so it neither sees them due nor sends them."""
    rows = _new_rows(rt)
    assert _claim(rt, rows, "other", lease=60.0) == rows
    for module in (deliver_stage, sweep_stage):
        monkeypatch.setattr(module, "datetime", _Ahead)
    assert find_due_work(rt).deliveries == []
    assert deliver_stage.deliver_batch(rt, rows) == {"skipped": len(rows)}
    assert receiver.messages() == []


def test_the_lease_outlasts_a_send() -> None:
    assert effective_lease(300.0, 15.0) == 300.0
    assert effective_lease(3.0, 2.5) == 2 * (2.5 + 2.0)  # a send fits, with half to spare


def test_an_exception_mid_batch_records_what_was_answered_and_gives_back_the_rest(
    rt: Runtime, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault injected after the third reply (the real transport, wrapped to raise): the
    answered rows are recorded, a row caught in flight counts as a retry, the rest go back
    unsent with their claim not counted, and nothing is left ``sending``."""
    real = deliver_stage.send_all

    def failing(sends: Any, *, on_reply: Any, **options: Any) -> list[int]:
        replies = 0

        def counting(key: int, reply: Any) -> bool:
            nonlocal replies
            stop = bool(on_reply(key, reply))
            replies += 1
            if replies == 3:
                raise RuntimeError("injected fault")
            return stop

        return real(sends, on_reply=counting, **options)

    monkeypatch.setattr(deliver_stage, "send_all", failing)
    rows = _new_rows(rt)
    counts = deliver_stage.deliver_batch(rt, rows)
    with rt.session() as session:
        states = [
            (r.status, r.attempts)
            for r in session.query(DeliveryRow).filter(DeliveryRow.id.in_(rows))
        ]
    delivered = states.count(("delivered", 1))
    interrupted = states.count(("pending", 1))  # caught in flight: a retry, its claim counted
    assert not [s for s in states if s[0] == "sending"]
    # two lanes: at the fault, the other lane's request was answered or still in flight
    assert counts["delivered"] == delivered and 3 <= delivered + interrupted <= 4
    assert counts.get("retry", 0) == interrupted
    never_sent = len(rows) - delivered - interrupted
    assert states.count(("pending", 0)) == never_sent == counts["deferred"]


def test_replies_are_recorded_while_the_batch_still_waits_on_a_slow_endpoint(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """The sending loop never writes to the database; the batch's own thread records what was
    answered within a fraction of a second, not when the slowest endpoint is done (a worker
    killed meanwhile re-sends only what was not recorded)."""
    slow = StatusEndpoint(200, body=b"{}", delay=(4.0, 4.0)).start()
    site = DemoSite(articles=1, page_size=20)
    site.start()
    path = write_config(
        tmp_path,
        sources=site_source(site, backfill=1, notify_existing=True),
        subscribers=webhook_subscriber(receiver.url(), name="fast")
        + webhook_subscriber(slow.url("/hook"), name="slow"),
    )
    runtime = build_runtime(load_config(path))
    prepare_database(runtime)
    try:
        rows = _new_rows(runtime)
        done: list[dict[str, int]] = []
        batch = threading.Thread(
            target=lambda: done.append(deliver_stage.deliver_batch(runtime, rows))
        )
        batch.start()

        def delivered() -> int:
            with runtime.session() as session:
                query = session.query(DeliveryRow).filter(DeliveryRow.status == "delivered")
                return query.count()

        assert wait_until(lambda: delivered() > 0, 3.0, 0.05)
        assert batch.is_alive() and not done  # the slow endpoint has not answered yet
        batch.join(timeout=30)
        assert done and done[0]["delivered"] == len(rows) == delivered()
    finally:
        slow.stop()
        site.stop()
        runtime.close()
