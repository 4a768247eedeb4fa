"""Benchmark: from an article's publication on a site to its webhook's arrival, p50/p95.

A ``DemoSite`` publishes ``--articles`` new articles one at a time, at random moments (a gap
drawn from 0.5–1.5 × the source's ``interval``), while herald runs with its defaults but for
the source's ``interval`` (``--interval``, 10 s): the embedded default (``herald run``) or
Celery on Redis (a worker and beat, ``--redis-pool``). ``--subscribers`` generic webhooks on a
``WebhookReceiver`` in this process, which notes when each message arrives. Latency is that
moment minus the moment the article was added to the site; the goal is p95 ≤ interval + 2 s.
The source's first poll (which imports the site's one article silently) happens before the
clock starts. Each mode starts from an empty database; every process is stopped at the end.

    .venv/bin/python bench/latency.py --modes embedded,redis --articles 12 --interval 10s
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, write_report
from fanout import (
    SECRET,
    flush_redis,
    herald_commands,
    start_herald,
    stop_process,
    webhook_subscribers,
)

sys.path.insert(0, str(ROOT))

REDIS_URL = "redis://127.0.0.1:6379/13"  # fanout.py's: flushed before and after


def write_config(directory: Path, *, site: Any, receiver_base: str, subscribers: int,
                 interval: str, broker_url: str) -> Path:  # fmt: skip
    """One html source (its one article imported silently on the first poll) polled every
    ``interval``, ``subscribers`` webhooks; everything else herald's defaults."""
    parts = [
        f"""
[herald]
database_url = "sqlite:///herald.db"
broker_url = "{broker_url}"
feeds_dir = "feeds"

[network]
allow = ["127.0.0.0/8", "localhost"]

"""
    ]
    parts.append(site.source_toml("news", interval=interval))
    parts += webhook_subscribers(receiver_base, subscribers)
    path = directory / "herald.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def polled_once(database: Path) -> bool:
    """The first poll stored the site's article (so the next ones are announced)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
            return bool(conn.execute("select count(*) from articles").fetchone()[0])
    except sqlite3.Error:
        return False


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run_mode(mode: str, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from worker.config.checks import parse_duration
    from worker.demo.receiver import WebhookReceiver
    from worker.demo.site import DemoSite

    interval = parse_duration(args.interval)
    work = Path(tempfile.mkdtemp(prefix=f"herald-latency-{mode}-"))
    site = DemoSite(articles=1, page_size=20)
    receiver = WebhookReceiver(secret=SECRET)
    heralds = []
    published: dict[str, float] = {}
    try:
        site.start()
        base = receiver.start()
        broker = REDIS_URL if mode == "redis" else ""
        if broker:
            flush_redis()
        config = write_config(work, site=site, receiver_base=base,
                              subscribers=args.subscribers, interval=args.interval,
                              broker_url=broker)  # fmt: skip
        options = argparse.Namespace(redis_pool=args.redis_pool, workers=args.workers)
        name = "herald-embedded" if mode == "embedded" else "herald-redis"
        for role, command in herald_commands(name, config, options):
            heralds.append(start_herald(role, command, config))
        deadline = time.monotonic() + 120
        while not polled_once(work / "herald.db"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{mode}: no first poll within 120 s")
            time.sleep(0.2)
        started = time.time()
        for n in range(args.articles):
            time.sleep(interval * rng.uniform(0.5, 1.5))
            article = site.add_article(title=f"Latency probe {n + 1}")
            published[site.article_url(article.id)] = time.time()
        expected = args.articles * args.subscribers
        receiver.wait_for(expected, timeout=3 * interval + 60)
        latencies = []
        for message in receiver.messages():
            url = str((message.payload.get("data") or {}).get("url", ""))
            if url in published:
                latencies.append(message.received_at - published[url])
        return {
            "mode": mode, "published": len(published), "expected": expected,
            "received": len(latencies), "duplicates": receiver.duplicates(),
            "p50_s": statistics.median(latencies) if latencies else None,
            "p95_s": percentile(latencies, 0.95) if latencies else None,
            "max_s": max(latencies) if latencies else None,
            "min_s": min(latencies) if latencies else None,
            "goal_s": interval + 2.0, "span_s": time.time() - started,
        }  # fmt: skip
    finally:
        for herald in heralds:
            stop_process(herald.proc)
        receiver.stop()
        site.stop()
        if mode == "redis":
            flush_redis()


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "| mode | articles × subscribers | received | p50 s | p95 s | max s | goal (p95) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        met = r["p95_s"] is not None and r["p95_s"] <= r["goal_s"]
        lines.append(
            f"| {r['mode']} | {r['published']} × {args.subscribers} | {r['received']:,} "
            f"| {r['p50_s']:.2f} | {r['p95_s']:.2f} | {r['max_s']:.2f} "
            f"| ≤ {r['goal_s']:.0f} s: {'met' if met else 'not met'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--modes", default="embedded,redis")
    parser.add_argument("--articles", type=int, default=12)
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--interval", default="10s")
    parser.add_argument("--redis-pool", choices=["threads", "prefork"], default="prefork")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    results = []
    for mode in args.modes.split(","):
        result = run_mode(mode, args, rng)
        print(json.dumps(result), flush=True)
        results.append(result)
    print(table(results, args))
    if args.json:
        write_report(args.json, "latency", args, results=results)
    ok = all(r["received"] == r["expected"] and r["duplicates"] == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
