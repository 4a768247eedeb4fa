"""Token buckets: the in-process one, the Redis one shared by several workers, and a
subscriber's ``rate_limit`` holding deliveries back instead of sending them."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import SECRET, site_source, webhook_subscriber, write_config
from worker.config import ConfigError, load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.embedded import run_once
from worker.ratebucket import LocalBucket, Rate, RedisBucket, parse_rate


def test_parse_rate() -> None:
    assert parse_rate("10/s") == Rate(10.0, 10)
    assert parse_rate("600/min") == Rate(10.0, 10)
    assert parse_rate("30 / h") == Rate(30 / 3600, 1)
    for bad in ("10", "0/s", "ten/s", "5/d"):
        with pytest.raises(ValueError):
            parse_rate(bad)


def test_the_local_bucket_allows_a_burst_then_says_how_long_to_wait() -> None:
    bucket, rate = LocalBucket(), Rate(4.0, 4)
    assert [bucket.take("a", rate) for _ in range(4)] == [0.0] * 4
    wait = bucket.take("a", rate)
    assert 0.2 < wait <= 0.25
    assert bucket.take("b", rate) == 0.0  # buckets are per key
    time.sleep(0.3)
    assert bucket.take("a", rate) == 0.0


@pytest.mark.redis
def test_two_workers_draw_from_one_redis_bucket(redis_url: str) -> None:
    first = RedisBucket(redis.Redis.from_url(redis_url))
    second = RedisBucket(redis.Redis.from_url(redis_url))  # another worker process's client
    key, rate = f"test-{time.time_ns()}", Rate(5.0, 5)
    taken = [b.take(key, rate) for b in (first, second, first, second, first)]
    assert taken == [0.0] * 5
    assert 0.15 < second.take(key, rate) <= 0.2  # the sixth waits, whoever asks
    time.sleep(0.25)
    assert first.take(key, rate) == 0.0


def test_a_subscribers_rate_limit_holds_deliveries_back(tmp_path: Path, site: DemoSite) -> None:
    with WebhookReceiver(secret=SECRET) as hook:
        subs = webhook_subscriber(hook.url()) + 'rate_limit = "2/s"\n'
        path = write_config(tmp_path, sources=site_source(site, backfill=1), subscribers=subs)
        config = load_config(path)
        run_once(config)
        for _ in range(6):
            site.add_article()
        run_once(config)  # the rows held back for a token are sent in the same pass, paced
        arrivals = sorted(message.received_at for message in hook.messages())
        assert len(arrivals) == 6
        assert arrivals[1] - arrivals[0] < 0.4  # a full bucket holds two: the burst
        assert arrivals[-1] - arrivals[0] >= 1.4  # then two a second
        with sqlite3.connect(tmp_path / "herald.db") as conn:
            rows = conn.execute("select status, attempts from deliveries order by id").fetchall()
        assert rows == [("delivered", 1)] * 6  # a row held back is not counted as an attempt


def test_a_bad_rate_limit_names_the_key(tmp_path: Path) -> None:
    subs = webhook_subscriber("http://127.0.0.1:9/") + 'rate_limit = "fast"\n'
    path = write_config(tmp_path, sources="", subscribers=subs)
    with pytest.raises(ConfigError, match=r'subscribers\["hook"\]\.rate_limit: expected a rate'):
        load_config(path)
