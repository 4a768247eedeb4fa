"""`herald run` on the embedded default: worker + beat in one process, no Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import requests

from tests.conftest import site_source, webhook_subscriber, write_config
from tests.support.chat_fakes import FakeWeCom
from tests.support.fault_cluster import free_port
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
    port = free_port()
    config = write_config(
        tmp_path,
        sources=site_source(site, backfill=2, interval="2s", notify_existing=True),
        subscribers=webhook_subscriber(receiver.url("/hook")) + chat,
        extra_herald='sweep_interval = "1s"',
        web=f"port = {port}",
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
        # the web app runs beside the worker: the same feed, served
        served = requests.get(f"http://127.0.0.1:{port}/feeds/all.atom", timeout=10)
        assert served.status_code == 200 and len(feedparser.parse(served.content).entries) == 16
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        wecom.stop()
    assert code == 0, (tmp_path / "run.log").read_text()[-3000:]
    assert receiver.duplicates() == 0 and receiver.rejected == 0


def test_herald_run_warns_and_goes_on_when_the_web_port_is_taken(
    tmp_path: Path, site: DemoSite, receiver: WebhookReceiver
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = write_config(
            tmp_path,
            sources=site_source(site, backfill=1, interval="2s", notify_existing=True),
            subscribers=webhook_subscriber(receiver.url("/hook")),
            extra_herald='sweep_interval = "1s"',
            web=f"port = {port}",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        log_path = tmp_path / "run.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "worker.cli", "--config", str(config), "run"],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        try:
            assert _wait(lambda: len(receiver.unique_ids()) == 10, 60), log_path.read_text()
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
    text = log_path.read_text()
    assert f"web: cannot listen on 127.0.0.1:{port}" in text
    assert "running without the web app" in text
    assert code == 0
