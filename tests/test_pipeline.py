"""End to end on the embedded default: `herald run --once` against a local site and receiver."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import feedparser
import pytest

from tests.conftest import site_source, webhook_subscriber, write_config
from worker.config import load_config
from worker.demo.pages import article_path
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.embedded import run_once


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture()
def configured(tmp_path: Path, site: DemoSite, receiver: WebhookReceiver) -> Path:
    return write_config(
        tmp_path,
        sources=site_source(site, backfill=2, notify_existing=True),
        subscribers=webhook_subscriber(receiver.url("/hook")),
    )


def test_first_poll_imports_silently_then_new_articles_are_sent(
    tmp_path: Path, site: DemoSite, receiver: WebhookReceiver
) -> None:
    path = write_config(
        tmp_path,
        sources=site_source(site, backfill=1),
        subscribers=webhook_subscriber(receiver.url("/hook")),
    )
    config = load_config(path)
    summary = run_once(config)
    db = tmp_path / "herald.db"
    assert _rows(db, "select count(*) from articles") == [(10,)]  # backfill = 1 page of 10
    assert summary.deliveries == {} and receiver.messages() == []
    feed = feedparser.parse((tmp_path / "feeds" / "all.xml").read_bytes())
    assert len(feed.entries) == 10  # imported into the store and the feeds
    first, second = site.add_article(), site.add_article()
    run_once(config)
    urls = {m.payload["data"]["url"] for m in receiver.messages()}
    assert urls == {site.article_url(first.id), site.article_url(second.id)}
    assert _rows(db, "select count(*) from articles") == [(12,)]


def test_first_pass_ingests_publishes_and_delivers(
    configured: Path, site: DemoSite, receiver: WebhookReceiver
) -> None:
    summary = run_once(load_config(configured))
    db = configured.parent / "herald.db"

    assert _rows(db, "select count(*) from articles") == [(15,)]
    titles = {t for (t,) in _rows(db, "select title from articles")}
    assert titles == {a.title for a in site.articles}  # full titles, not the list's "..."
    assert summary.deliveries == {"delivered": 15}
    assert receiver.rejected == 0 and receiver.duplicates() == 0
    got = {m.payload["data"]["url"] for m in receiver.messages()}
    assert got == {site.article_url(a.id) for a in site.articles}
    first = receiver.messages()[0].payload
    assert first["type"] == "article.created"
    assert first["data"]["published_at"].endswith("+08:00")

    feed = feedparser.parse((configured.parent / "feeds" / "all.xml").read_bytes())
    assert not feed.bozo
    assert len(feed.entries) == 15
    assert [e.link for e in feed.entries] == [site.article_url(a.id) for a in site.articles]
    atom = feedparser.parse((configured.parent / "feeds" / "sources" / "cases.atom").read_bytes())
    assert not atom.bozo and len(atom.entries) == 15
    assert "重庆" in atom.entries[0].content[0].value


def test_second_pass_is_a_304_and_sends_nothing(
    configured: Path, site: DemoSite, receiver: WebhookReceiver
) -> None:
    config = load_config(configured)
    run_once(config)
    log_before = len(site.requests_log)
    run_once(config)
    second = site.requests_log[log_before:]
    assert second == [("GET", "/col/col1/index.html", 304)]  # parsed nothing, fetched nothing else
    assert len(receiver.messages()) == 15
    db = configured.parent / "herald.db"
    assert _rows(db, "select count(*), max(version) from articles") == [(15, 1)]


def test_edit_bumps_version_and_new_article_is_sent_once(
    configured: Path, site: DemoSite, receiver: WebhookReceiver
) -> None:
    config = load_config(configured)
    run_once(config)
    edited = site.articles[0].id
    site.edit_article(edited, "更正：本文于发布后补充了一段说明。")
    added = site.add_article()
    with sqlite3.connect(configured.parent / "herald.db") as conn:  # `recheck` (1d) has passed
        conn.execute("update articles set checked_at = '2000-01-01 00:00:00'")
    run_once(config)

    db = configured.parent / "herald.db"
    assert _rows(db, "select count(*) from articles") == [(16,)]
    versions = dict(_rows(db, "select url, version from articles where version > 1"))
    assert versions == {site.article_url(edited): 2}
    assert _rows(db, "select count(*) from article_versions") == [(1,)]
    urls = [m.payload["data"]["url"] for m in receiver.messages()]
    assert len(urls) == 16 and urls[-1] == site.article_url(added.id)  # the edit sent nothing
    assert receiver.duplicates() == 0


def test_a_changed_list_reads_only_its_new_article(
    configured: Path, site: DemoSite, receiver: WebhookReceiver
) -> None:
    """Articles read within `recheck` are not read again because the list around them moved."""
    config = load_config(configured)
    run_once(config)
    before = len(site.requests_log)
    added = site.add_article()
    run_once(config)
    pages = [path for _, path, _ in site.requests_log[before:] if path.startswith("/art/")]
    assert pages == [article_path(added)]  # not the 15 listed beside it, read moments ago
    assert len(receiver.messages()) == 16


def test_failed_delivery_is_retried_with_the_same_id(
    configured: Path, site: DemoSite, receiver: WebhookReceiver
) -> None:
    receiver.fail_next(1, status=503)
    run_once(load_config(configured))
    db = configured.parent / "herald.db"
    statuses = dict(_rows(db, "select status, count(*) from deliveries group by status"))
    assert statuses == {"delivered": 14, "pending": 1}
    (event_id, attempts, error) = _rows(
        db, "select event_id, attempts, last_error from deliveries where status = 'pending'"
    )[0]
    assert attempts == 1 and "503" in str(error)
    # make it due now and run another pass: the receiver gets the same webhook-id
    with sqlite3.connect(db) as conn:
        conn.execute("update deliveries set next_attempt_at = '2000-01-01 00:00:00'")
    run_once(load_config(configured))
    assert event_id in receiver.unique_ids()
    assert len(receiver.unique_ids()) == 15 and receiver.duplicates() == 0
