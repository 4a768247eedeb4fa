"""Shared fixtures: real servers on 127.0.0.1, a real Redis and a real PostgreSQL.

Set HERALD_TEST_REQUIRE_SERVICES=1 (``.ci/run`` does) to make a missing Redis or PostgreSQL
a failure instead of a skip.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.chat_fakes import ManualClock
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.netguard import Policy

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REDIS_URL = os.environ.get("HERALD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get(
    "HERALD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE = os.environ.get("HERALD_TEST_REQUIRE_SERVICES") == "1"
# The fixture servers listen on loopback, which the SSRF guard refuses by default: the test
# configuration allows it on purpose (tests/test_netguard.py checks the refusals).
LOOPBACK_ALLOW = ("127.0.0.1", "::1")
LOOPBACK = Policy.from_allow(LOOPBACK_ALLOW)


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=1):
            return True
    except OSError:
        return False


def _need(url: str, what: str) -> None:
    if not _reachable(url):
        if REQUIRE:
            pytest.fail(f"{what} is not running at {url}")
        pytest.skip(f"{what} is not running at {url}")


@pytest.fixture()
def redis_url() -> Iterator[str]:
    import redis

    _need(REDIS_URL, "Redis")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    _need(POSTGRES_URL, "PostgreSQL")
    name = f"herald_test_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_URL.replace("postgresql://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def http() -> Iterator[requests.Session]:
    """A plain HTTP client for talking to the test servers directly."""
    with requests.Session() as session:
        yield session


@pytest.fixture()
def clock() -> ManualClock:
    """The fake platforms' clock, moved by hand (``advance``), never by sleeping."""
    return ManualClock(1_700_000_000.0)


@pytest.fixture()
def site() -> Iterator[DemoSite]:
    demo = DemoSite(articles=15, page_size=10)
    demo.start()
    yield demo
    demo.stop()


@pytest.fixture()
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver(secret=SECRET)
    hook.start()
    yield hook
    hook.stop()


def write_config(
    directory: Path,
    *,
    sources: str,
    subscribers: str = "",
    database_url: str = "sqlite:///herald.db",
    broker_url: str = "",
    extra_herald: str = "",
    web: str = "enabled = false",
    extra: str = "",
    network: str = "",
) -> Path:
    """A herald.toml in ``directory`` (sources/subscribers given as TOML text). ``herald run``
    starts no web app unless ``web`` says so; ``extra`` holds more sections."""
    text = f"""
[herald]
database_url = "{database_url}"
broker_url = "{broker_url}"
feeds_dir = "feeds"
base_url = "http://feeds.test"
{extra_herald}

[network]
allow = [{", ".join(f'"{entry}"' for entry in LOOPBACK_ALLOW)}]
connect_timeout = "2s"
read_timeout = "2s"
deadline = "5s"
{network}

[web]
{web}

{extra}

{sources}
{subscribers}
"""
    path = directory / "herald.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def allow_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For CLI commands run without ``--config``: $HERALD_CONFIG names a config that allows the
    loopback fixture servers (the defaults allow nothing but public addresses)."""
    (tmp_path / "loopback").mkdir()
    path = write_config(tmp_path / "loopback", sources="")
    monkeypatch.setenv("HERALD_CONFIG", str(path))
    return path


def site_source(
    site: DemoSite,
    *,
    name: str = "cases",
    backfill: int = 2,
    interval: str = "1h",
    notify_existing: bool = False,
) -> str:
    settings = f"backfill = {backfill}\nnotify_existing = {str(notify_existing).lower()}\n"
    return site.source_toml(name, interval=interval, settings=settings + 'tags = ["工作案例"]')


def webhook_subscriber(
    url: str, *, name: str = "hook", sources: str = "[]", ops_alerts: bool = False
) -> str:
    return f"""
[[subscribers]]
name = "{name}"
channel = "webhook"
url = "{url}"
secret = "{SECRET}"
sources = {sources}
ops_alerts = {str(ops_alerts).lower()}
"""
