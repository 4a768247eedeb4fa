"""Redis restarted without persistence in the middle of a fan-out: nothing is lost.

A private ``redis-server`` (``--save "" --appendonly no``, never the shared one on 6379) carries
the queues of a real prefork worker and beat, storing in PostgreSQL. Once the receiver has seen
20 % of the messages Redis is killed with SIGKILL, so every queued task and every unacked
message is gone, and a fresh, empty Redis is started on the same port two seconds later. The
ledger is the source of truth: once the sweep has found the rows whose messages were lost,
every row ends delivered and the receiver, deduplicating on ``webhook-id``, holds every message
exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.support.fault_cluster import (
    REDIS_SERVER,
    FanOut,
    PrivateRedis,
    RoomyReceiver,
    long_fanout,
)
from worker.demo.site import DemoSite

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

OUTAGE = 2.0  # seconds without Redis
RECOVERY = 120.0
BATCH = 50  # rows per deliver task where the config has the setting: several tasks queue up


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[PrivateRedis]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (the fault tests run a private one)")
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    yield redis
    redis.stop()


@pytest.mark.parametrize("count", [300, long_fanout(2000)])
def test_redis_restarted_empty_mid_fanout_loses_nothing(
    count: int, tmp_path: Path, site: DemoSite, postgres_url: str, broker: PrivateRedis
) -> None:
    with RoomyReceiver(secret=SECRET) as receiver:
        fanout = FanOut(
            tmp_path,
            site=site,
            receiver=receiver,
            count=count,
            database_url=postgres_url,
            broker_url=broker.url(),
            delivery={"batch": BATCH},
        )
        try:
            worker = fanout.start_worker("w1")
            beat = fanout.start_beat()
            fanout.wait_imported()

            def kill_redis() -> None:
                fanout.figures["tasks_queued_at_kill"] = broker.queued("deliver")
                broker.kill()

            killed = fanout.fault_at(int(count * 0.2), "redis_kill", kill_redis)
            fanout.publish()
            fanout.wait_fault(killed)
            assert fanout.figures["tasks_queued_at_kill"] > 0, "no task was queued in Redis"
            time.sleep(OUTAGE)
            broker.start()  # same port, empty
            fanout.figures["redis_back_at_s"] = fanout.since()
            fanout.wait_all_delivered(RECOVERY)
            assert worker.alive() and beat.alive(), fanout.logs()
            fanout.check_exactly_once()
            figures = fanout.report(f"redis-restart n={count}")
        finally:
            fanout.stop()
    assert figures["raw_duplicates"] <= figures["in_flight_at_fault"]
