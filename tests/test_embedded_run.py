"""`herald run` on the embedded default: worker + beat in one process, no Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import feedparser

from tests.conftest import site_source, webhook_subscriber, write_config
from tests.support.chat_fakes import FakeWeCom
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite


def _wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_herald_run_embedded(tmp_path: Path, site: DemoSite, receiver: WebhookReceiver) -> None:
    wecom = FakeWeCom()
    wecom.start()
    chat = f'[[subscribers]]\nname = "wecom"\nchannel = "wecom"\nurl = "{wecom.url()}"\n'
    config = write_config(
        tmp_path,
        sources=site_source(site, backfill=2, interval="2s", notify_existing=True),
        subscribers=webhook_subscriber(receiver.url("/hook")) + chat,
        extra_herald='sweep_interval = "1s"',
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "--config", str(config), "run"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        got_all = _wait(lambda: len(receiver.unique_ids()) == 15, 60)
        assert got_all, (tmp_path / "run.log").read_text()[-3000:]
        added = site.add_article()
        assert _wait(lambda: len(receiver.unique_ids()) == 16, 30)
        assert receiver.messages()[-1].payload["data"]["url"] == site.article_url(added.id)
        # the chat subscriber gets the same articles folded into WeCom markdown messages
        path = f"art_1_{added.id}.html"
        got = _wait(lambda: any(path in m.raw.decode() for m in wecom.messages()), 30)
        assert got, [(r.status, r.code, r.message, r.detail) for r in wecom.rejected]
        assert len(wecom.messages()) < 16 and wecom.rejected == []
        feed = tmp_path / "feeds" / "all.atom"
        assert _wait(
            lambda: feed.exists() and len(feedparser.parse(feed.read_bytes()).entries) == 16, 20
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        wecom.stop()
    assert code == 0
    assert receiver.duplicates() == 0 and receiver.rejected == 0
