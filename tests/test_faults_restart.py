"""A rolling restart in the middle of a fan-out: each worker in turn gets SIGTERM (as ``docker
compose up`` or a deployment sends it) while a replacement starts. Real ``celery -A worker
worker --pool prefork`` processes on a private Redis, storing in PostgreSQL, fan a new article
out to N webhook subscribers (1,000 here, 10,000 with ``HERALD_LONG_FAULTS=1``) through a
receiver that takes 0.1 s over each message, so that a batch takes many seconds.

A warm shutdown lets the requests in flight finish, starts no other, and gives the rows its
batches had claimed back to the ledger at once, so the worker is gone in seconds (not after its
batch's two minutes), nothing is lost, and, unlike a kill, nothing is sent twice: the receiver
sees every message exactly once, raw. herald's own lease and sweep settings are used.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SECRET
from tests.support.fault_cluster import (
    FAULT_MARKS,
    REDIS_SERVER,
    CeleryProcess,
    FanOut,
    PrivateRedis,
    RoomyReceiver,
    long_fanout,
    wait_until,
)
from worker.demo.site import DemoSite

pytestmark = FAULT_MARKS

SIZES = [1000, long_fanout(10000)]
RESTART_AT = (0.2, 0.6)  # the fractions of messages received when each worker is restarted
GONE_WITHIN = 10.0  # seconds from SIGTERM to the worker's exit (its batch would run 25 s)
DEFERRED_RE = re.compile(r"'deferred': (\d+)")
IN_FLIGHT = 2  # requests in flight per batch: with the slow receiver a batch of 500 takes 25 s


class SlowReceiver(RoomyReceiver):
    """Takes ``DELAY`` seconds over each message, so that a fan-out lasts long enough for
    workers to be restarted in the middle of it."""

    DELAY = 0.1

    def check_message(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[str, int, dict[str, Any]]:
        time.sleep(self.DELAY)
        return super().check_message(headers, body)


@pytest.fixture()
def fanout(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    site: DemoSite,
    postgres_url: str,
) -> Iterator[FanOut]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (the fault tests run a private one)")
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    with SlowReceiver(secret=SECRET) as hook:
        run = FanOut(
            tmp_path, site=site, receiver=hook, count=request.param,
            database_url=postgres_url, broker_url=redis.url(), defaults=True,
            delivery={"in_flight": IN_FLIGHT},
        )  # fmt: skip
        try:
            yield run
        finally:
            run.stop()
            redis.stop()


def terminate(worker: CeleryProcess) -> float:
    """SIGTERM the worker's main process (not its children) and time its exit."""
    started = time.monotonic()
    os.kill(worker.pid, signal.SIGTERM)
    worker.proc.wait(timeout=90)
    assert wait_until(worker.group_gone, 30, 0.1), "a pool child of the worker is left"
    return time.monotonic() - started


@pytest.mark.parametrize("fanout", SIZES, indirect=True)
def test_a_rolling_restart_mid_fanout_loses_nothing_and_sends_nothing_twice(
    fanout: FanOut,
) -> None:
    running = [fanout.start_worker("w1"), fanout.start_worker("w2")]
    stopped: list[CeleryProcess] = []
    fanout.start_beat()
    fanout.wait_imported()
    exits = []
    for step, share in enumerate(RESTART_AT, start=3):
        reached = fanout.fault_at(int(fanout.count * share), f"restart{step}", lambda: None)
        if step == 3:
            fanout.publish()
        fanout.wait_fault(reached)
        old = running.pop(0)  # the oldest worker goes, its replacement comes
        exits.append(terminate(old))
        stopped.append(old)
        running.append(fanout.start_worker(f"w{step}"))
    fanout.wait_all_delivered(180.0)
    fanout.check_exactly_once()
    fanout.figures["exit_s"] = [round(s, 2) for s in exits]
    fanout.figures["given_back"] = sum(
        int(n) for worker in stopped for n in DEFERRED_RE.findall(worker.tail(5_000_000))
    )
    figures = fanout.report(f"rolling-restart n={fanout.count}")
    assert figures["raw_duplicates"] == 0, figures  # a warm stop sends nothing twice
    assert max(exits) < GONE_WITHIN, exits
    assert figures["given_back"] > 0, figures  # the stops came mid-batch
