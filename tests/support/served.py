"""A herald with stored articles and a digest, served by a real ``herald serve`` process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from click.testing import CliRunner

from tests.conftest import SECRET, site_source, write_config
from tests.support.fault_cluster import free_port, tail, wait_until
from worker.cli import main
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.embedded import run_once


@dataclass
class Served:
    root: str  # http://127.0.0.1:PORT/
    directory: Path
    config_path: Path
    site: DemoSite
    digest_key: str

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(self.root + path.lstrip("/"), timeout=10, **kwargs)  # type: ignore[arg-type]


def digest_block(url: str) -> str:
    return f"""
[[subscribers]]
name = "team"
channel = "webhook"
url = "{url}"
secret = "{SECRET}"
mode = "digest"
schedule = "0 8 * * *"
"""


@contextmanager
def serve_process(config_path: Path, port: int, log: Path) -> Iterator[str]:
    """``herald serve`` on ``port`` until the block ends; yields its root URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "--config", str(config_path), "serve",
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    root = f"http://127.0.0.1:{port}/"

    def up() -> bool:
        try:
            return requests.get(root + "healthz", timeout=1).status_code in (200, 503)
        except requests.RequestException:
            return False

    try:
        assert wait_until(up, 30), tail(log)
        yield root
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@contextmanager
def served_herald(directory: Path, *, hub: str = "", extra: str = "") -> Iterator[Served]:
    """15 articles of a demo column stored, one digest built, ``herald serve`` answering."""
    feeds = f'[feeds]\nwebsub_hub = "{hub}"\n' if hub else ""
    with DemoSite(articles=15, page_size=10) as site, WebhookReceiver(secret=SECRET) as hook:
        path = write_config(
            directory,
            sources=site_source(site, backfill=2),
            subscribers=digest_block(hook.url("/hook")),
            extra=feeds + extra,
        )
        config = load_config(path)
        run_once(config)
        site.add_article(title="新增：关于开展 2026 年科普月活动的通知")
        run_once(config)
        result = CliRunner().invoke(main, ["--config", str(path), "digest", "send", "team"])
        assert result.exit_code == 0, result.output
        (message,) = hook.messages()
        built = CliRunner().invoke(main, ["--config", str(path), "feeds", "build"])
        assert built.exit_code == 0, built.output
        with serve_process(path, free_port(), directory / "serve.log") as root:
            yield Served(root, directory, path, site, message.payload["data"]["key"])
