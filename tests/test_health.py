"""Source health: blocked, degraded and failing sources show their reason; ops alerts are sent."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import webhook_subscriber, write_config
from tests.support.faults import FaultSite
from worker.cli import main
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.embedded import run_once
from worker.health import assess_failure, assess_poll, layout_fingerprint


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
