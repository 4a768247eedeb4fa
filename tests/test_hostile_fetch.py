"""Fetching from sites that misbehave: dripping error pages, absurd Retry-After values.

Real servers on 127.0.0.1; the source's deadline comes from the test's config.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import LOOPBACK, write_config
from tests.support.hostile import ScriptedEndpoint
from tests.support.hostile_sites import HostileSite
from worker.cli import main
from worker.config import load_config
from worker.embedded import run_once
from worker.fetch import Fetcher, FetchError
from worker.retry_after import MAX_SECONDS, clamp_wait, parse_retry_after

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture()
def hostile() -> Iterator[HostileSite]:
    with HostileSite() as site:
        yield site


def test_a_dripping_error_page_is_read_under_the_deadline(hostile: HostileSite) -> None:
    url = hostile.add("/drip500", b"x" * 4000, status=500, drip_interval=0.3)
    with Fetcher(policy=LOOPBACK, read_timeout=2.0, deadline=1.5) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            fetcher.get(url)
        took = time.monotonic() - started
    assert (info.value.reason, info.value.status) == ("http_status", 500)
    assert took < 2.5  # without the deadline: 4,000 bytes at 0.3 s, 20 minutes


def test_a_short_error_page_keeps_its_excerpt(hostile: HostileSite) -> None:
    challenge = b"<script>document.cookie='acw_sc__v2=1';location.reload()</script>"
    url = hostile.add("/412", challenge, status=412)
    with Fetcher(policy=LOOPBACK, deadline=2.0) as fetcher, pytest.raises(FetchError) as info:
        fetcher.get(url)
    assert info.value.body_excerpt == challenge.decode()


def test_sources_test_on_a_dripping_500_returns_within_the_deadline(
    tmp_path: Path, hostile: HostileSite
) -> None:
    url = hostile.add("/list", b"<html>" * 2000, status=500, drip_interval=0.5)
    source = (
        f'[[sources]]\nname = "drip"\nurl = "{url}"\nkind = "html"\n[sources.list]\nitem = "li"\n'
    )
    path = write_config(tmp_path, sources=source)  # deadline = "5s", read_timeout = "2s"
    started = time.monotonic()
    result = CliRunner().invoke(main, ["--config", str(path), "sources", "test", "drip"])
    assert result.exit_code == 1 and "HTTP 500" in result.output, result.output
    assert time.monotonic() - started < 9


# --- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9" * 400, MAX_SECONDS),
        ("99999999999999", MAX_SECONDS),
        ("86400", 86400.0),
        ("1e300", None),
        ("NaN", None),
        ("-5", None),
        ("inf", None),
        ("٣", None),  # a digit, but not ASCII
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_SECONDS),
        ("Sun, 31 Dec 99999 23:59:59 GMT", None),
        ("Mon, 30 Nov 2026 07:00:00 GMT", 0.0),
        ("Mon, 30 Nov 2026 08:01:00 GMT", 60.0),
    ],
)
def test_every_retry_after_reads_as_a_bounded_wait_or_none(
    value: str, expected: float | None
) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(None, None), (math.nan, None), (-3.0, 0.0), (math.inf, 600.0), (1e300, 600.0), (5.0, 5.0)],
)
def test_a_wait_is_clamped_to_the_schedule(seconds: float | None, expected: float | None) -> None:
    assert clamp_wait(seconds, 600.0) == expected


@pytest.mark.parametrize(
    "retry_after", ["99999999999999", "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT"]
)
def test_absurd_retry_after_on_list_and_article_pages_is_clamped(
    tmp_path: Path, hostile: HostileSite, retry_after: str
) -> None:
    hostile.add("/busy.xml", b"later", status=429, headers={"Retry-After": retry_after})
    hostile.add("/article", b"later", status=503, headers={"Retry-After": retry_after})
    feed = (
        '<rss version="2.0"><channel><title>f</title>'
        f"<item><title>t</title><link>{hostile.url('/article')}</link></item></channel></rss>"
    )
    hostile.add("/feed.xml", feed, content_type="application/rss+xml")
    sources = "".join(
        f'[[sources]]\nname = "{name}"\nurl = "{hostile.url(path)}"\nkind = "feed"\n'
        for name, path in (("busy", "/busy.xml"), ("feed", "/feed.xml"))
    )
    path = write_config(tmp_path, sources=sources)
    before = datetime.now(UTC)
    run_once(load_config(path))
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        (next_poll,) = conn.execute(
            "select next_poll_at from sources where name = 'busy'"
        ).fetchone()
        (retry_at, error) = conn.execute(
            "select next_attempt_at, last_error from pending_items"
        ).fetchone()
    polled_again = datetime.fromisoformat(next_poll).replace(tzinfo=UTC)
    retried = datetime.fromisoformat(retry_at).replace(tzinfo=UTC)
    assert "HTTP 503" in error
    assert polled_again <= before + timedelta(days=1, minutes=5)  # sources back off ≤ a day
    assert retried <= before + timedelta(hours=6, minutes=5)  # items retry ≤ 6 h


def test_headers_that_drip_in_are_cut_off_at_the_deadline() -> None:
    """A server that sends its status line and headers a byte at a time, each byte well within
    the read timeout: the request's deadline still ends it (as it ends a dripping body)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok"
    with ScriptedEndpoint(head, pieces=len(head), pause=0.2, limit=20.0) as endpoint:
        fetcher = Fetcher(policy=LOOPBACK, connect_timeout=1, read_timeout=1, deadline=1.5)
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetcher.get(endpoint.url("/page"))
        elapsed = time.monotonic() - started
    assert caught.value.reason == "deadline", caught.value
    assert elapsed < 3.0
