"""WebSub: after new articles the hub gets a publish ping per changed feed, through the ledger."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import site_source, write_config
from tests.support.websub_hub import FakeHub
from worker.config import load_config
from worker.demo.site import DemoSite
from worker.embedded import run_once

FEEDS = ("all", "sources/cases", "tags/%E5%B7%A5%E4%BD%9C%E6%A1%88%E4%BE%8B")


def feed_urls(keys: tuple[str, ...]) -> set[str]:
    return {f"http://feeds.test/feeds/{k}.{ext}" for k in keys for ext in ("xml", "atom", "json")}


def _config(tmp_path: Path, site: DemoSite, hub: str) -> Path:
    return write_config(
        tmp_path,
        sources=site_source(site, backfill=1),
        extra=f'[feeds]\nwebsub_hub = "{hub}"\n',
        extra_herald="",
    )


def _ledger(directory: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(directory / "herald.db") as conn:
        return list(
            conn.execute(
                "select d.status, d.attempts, d.event_type from deliveries d "
                "join subscribers s on s.id = d.subscriber_id where s.name = '_websub'"
            )
        )


def test_the_hub_is_pinged_for_each_changed_feed_after_new_articles(
    tmp_path: Path, site: DemoSite
) -> None:
    with FakeHub() as hub:
        config = load_config(_config(tmp_path, site, hub.url))
        run_once(config)
        assert set(hub.urls()) == feed_urls(FEEDS)
        assert len(hub.urls()) == 9 and hub.refused == []
        run_once(config)  # nothing new: no feed changed, no ping
        assert len(hub.urls()) == 9
        site.add_article()
        run_once(config)
        assert len(hub.urls()) == 18 and set(hub.urls()[9:]) == feed_urls(FEEDS)
    assert {row[0] for row in _ledger(tmp_path)} == {"delivered"}


def test_a_hub_that_is_down_is_retried_and_never_blocks_the_build(
    tmp_path: Path, site: DemoSite
) -> None:
    with FakeHub() as hub:
        hub.fail_next(100)
        config = load_config(_config(tmp_path, site, hub.url))
        summary = run_once(config)
        assert summary.feeds_written == 9  # the feeds were built although every ping failed
        assert (tmp_path / "feeds" / "all.atom").exists()
        assert hub.failed >= 1 and hub.urls() == []  # a failing endpoint is not hammered
        rows = _ledger(tmp_path)
        assert len(rows) == 9 and all(status == "pending" for status, _, _ in rows)
        assert sum(attempts for _, attempts, _ in rows) == hub.failed
        hub.fail_next(0)
        with sqlite3.connect(tmp_path / "herald.db") as conn:  # the retry falls due
            conn.execute("update deliveries set next_attempt_at = '2000-01-01 00:00:00'")
        run_once(config)
        assert set(hub.urls()) == feed_urls(FEEDS)
    assert {row[0] for row in _ledger(tmp_path)} == {"delivered"}


def test_no_hub_configured_queues_nothing(tmp_path: Path, site: DemoSite) -> None:
    path = write_config(tmp_path, sources=site_source(site, backfill=1))
    run_once(load_config(path))
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        assert conn.execute("select count(*) from deliveries").fetchone() == (0,)
        assert conn.execute("select count(*) from subscribers").fetchone() == (0,)


def test_a_hub_removed_from_the_config_is_disabled(tmp_path: Path, site: DemoSite) -> None:
    with FakeHub() as hub:
        run_once(load_config(_config(tmp_path, site, hub.url)))
    path = write_config(tmp_path, sources=site_source(site, backfill=1))
    site.add_article()
    run_once(load_config(path))
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        assert conn.execute(
            "select enabled from subscribers where name = '_websub'"
        ).fetchone() == (0,)
        assert conn.execute("select count(*) from deliveries").fetchone() == (9,)
