"""A real `celery -A worker worker` and `celery -A worker beat` on a real Redis, storing in a
real PostgreSQL database: ingest from the local site, deliver signed webhooks, write feeds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import site_source, webhook_subscriber, write_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.store.db import normalise_url

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _start(args: list[str], config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, HERALD_CONFIG=str(config))
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=config.parent,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.fixture()
def cluster(
    tmp_path: Path, site: DemoSite, receiver: WebhookReceiver, redis_url: str, postgres_url: str
) -> Iterator[tuple[Path, str]]:
    config = write_config(
        tmp_path,
        sources=site_source(site, backfill=2, interval="2s", notify_existing=True),
        subscribers=webhook_subscriber(receiver.url("/hook")),
        database_url=postgres_url,
        broker_url=redis_url,
        extra_herald='sweep_interval = "1s"',
    )
    workers = [  # two worker processes share the queues and the database
        _start(
            ["worker", "-P", "threads", "-c", "2", "-n", f"w{i}@%h", "--loglevel", "INFO"],
            config,
            tmp_path / f"worker{i}.log",
        )
        for i in (1, 2)
    ]
    beat = _start(
        ["beat", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule")],
        config,
        tmp_path / "beat.log",
    )
    try:
        yield config, postgres_url
    finally:
        for proc in (beat, *workers):
            _stop(proc)
    engine = create_engine(normalise_url(postgres_url))
    engine.dispose()


def test_worker_and_beat_on_redis_ingest_and_deliver(
    cluster: tuple[Path, str], site: DemoSite, receiver: WebhookReceiver
) -> None:
    config, db_url = cluster
    logs = config.parent
    ok = _wait(lambda: len(receiver.unique_ids()) >= 15, 60)
    assert ok, (logs / "worker1.log").read_text()[-3000:] + (logs / "beat.log").read_text()[-2000:]

    feed_path = config.parent / "feeds" / "all.xml"
    assert _wait(
        lambda: feed_path.exists() and len(feedparser.parse(feed_path.read_bytes()).entries) == 15,
        20,
    )
    # a new article on the site reaches the receiver through beat → poll → ingest → deliver
    added = site.add_article()
    assert _wait(lambda: len(receiver.unique_ids()) == 16, 30)
    assert receiver.messages()[-1].payload["data"]["url"] == site.article_url(added.id)

    # later polls find nothing new: nothing more is stored or sent
    time.sleep(5)
    assert len(receiver.messages()) == 16 and receiver.duplicates() == 0 and receiver.rejected == 0
    engine = create_engine(normalise_url(db_url))
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from articles")).scalar() == 16
        delivered = conn.execute(
            text("select count(*) from deliveries where status = 'delivered'")
        ).scalar()
        assert delivered == 16
    engine.dispose()
    assert site.hits("/col/col1/index.html") >= 3  # polled again and again (304s)


def test_each_task_lands_in_exactly_one_queue(redis_url: str) -> None:
    """Routing: one message per send, in the task's own queue (no copies in the others)."""
    import redis
    from celery import Celery

    from worker.celery_app import celery_settings
    from worker.config import parse_config

    settings = celery_settings(parse_config({"herald": {"broker_url": redis_url}}))
    sender = Celery("herald-test")
    sender.conf.update(settings)
    client = redis.Redis.from_url(redis_url)
    expected = {
        "herald.build_feeds": "feeds",
        "herald.sweep": "feeds",
        "herald.poll_source": "ingest",
        "herald.ingest_article": "ingest",
        "herald.deliver": "deliver",
    }
    for task, queue in expected.items():
        client.flushdb()
        with sender.connection_for_write() as conn:  # bind every queue, as a worker does
            for declared in sender.amqp.queues.values():
                declared(conn.default_channel).declare()
        sender.send_task(task, args=[])
        lengths = {q: client.llen(q) for q in ("ingest", "feeds", "deliver")}
        assert lengths == {q: int(q == queue) for q in lengths}, task
    sender.close()


def test_a_channel_closed_after_redis_went_away_lets_its_unacked_messages_go(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kombu's Redis transport forgets its connection settings before closing the channel;
    putting unacked messages back then raised AttributeError and stopped the worker consuming
    ("Unrecoverable error"). herald lets them go (its ledger re-enqueues the work)."""
    from kombu import Connection

    from worker import celery_app, kombu_redis

    del celery_app  # importing it installs the workaround

    def channel_with_an_unacked_message(name: str) -> Any:
        connection = Connection(redis_url)
        queue = connection.SimpleQueue(name)
        queue.put({"delivery_ids": [1]})
        queue.get(timeout=5)  # delivered, not acknowledged
        channel = queue.channel
        assert len(channel.qos._delivered) == 1
        channel.connection.client = None  # what closing after a lost connection finds
        return channel

    with monkeypatch.context() as undone:  # kombu's own behaviour, still
        undone.setattr(kombu_redis.kombu_redis.QoS, "restore_unacked",
                       kombu_redis._original_restore_unacked)  # fmt: skip
        unpatched = channel_with_an_unacked_message("herald-test-unpatched")
        with pytest.raises(AttributeError, match="hostname"):
            unpatched.close()
    patched = channel_with_an_unacked_message("herald-test-patched")
    patched.close()  # no AttributeError: the consumer can reconnect
    assert patched.qos._delivered == {}
