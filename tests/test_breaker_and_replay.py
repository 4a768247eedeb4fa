"""The circuit breaker, `herald subscribers enable`, `herald deliveries list/show/replay` and
the configurable retry schedule, against real receivers."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.conftest import SECRET, site_source, webhook_subscriber, write_config
from worker.cli import main
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.embedded import run_once


def _cli(path: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--config", str(path), *args], env={"COLUMNS": "200"})


def _db(directory: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(directory / "herald.db") as conn:
        return list(conn.execute(sql, params))


def _naive(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def test_a_day_of_failures_suspends_and_enable_drains_the_kept_messages_in_order(
    tmp_path: Path, site: DemoSite
) -> None:
    with WebhookReceiver(secret=SECRET) as flaky, WebhookReceiver(secret=SECRET) as ops:
        subs = webhook_subscriber(flaky.url(), name="flaky") + webhook_subscriber(
            ops.url(), name="ops", ops_alerts=True, sources='["nothing-else"]'
        ).replace('sources = ["nothing-else"]', "sources = []")
        path = write_config(tmp_path, sources=site_source(site, backfill=1), subscribers=subs)
        config = load_config(path)
        run_once(config)
        flaky.fail_next(1000, 500)
        first = site.add_article()
        run_once(config)
        assert flaky.messages() == [] and len(ops.messages()) == 1
        (failing_since,) = _db(tmp_path, "select failing_since from subscribers "
                               "where name = 'flaky'")[0]  # fmt: skip
        assert failing_since is not None
        long_ago = datetime.now(UTC) - timedelta(hours=25)  # the endpoint failed for a day
        with sqlite3.connect(tmp_path / "herald.db") as conn:
            conn.execute("update subscribers set failing_since = ? where name = 'flaky'",
                         (_naive(long_ago),))  # fmt: skip
            conn.execute("update deliveries set next_attempt_at = ?",
                         (_naive(datetime.now(UTC) - timedelta(seconds=1)),))  # fmt: skip
        run_once(config)  # the next failed attempt opens the circuit
        ((suspended_at, reason),) = _db(
            tmp_path, "select suspended_at, disabled_reason from subscribers where name = 'flaky'"
        )
        assert suspended_at is not None and "every attempt failed for 24 h" in reason
        alerts = [m for m in ops.messages() if m.payload["type"] == "subscriber.suspended"]
        assert len(alerts) == 1 and alerts[0].payload["data"]["subscriber"] == "flaky"
        second = site.add_article()
        run_once(config)  # suspended: kept, not attempted
        kept = _db(tmp_path, "select d.attempts, d.status from deliveries d join subscribers s "
                   "on s.id = d.subscriber_id where s.name = 'flaky' order by d.id")  # fmt: skip
        assert kept == [(2, "pending"), (0, "pending")]
        listed = _cli(path, "subscribers", "list")
        assert "suspended" in listed.output and "subscribers enable flaky" in listed.output
        status = _cli(path, "status")
        assert "circuit breaker opened: 1 time(s)" in status.output
        assert "subscriber flaky: suspended — every attempt failed" in status.output
        flaky.fail_next(0)
        enabled = _cli(path, "subscribers", "enable", "flaky")
        assert enabled.exit_code == 0, enabled.output
        assert "2 kept message(s)" in enabled.output
        got = [m.payload["data"]["url"] for m in flaky.messages()]
        assert got == [site.article_url(first.id), site.article_url(second.id)]
        assert _db(tmp_path, "select suspended_at, failing_since from subscribers "
                   "where name = 'flaky'") == [(None, None)]  # fmt: skip


def test_410_suspends_at_once_and_replay_resends_with_the_same_webhook_id(
    tmp_path: Path, site: DemoSite
) -> None:
    with WebhookReceiver(secret=SECRET) as gone:
        path = write_config(
            tmp_path,
            sources=site_source(site, backfill=1),
            subscribers=webhook_subscriber(gone.url(), name="gone"),
        )
        config = load_config(path)
        run_once(config)
        gone.fail_next(1, 410)
        site.add_article()
        run_once(config)
        ((delivery_id, status, event_id),) = _db(tmp_path, "select id, status, event_id "
                                                 "from deliveries")  # fmt: skip
        assert status == "failed"
        assert "410" in _db(tmp_path, "select disabled_reason from subscribers")[0][0]
        listed = _cli(path, "deliveries", "list", "--failed")
        assert listed.exit_code == 0 and "article.created" in listed.output
        shown = _cli(path, "deliveries", "show", str(delivery_id))
        assert shown.exit_code == 0 and event_id in shown.output and "410" in shown.output
        created = re.search(r"· created (\S+ \S+)", shown.output)
        assert created and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", created[1])
        skipped = _cli(path, "deliveries", "replay", str(delivery_id))
        assert "skipped" in skipped.output and gone.messages() == []  # still suspended
        assert _cli(path, "subscribers", "enable", "gone").exit_code == 0
        replayed = _cli(path, "deliveries", "replay", "--failed", "--since", "2026-01-01T00:00")
        assert replayed.exit_code == 0, replayed.output
        assert [m.webhook_id for m in gone.messages()] == [event_id]
        assert _db(tmp_path, "select status, attempts from deliveries") == [("delivered", 1)]
        attempts = _db(tmp_path, "select http_status from delivery_attempts order by id")
        assert attempts == [(410,), (200,)]
        assert _cli(path, "deliveries", "replay").exit_code == 2
        assert _cli(path, "deliveries", "show", "999").exit_code == 2


def test_the_retry_schedule_comes_from_the_config(tmp_path: Path, site: DemoSite) -> None:
    with WebhookReceiver(secret=SECRET) as hook:
        path = write_config(
            tmp_path,
            sources=site_source(site, backfill=1),
            subscribers=webhook_subscriber(hook.url()),
            extra_herald="",
        )
        text = path.read_text(encoding="utf-8") + '\n[delivery]\nretry_schedule = ["1h", "2h"]\n'
        path.write_text(text, encoding="utf-8")
        config = load_config(path)
        assert config.delivery.retry_schedule == (3600.0, 7200.0)
        run_once(config)
        hook.fail_next(10, 503)
        before = datetime.now(UTC)
        site.add_article()
        run_once(config)
        ((next_at, attempts),) = _db(tmp_path, "select next_attempt_at, attempts from deliveries")
        wait = datetime.fromisoformat(next_at).replace(tzinfo=UTC) - before
        assert attempts == 1 and timedelta(minutes=47) < wait < timedelta(minutes=73)  # 1 h ± 20 %
