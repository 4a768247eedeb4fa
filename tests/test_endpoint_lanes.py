"""An endpoint's lanes across worker processes: reserved in Redis once per batch, so two worker
processes sending to one endpoint at once never exceed ``[delivery] per_endpoint`` together,
and a reservation left by a dead worker lapses on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import site_source, webhook_subscriber, write_config
from tests.test_transport import BusyServer, _HoldingHandler
from worker import ingest as ingest_stage
from worker import poll as poll_stage
from worker.config import load_config
from worker.demo.site import DemoSite
from worker.endpoint_lanes import KEY_PREFIX, LocalLanes, RedisLanes
from worker.runtime import build_runtime
from worker.store.sources import source_by_name
from worker.store.tables import DeliveryRow
from worker.tasks import prepare_database

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]
HOOK = "https://hooks.example.com/T000/secret-token"


def test_two_processes_share_an_endpoints_lanes(redis_url: str) -> None:
    first = RedisLanes(redis.Redis.from_url(redis_url))
    second = RedisLanes(redis.Redis.from_url(redis_url))  # another worker process's client
    assert first.reserve("a", {HOOK: (2, 2), "https://other.example/x": (1, 2)}, 60) == {
        HOOK: 2, "https://other.example/x": 1,
    }  # fmt: skip
    assert second.reserve("b", {HOOK: (2, 2), "https://other.example/x": (2, 2)}, 60) == {
        HOOK: 0, "https://other.example/x": 1,
    }  # fmt: skip
    first.release("a", {HOOK: 2})
    assert second.reserve("c", {HOOK: (2, 2)}, 60) == {HOOK: 2}
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys(KEY_PREFIX + "*")]
    assert len(keys) == 2 and not any("secret-token" in k or "example" in k for k in keys)


def test_a_dead_workers_lanes_lapse(redis_url: str) -> None:
    lanes = RedisLanes(redis.Redis.from_url(redis_url))
    assert lanes.reserve("dead", {HOOK: (1, 1)}, 0.3) == {HOOK: 1}
    assert lanes.reserve("alive", {HOOK: (1, 1)}, 60) == {HOOK: 0}
    time.sleep(0.5)
    assert lanes.reserve("alive", {HOOK: (1, 1)}, 60) == {HOOK: 1}


def test_the_embedded_default_grants_what_a_batch_asks() -> None:
    assert LocalLanes().reserve("x", {HOOK: (2, 2), "b": (1, 2)}, 60) == {HOOK: 2, "b": 1}


class _CountingHandler(_HoldingHandler):
    def do_POST(self) -> None:
        super().do_POST()
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.served += 1  # type: ignore[attr-defined]


DELIVER = """
import json, sys, time
from worker.config import load_config
from worker.deliver import deliver_batch
from worker.runtime import build_runtime
from worker.store.tables import DeliveryRow
rt = build_runtime(load_config(sys.argv[1]))
ids = json.loads(sys.argv[2])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    deliver_batch(rt, ids)
    with rt.session() as session:
        query = session.query(DeliveryRow).filter(DeliveryRow.id.in_(ids))
        if all(row.status == "delivered" for row in query):
            break
    time.sleep(0.2)
"""


def test_two_worker_processes_never_exceed_an_endpoints_lanes(
    tmp_path: Path, redis_url: str
) -> None:
    """Ten subscribers behind one endpoint, their rows split between two worker processes
    sending at once: the endpoint never sees more than ``per_endpoint`` (2) requests at a
    time, and every row is delivered once (a process that finds the lanes taken gives its rows
    back for a moment)."""
    server: Any = BusyServer("127.0.0.1")
    server.RequestHandlerClass = _CountingHandler
    server.now = server.most = server.served = 0
    site = DemoSite(articles=1, page_size=20)
    site.start()
    subscribers = "".join(
        webhook_subscriber(server.url("/hook"), name=f"hook{i}") for i in range(10)
    )
    path = write_config(
        tmp_path,
        sources=site_source(site, backfill=1, notify_existing=True),
        subscribers=subscribers,
        broker_url=redis_url,
        database_url=f"sqlite:///{tmp_path / 'herald.db'}",
    )
    rt = build_runtime(load_config(path))
    prepare_database(rt)
    try:
        with rt.session() as session:
            source = source_by_name(session, "cases")
            assert source is not None
        report = poll_stage.poll_source(rt, source.id)
        rows = [d for p in report.queued for d in ingest_stage.ingest_item(rt, p).deliveries]
        assert len(rows) == 10
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", DELIVER, str(path), json.dumps(part)],
                env=env,
                cwd=tmp_path,
            )
            for part in (rows[0::2], rows[1::2])
        ]
        for proc in workers:
            assert proc.wait(timeout=90) == 0
        assert server.most == 2 and server.served == 10  # two at a time; none sent twice
        with rt.session() as session:
            statuses = [r.status for r in session.query(DeliveryRow)]
        assert statuses == ["delivered"] * 10
    finally:
        rt.close()
        site.stop()
        server.stop()
