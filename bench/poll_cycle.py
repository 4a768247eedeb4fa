"""Benchmark: a poll cycle over 200 sources of 50 articles each, on local fixture sites.

``--sources`` ``DemoSite`` columns (``--articles`` each, one list page) on 127.0.0.1, one html
source per column in one herald.toml with ``--subscribers`` generic webhooks, SQLite. Three
passes of ``herald run --once`` (every source polled, everything due done, one thread):

1. **first**: from an empty database, every column's articles imported (fetched, extracted,
   stored; a first poll announces nothing);
2. **idle**: nothing new; every list fetched again (conditional GET) and found unchanged;
3. **news**: one new article on every column, fetched, stored and sent to every subscriber.

Each pass is timed from the process's start to its exit (interpreter start-up and the config
load included); CPU and peak RSS from ``wait4()``. The article GETs each site answered are
counted, and the ledger's deliveries checked.

    .venv/bin/python bench/poll_cycle.py --sources 200 --articles 50 --subscribers 10
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, write_report
from fanout import SECRET, webhook_subscribers

sys.path.insert(0, str(ROOT))


def write_config(directory: Path, sites: list[Any], receiver_base: str, subscribers: int) -> Path:
    parts = [
        """
[herald]
database_url = "sqlite:///herald.db"
feeds_dir = "feeds"

[network]
allow = ["127.0.0.0/8", "localhost"]
"""
    ]
    parts += [site.source_toml(f"col{i:03d}") for i, site in enumerate(sites)]
    parts += webhook_subscribers(receiver_base, subscribers)
    path = directory / "herald.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def run_pass(config: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["PYTHONPATH"] = str(ROOT)
    log = config.parent / "run.log"
    started = time.perf_counter()
    with log.open("wb") as out:  # a file, not a pipe nobody reads while it runs
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "--config", str(config), "run", "--once"],
            cwd=config.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    output = log.read_text(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"run --once failed:\n{output[-3000:]}")
    return {
        "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024, "summary": output.strip().splitlines()[-1:],
    }  # fmt: skip


def counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        articles = conn.execute("select count(*) from articles").fetchone()[0]
        delivered = conn.execute(
            "select count(*) from deliveries where status = 'delivered'"
        ).fetchone()[0]
        rows = conn.execute("select count(*) from deliveries").fetchone()[0]
    return {"articles": articles, "deliveries": rows, "delivered": delivered}


def article_gets(sites: list[Any]) -> int:
    return sum(
        1 for site in sites for method, path, status in site.requests_log
        if method == "GET" and "/art_" in path and status == 200
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--articles", type=int, default=50)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from worker.demo.receiver import WebhookReceiver
    from worker.demo.site import DemoSite

    work = Path(tempfile.mkdtemp(prefix="herald-poll-cycle-"))
    sites = [DemoSite(articles=args.articles, page_size=args.articles) for _ in range(args.sources)]
    receiver = WebhookReceiver(secret=SECRET)
    results: dict[str, Any] = {}
    try:
        for site in sites:
            site.start()
        config = write_config(work, sites, receiver.start(), args.subscribers)
        for name in ("first", "idle", "news"):
            if name == "news":
                for site in sites:
                    site.add_article()
            before = article_gets(sites)
            result = run_pass(config)
            result.update(counts(work / "herald.db"), article_gets=article_gets(sites) - before)
            result["received"] = len(receiver.messages())
            results[name] = result
            print(name, json.dumps(result), flush=True)
    finally:
        receiver.stop()
        for site in sites:
            site.stop()
    first, idle, news = results["first"], results["idle"], results["news"]
    per_source = idle["wall_s"] / args.sources * 1000
    print(
        "| pass | wall s | CPU s | peak RSS MB | article GETs | articles stored | delivered |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    for name, r in results.items():
        print(
            f"| {name} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:.0f} "
            f"| {r['article_gets']:,} | {r['articles']:,} | {r['delivered']:,} |"
        )
    print(f"idle cycle: {per_source:.1f} ms per source; first pass: "
          f"{first['articles'] / first['wall_s']:.0f} articles/s")  # fmt: skip
    if args.json:
        write_report(args.json, "poll_cycle", args, results=results)
    expected = args.sources * (args.articles + 1)
    ok = news["articles"] == expected and news["delivered"] == args.sources * args.subscribers
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
