"""``herald demo``: the demo site, a webhook receiver and herald's embedded mode, together.

Everything runs on 127.0.0.1 in this process; it must not reach the network. The receiver's
signing secret is generated afresh for each run and the config holding it is written 0600.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from rich.console import Console

from worker.config import load_config
from worker.configfile import new_webhook_secret
from worker.demo.receiver import Received, WebhookReceiver
from worker.demo.site import DemoSite
from worker.files import write_atomic


def write_demo_config(workdir: Path, site: DemoSite, hook_url: str, secret: str) -> Path:
    source = site.source_toml(
        "cast-cases", interval="5s", settings='tags = ["工作案例"]\nbackfill = 5'
    )
    text = f"""# written by `herald demo`
[herald]
database_url = "sqlite:///herald.db"
feeds_dir = "feeds"
sweep_interval = "3s"

[network]
allow = ["127.0.0.1/32"]   # the demo site and receiver are on loopback, refused by default

{source}
[[subscribers]]
name = "demo-hook"
channel = "webhook"
url = "{hook_url}"
secret = "{secret}"
"""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "herald.toml"
    write_atomic(path, text.encode("utf-8"), private=True)
    return path


class StoredCount:
    """How many articles the demo's store holds, read on its own connection."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def read(self) -> int:
        from sqlalchemy.exc import SQLAlchemyError

        from worker.store.db import make_engine, make_session_factory
        from worker.store.stats import articles_per_source

        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine)() as session:
                return sum(articles_per_source(session).values())
        except SQLAlchemyError:  # not created yet: herald migrates it as it starts
            return 0
        finally:
            engine.dispose()

    def settled(self, stop: threading.Event, every: float = 0.5) -> int:
        """Wait until the count is above zero and stopped growing; 0 if stopped first."""
        last = 0
        while not stop.wait(every):
            count = self.read()
            if count and count == last:
                return count
            last = count
        return 0


def run_demo(
    workdir: Path, *, articles: int, seconds: float | None, every: float, console: Console
) -> None:
    from worker.embedded import end_process, run_worker

    site = DemoSite(articles=articles, page_size=10)
    site.start()

    def echo(msg: Received) -> None:
        data = msg.payload.get("data", {})
        console.print(
            f"[green]webhook received[/green] {msg.webhook_id}: {data.get('title')} "
            f"({data.get('published_at')})",
            highlight=False,
        )

    secret = new_webhook_secret()
    receiver = WebhookReceiver(secret=secret, echo=echo)
    receiver.start()
    config = load_config(write_demo_config(workdir, site, receiver.url("/hook"), secret))
    console.print(f"demo site:    {site.list_url}")
    console.print(f"receiver:     {receiver.url('/hook')} (verifies Standard Webhooks signatures)")
    console.print(f"config:       {config.path}")
    console.print(f"feeds:        {config.herald.feeds_dir}/all.xml, all.atom, all.json")
    console.print(
        f"First poll: herald imports the {articles} articles already on the site (stored and put "
        "in the feeds, not pushed: only articles published from now on are)."
    )
    console.print(f"A new article is published on the demo site every {every:g} s. Ctrl-C stops.")
    stop = threading.Event()
    stored = StoredCount(config.herald.database_url)

    def report_import() -> None:
        count = stored.settled(stop)
        if count:
            console.print(f"[green]imported[/green] {count} article(s) from the site; waiting "
                          "for new ones", highlight=False)  # fmt: skip

    threading.Thread(target=report_import, daemon=True).start()

    def publish_more() -> None:
        while not stop.wait(every):
            article = site.add_article()
            console.print(f"[cyan]site published[/cyan] {article.title}", highlight=False)

    threading.Thread(target=publish_more, daemon=True).start()
    if seconds is not None:
        timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()
    try:
        run_worker(config, loglevel="WARNING", quiet=True)
    finally:
        stop.set()
        console.print(
            f"demo: {stored.read()} article(s) stored, {len(receiver.unique_ids())} webhook(s) "
            f"received, {receiver.rejected} rejected; feeds in {config.herald.feeds_dir}"
        )
        receiver.stop()
        site.stop()
    end_process(0)
