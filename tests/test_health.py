"""Source health: blocked, degraded and failing sources show their reason; ops alerts are sent."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import webhook_subscriber, write_config
from tests.support.faults import FaultSite
from worker.cli import main
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.embedded import run_once
from worker.health import assess_failure, assess_poll, assess_staleness, layout_fingerprint
from worker.store.db import make_engine, make_session_factory
from worker.store.stats import read_figures


@pytest.fixture()
def faults() -> Iterator[str]:
    server = FaultSite()
    base = server.start()
    yield base
    server.stop()


def _html_source(name: str, url: str) -> str:
    return f"""
[[sources]]
name = "{name}"
url = "{url}"
kind = "html"
interval = "10m"
[sources.list]
item = "div.news-list div.item"
"""


def test_blocked_and_degraded_sources_show_reasons_and_alert(
    tmp_path: Path, faults: str, receiver: WebhookReceiver
) -> None:
    sources = (
        _html_source("waf412", f"{faults}/412")
        + _html_source("waf521", f"{faults}/521")
        + _html_source("emptied", f"{faults}/empty-list")
        + _html_source("broken", f"{faults}/500")
    )
    path = write_config(
        tmp_path,
        sources=sources,
        subscribers=webhook_subscriber(receiver.url("/ops"), name="ops", ops_alerts=True),
    )
    before = datetime.now(UTC)
    run_once(load_config(path))

    with sqlite3.connect(tmp_path / "herald.db") as conn:
        rows = conn.execute("select name, status, status_reason, next_poll_at from sources")
        health = {name: (status, reason, nxt) for name, status, reason, nxt in rows}
    assert health["waf412"][0] == "blocked" and "cookie challenge (HTTP 412)" in health["waf412"][1]
    assert health["waf521"][0] == "blocked" and "HTTP 521" in health["waf521"][1]
    assert health["emptied"][0] == "degraded" and "found no items" in health["emptied"][1]
    assert health["broken"][0] == "failing" and "HTTP 500" in health["broken"][1]
    for name in health:  # backed off, never looping hot: at least ~the interval (jittered)
        nxt = datetime.fromisoformat(str(health[name][2])).replace(tzinfo=UTC)
        assert (nxt - before).total_seconds() > 0.7 * 600, name

    alerts = {m.payload["data"]["source"]: m.payload for m in receiver.messages()}
    assert set(alerts) == {"waf412", "waf521", "emptied", "broken"}
    assert alerts["waf412"]["type"] == "source.health"
    assert alerts["waf412"]["data"]["status"] == "blocked"

    out = CliRunner().invoke(main, ["--config", str(path), "status"], env={"COLUMNS": "200"}).output
    assert "waf412: blocked — blocked by a JavaScript cookie challenge (HTTP 412)" in out
    assert "emptied: degraded — found no items on the list" in out

    run_once(load_config(path))  # the same status again: no second alert
    assert len(receiver.messages()) == 4


def test_a_silent_source_raises_one_alert_and_one_on_recovery(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """Its newest article is 10 days old and 5 are expected: stale, said once; then new ones."""
    site = DemoSite(articles=12, page_size=10, start_date=datetime.now(UTC).date() - timedelta(10))
    site.start()
    try:
        source = site.source_toml("quiet", settings='expect_new_within = "5d"')
        path = write_config(
            tmp_path,
            sources=source,
            subscribers=webhook_subscriber(receiver.url("/ops"), name="ops", ops_alerts=True),
        )
        run_once(load_config(path))
        with sqlite3.connect(tmp_path / "herald.db") as conn:
            status, reason = conn.execute("select status, status_reason from sources").fetchone()
        assert status == "stale"
        assert reason.startswith("no new article since ") and "(expected within 5 d)" in reason
        out = CliRunner().invoke(main, ["--config", str(path), "status"], env={"COLUMNS": "200"})
        assert "quiet: stale — no new article since" in out.output
        engine = make_engine(f"sqlite:///{tmp_path / 'herald.db'}")
        with make_session_factory(engine)() as session:
            assert read_figures(session, ()).sources_by_status == {"stale": 1}
        engine.dispose()
        alerts = health_alerts(receiver)
        assert [(a["source"], a["status"], a["previous_status"]) for a in alerts] == [
            ("quiet", "stale", "new")
        ]

        run_once(load_config(path))  # still silent: no second alert
        assert len(health_alerts(receiver)) == 1

        for _ in range(8):  # the newest is now two days old
            site.add_article()
        run_once(load_config(path))
        alerts = health_alerts(receiver)
        assert [(a["status"], a["previous_status"]) for a in alerts] == [
            ("stale", "new"),
            ("ok", "stale"),
        ]
    finally:
        site.stop()


def test_a_new_article_brings_a_source_back_whatever_day_its_list_shows(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """An hour is expected; the list dates its new article yesterday: finding it is news now."""
    site = DemoSite(articles=5, page_size=10, start_date=datetime.now(UTC).date() - timedelta(3))
    site.start()
    try:
        source = site.source_toml("hourly", settings='expect_new_within = "1h"')
        path = write_config(
            tmp_path,
            sources=source,
            subscribers=webhook_subscriber(receiver.url("/ops"), name="ops", ops_alerts=True),
        )
        run_once(load_config(path))
        site.add_article()  # dated the day after the newest: two days ago
        run_once(load_config(path))
        run_once(load_config(path))  # nothing new, but the last find is minutes old
        alerts = [(a["status"], a["previous_status"]) for a in health_alerts(receiver)]
        assert alerts == [("stale", "new"), ("ok", "stale")]
    finally:
        site.stop()


def health_alerts(receiver: WebhookReceiver) -> list[dict[str, str]]:
    return [m.payload["data"] for m in receiver.messages() if m.payload["type"] == "source.health"]


def test_staleness_rules() -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    watched = now - timedelta(days=30)
    assert assess_staleness(0, None, watched, now).status == "ok"  # no expectation
    fresh = assess_staleness(14 * 86400, now - timedelta(days=13), watched, now)
    assert fresh.status == "ok"
    old = assess_staleness(14 * 86400, now - timedelta(days=16, hours=3), watched, now)
    assert old.status == "stale"
    assert old.reason == "no new article since 2026-11-21, 16 d ago (expected within 14 d)"
    empty = assess_staleness(86400, None, now - timedelta(hours=30), now)
    assert empty.reason == "no article in 1 d (expected within 1 d)"
    assert assess_staleness(86400, None, now - timedelta(hours=3), now).status == "ok"


def test_assess_poll_rules() -> None:
    ok = assess_poll(
        items=10, dated=9, fingerprint="a", previous_items=10, previous_fingerprint="a"
    )
    assert ok.status == "ok"
    few = assess_poll(
        items=10, dated=3, fingerprint="a", previous_items=10, previous_fingerprint="a"
    )
    assert few.status == "degraded" and "3 of 10" in few.reason
    moved = assess_poll(
        items=10, dated=9, fingerprint="b", previous_items=10, previous_fingerprint="a"
    )
    assert moved.status == "degraded" and "layout changed" in moved.reason
    empty = assess_poll(
        items=0, dated=0, fingerprint="", previous_items=12, previous_fingerprint="a"
    )
    assert empty.status == "degraded" and "previous poll found 12" in empty.reason


def test_assess_failure_tells_challenges_from_errors() -> None:
    assert assess_failure("x", 412, "").status == "blocked"
    assert assess_failure("x", 403, "<script>document.cookie='a'</script>").status == "blocked"
    assert assess_failure("x", 403, "Forbidden").status == "failing"
    assert assess_failure("x", 500, "document.cookie").status == "failing"


def test_layout_fingerprint_follows_markup_not_content() -> None:
    def page(cls: str, titles: list[str]) -> str:
        items = "".join(f'<li><a href="/a/{i}.html">{t}</a></li>' for i, t in enumerate(titles))
        return f'<html><body><ul class="{cls}">{items}</ul><a href="/about">about</a></body></html>'

    urls = [f"http://x.test/a/{i}.html" for i in range(3)]
    one = layout_fingerprint(page("news", ["一", "二", "三"]), "http://x.test/", urls)
    two = layout_fingerprint(page("news", ["四", "五", "六"]), "http://x.test/", urls)
    other = layout_fingerprint(page("list-v2", ["一", "二", "三"]), "http://x.test/", urls)
    assert one and one == two and one != other
