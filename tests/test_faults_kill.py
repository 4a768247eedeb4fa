"""kill -9 in the middle of a fan-out: a prefork pool child, then the whole worker.

A real ``celery -A worker worker --pool prefork -c 2`` and ``celery -A worker beat`` on a private
Redis, storing in PostgreSQL, fan a new article out to N webhook subscribers (300 here, 2,000
with ``HERALD_LONG_FAULTS=1``). Once the receiver has seen 20 % of the messages a process is
killed with SIGKILL; the ledger must still end with every row delivered, and the receiver,
deduplicating on ``webhook-id``, with every message exactly once. Raw duplicates are allowed
(at-least-once) but never more than the rows that were in flight at the kill.

The delivery lease and the sweep's requeue delay are shortened (``[delivery] lease`` and
``requeue_after``) so that lost work comes back in seconds, not minutes.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.support.fault_cluster import (
    FAULT_MARKS,
    REDIS_SERVER,
    FanOut,
    PrivateRedis,
    RoomyReceiver,
    long_fanout,
    wait_until,
)
from worker.demo.site import DemoSite

pytestmark = FAULT_MARKS

SIZES = [300, long_fanout(2000)]
KILL_AT = 0.2  # the fraction of messages received when the kill comes
RECOVERY = 120.0  # every delivery must be delivered within this long after the kill


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[PrivateRedis]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (the fault tests run a private one)")
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture()
def roomy_receiver() -> Iterator[RoomyReceiver]:
    with RoomyReceiver(secret=SECRET) as hook:
        yield hook


@pytest.fixture()
def fanout(
    request: pytest.FixtureRequest,
    run_on_defaults: bool,
    tmp_path: Path,
    site: DemoSite,
    roomy_receiver: RoomyReceiver,
    postgres_url: str,
    broker: PrivateRedis,
) -> Iterator[FanOut]:
    run = FanOut(
        tmp_path,
        site=site,
        receiver=roomy_receiver,
        count=request.param,
        database_url=postgres_url,
        broker_url=broker.url(),
        defaults=run_on_defaults,
    )
    try:
        yield run
    finally:
        run.stop()


@pytest.fixture()
def run_on_defaults() -> bool:
    """Short leases and a one-second sweep, so that lost work comes back in seconds."""
    return False


@pytest.mark.parametrize("fanout", SIZES, indirect=True)
def test_kill_9_of_a_pool_child_mid_fanout(fanout: FanOut) -> None:
    worker = fanout.start_worker("w1")
    fanout.start_beat()
    fanout.wait_imported()
    assert len(worker.children()) == 2

    def kill_the_child_sending() -> None:
        pid, connections = worker.busiest_child(fanout.receiver.port)
        os.kill(pid, signal.SIGKILL)
        fanout.figures["killed_child_connections"] = connections

    killed = fanout.fault_at(int(fanout.count * KILL_AT), "kill", kill_the_child_sending)
    fanout.publish()
    fanout.wait_fault(killed)
    assert fanout.figures["killed_child_connections"] > 0, "the child killed was not sending"
    fanout.wait_all_delivered(RECOVERY)
    assert worker.alive()  # the main process replaced its child and went on
    fanout.check_exactly_once()
    figures = fanout.report(f"kill-pool-child n={fanout.count}")
    assert figures["raw_duplicates"] <= figures["in_flight_at_fault"]


@pytest.mark.parametrize("fanout", SIZES, indirect=True)
def test_kill_9_of_the_whole_worker_mid_fanout(fanout: FanOut) -> None:
    worker = fanout.start_worker("w1")
    fanout.start_beat()
    fanout.wait_imported()
    # the main process and both pool children, at once
    killed = fanout.fault_at(int(fanout.count * KILL_AT), "kill", worker.kill_group)
    fanout.publish()
    fanout.wait_fault(killed)
    assert wait_until(worker.group_gone, 10), "processes of the killed worker are left"
    fanout.start_worker("w2")  # a new worker; the old one's unacked tasks stay in Redis
    fanout.wait_all_delivered(RECOVERY)
    fanout.check_exactly_once()
    figures = fanout.report(f"kill-whole-worker n={fanout.count}")
    assert figures["raw_duplicates"] <= figures["in_flight_at_fault"]


@pytest.mark.parametrize("run_on_defaults", [True])
@pytest.mark.parametrize("fanout", [600], indirect=True)
def test_kill_9_at_the_first_arrival_on_default_settings(fanout: FanOut) -> None:
    """herald's own settings (lease, requeue_after, the 15 s sweep): every delivery the killed
    worker held is sent again within 60 s of the kill, and the fan-out is complete within 90 s;
    deduplicated on webhook-id, every subscriber has the article exactly once."""
    worker = fanout.start_worker("w1")
    fanout.start_beat()
    fanout.wait_imported()
    killed = fanout.fault_at(1, "kill", worker.kill_group)
    fanout.publish()
    fanout.wait_fault(killed)
    assert wait_until(worker.group_gone, 10), "processes of the killed worker are left"
    fanout.start_worker("w2")
    fanout.wait_all_delivered(90.0)
    fanout.check_exactly_once()
    figures = fanout.report("kill-whole-worker-at-first-arrival defaults n=600")
    assert figures["all_delivered_at_s"] - figures["kill_at_s"] <= 60.0
    assert figures["raw_duplicates"] <= figures["in_flight_at_fault"]
