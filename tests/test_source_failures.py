"""A broken source is marked failing with its reason; every other source carries on."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import site_source, webhook_subscriber, write_config
from tests.support.faults import GBK_TITLE, FaultSite
from worker.cli import main
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.embedded import run_once


@pytest.fixture()
def faults() -> Iterator[str]:
    server = FaultSite()
    base = server.start()
    yield base
    server.stop()


def _feed(name: str, url: str) -> str:
    return f'\n[[sources]]\nname = "{name}"\nurl = "{url}"\nkind = "feed"\nnotify_existing = true\n'


def test_broken_sources_fail_with_reasons_and_the_rest_carries_on(
    tmp_path: Path, faults: str, site: DemoSite, receiver: WebhookReceiver
) -> None:
    sources = "".join(
        _feed(name, f"{faults}/{path}")
        for name, path in [
            ("http500", "500"),
            ("hangs", "hang"),
            ("huge", "huge"),
            ("malformed", "malformed.xml"),
            ("gbk", "gbk.xml"),
        ]
    ) + site_source(site, backfill=2, notify_existing=True)
    path = write_config(tmp_path, sources=sources, subscribers=webhook_subscriber(receiver.url()))
    started = time.monotonic()
    run_once(load_config(path))
    assert time.monotonic() - started < 30

    with sqlite3.connect(tmp_path / "herald.db") as conn:
        health = {
            name: (status, failures, error)
            for name, status, failures, error in conn.execute(
                "select name, status, consecutive_failures, last_error from sources"
            )
        }
        titles = {t for (t,) in conn.execute("select title from articles")}
    assert health["http500"][:2] == ("failing", 1) and "HTTP 500" in health["http500"][2]
    assert health["hangs"][:2] == ("failing", 1) and "no response within 2 s" in health["hangs"][2]
    assert health["huge"][:2] == ("failing", 1) and "exceeds the limit" in health["huge"][2]
    assert health["malformed"][:2] == ("failing", 1) and "malformed" in health["malformed"][2]
    assert health["gbk"][:2] == ("ok", 0)  # gb2312 label, gb18030 bytes: decoded, not failed
    assert health["cases"][:2] == ("ok", 0)
    assert GBK_TITLE in titles and len(titles) == 16
    assert len(receiver.unique_ids()) == 16

    result = CliRunner().invoke(main, ["--config", str(path), "status"])
    assert result.exit_code == 0, result.output
    assert "failing" in result.output and "http500" in result.output
