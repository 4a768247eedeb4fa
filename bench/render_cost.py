"""Benchmark: what a poll costs when the column sits behind a JavaScript challenge.

One ``tests.support.challenge_site.ChallengeSite`` on 127.0.0.1 with ``--articles`` articles per
column, and two sources read by ``herald run --once`` from an empty database (SQLite, default
settings, one thread), each in its own process:

- **plain**: ``/plain/`` — an ordinary column: list and articles answered at once;
- **challenge**: ``/jsl/`` — every page answers 521 with a script that computes a cookie and
  reloads, and the list is built by an XHR. herald renders the list in headless Chromium (the
  system's), takes the cookie, and reads every article with the ordinary fetcher.

Each pass is timed from the process's start to its exit (interpreter start-up, migrations,
browser start and stop included). Peak memory is the largest sum of RSS over the herald
process and all its descendants (Playwright's driver, Chromium's processes), sampled every
20 ms. The site's log says how many requests each path got; the source row how many pages the
browser rendered. Last, in this process: what the browser's start costs (a first render
against one with the browser already up, medians of ``--runs`` fresh renderers).

    .venv/bin/python bench/render_cost.py --articles 20 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from _common import ROOT, write_report

sys.path.insert(0, str(ROOT))

SCENARIOS = ("plain", "challenge")
COLUMN = {"plain": "plain", "challenge": "jsl"}


def write_config(directory: Path, url: str) -> Path:
    path = directory / "herald.toml"
    path.write_text(
        f"""
[herald]
database_url = "sqlite:///herald.db"
feeds_dir = "feeds"

[network]
allow = ["127.0.0.1"]

[web]
enabled = false

[[sources]]
name = "column"
url = "{url}"
kind = "auto"
backfill = 1
""",
        encoding="utf-8",
    )
    return path


def tree_memory(proc: psutil.Process) -> tuple[int, int]:
    """(RSS, PSS) summed over ``proc`` and its descendants. RSS counts the pages Chromium's
    processes share once per process; PSS splits each shared page among its sharers."""
    rss = pss = 0
    for member in [proc, *proc.children(recursive=True)]:
        try:
            full = member.memory_full_info()
        except psutil.Error:
            continue
        rss += full.rss
        pss += getattr(full, "pss", full.rss)
    return rss, pss


def run_pass(config: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["PYTHONPATH"] = str(ROOT)
    log = config.parent / "run.log"
    peak_rss = peak_pss = 0
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "--config", str(config), "run", "--once"],
            cwd=config.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        watched = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                rss, pss = tree_memory(watched)
            except psutil.Error:
                rss = pss = 0
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(0.05)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"run --once failed:\n{log.read_text(errors='replace')[-3000:]}")
    with sqlite3.connect(config.parent / "herald.db") as conn:
        articles = conn.execute("select count(*) from articles").fetchone()[0]
        renders, status = conn.execute("select renders, status from sources").fetchone()
    return {
        "wall_s": wall, "peak_tree_rss_mb": peak_rss / 2**20,
        "peak_tree_pss_mb": peak_pss / 2**20, "articles": articles,
        "browser_pages": renders, "status": status,
    }  # fmt: skip


def browser_start(runs: int) -> dict[str, float]:
    """Medians over ``runs`` fresh renderers: the challenged list rendered once with the browser
    still to start, then again with it up (the earned cookies dropped in between)."""
    from tests.support.challenge_site import ChallengeSite
    from worker.config import BrowserSettings
    from worker.fetch import Fetcher
    from worker.netguard import Policy
    from worker.render.browser import Renderer
    from worker.render.locate import locate_chromium

    site = ChallengeSite().start()
    first, warm = [], []
    try:
        for _ in range(runs):
            renderer = Renderer(BrowserSettings(), locate_chromium())
            fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.1"]))
            for times in (first, warm):
                fetcher.cookies.clear()
                started = time.perf_counter()
                renderer.render(site.url("/jsl/"), fetcher)
                times.append(time.perf_counter() - started)
            renderer.close()
            fetcher.close()
    finally:
        site.stop()
    return {"first_s": statistics.median(first), "warm_s": statistics.median(warm)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from tests.support.challenge_site import ChallengeSite

    site = ChallengeSite(articles=args.articles).start()
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in SCENARIOS}
    try:
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            for name in SCENARIOS:
                work = Path(tempfile.mkdtemp(prefix=f"herald-render-{name}-"))
                before = len(site.hits)
                result = run_pass(write_config(work, site.url(f"/{COLUMN[name]}/")))
                hits = site.hits[before:]
                result["requests"] = len(hits)
                result["article_gets"] = sum(1 for hit in hits if "/art/" in hit.path)
                results[name].append(result)
                print(name, json.dumps(result), flush=True)
    finally:
        site.stop()
    summary = {
        name: {key: statistics.median(r[key] for r in runs)
               for key in ("wall_s", "peak_tree_rss_mb", "peak_tree_pss_mb", "requests",
                           "article_gets",
                           "browser_pages", "articles")}
        for name, runs in results.items()
    }  # fmt: skip
    plain, challenge = summary["plain"], summary["challenge"]
    print(
        f"| poll ({args.articles} articles, median of {args.runs}) | wall s | peak PSS MB | "
        "peak RSS MB | site requests | article GETs | browser pages | articles stored |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for name, row in summary.items():
        print(
            f"| {name} | {row['wall_s']:.2f} | {row['peak_tree_pss_mb']:.0f} | "
            f"{row['peak_tree_rss_mb']:.0f} | "
            f"{row['requests']:.0f} | {row['article_gets']:.0f} | {row['browser_pages']:.0f} | "
            f"{row['articles']:.0f} |"
        )
    print(
        f"challenge / plain: {challenge['wall_s'] / plain['wall_s']:.2f}× wall, "
        f"{challenge['peak_tree_pss_mb'] / plain['peak_tree_pss_mb']:.2f}× peak memory (PSS)"
    )
    starts = browser_start(args.runs)
    print(
        f"in one process: first render {starts['first_s']:.2f} s (browser start included), "
        f"with the browser up {starts['warm_s']:.2f} s, so the start costs "
        f"{starts['first_s'] - starts['warm_s']:.2f} s"
    )
    if args.json:
        write_report(
            args.json, "render_cost", args, results=results, summary=summary, starts=starts
        )
    complete = all(
        r["articles"] == args.articles and r["status"] == "ok" for runs in results.values()
        for r in runs
    )  # fmt: skip
    return 0 if complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
