"""Benchmark: articles per second ingested from a local demo site, in four ways of running herald.

Modes: ``embedded`` (``herald run``: in-memory broker, threads pool), ``redis`` (``celery worker``
+ ``celery beat`` on Redis, SQLite), ``redis+postgres`` (the same on PostgreSQL) and ``once``
(``herald run --once``, eager, one thread). Each run starts from an empty database and a fresh
demo site; wall time runs from process start until the database holds every article.
Results go to stdout (Markdown) and ``bench/results/ingest_throughput.json``.

It must NOT change the project, reach beyond 127.0.0.1, or leave processes, Redis keys or
PostgreSQL databases behind (everything it starts is stopped in ``finally`` blocks).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
from _common import (
    hash_worker,
    machine_info,
    read_cpu_s,
    read_peak_rss_kb,
    run_git,
    tail,
    to_json,
)

from worker.demo.site import DemoSite

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ingest_throughput.json"
MODES = ("embedded", "redis", "redis+postgres", "once")
REDIS_URL = "redis://127.0.0.1:6379/14"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
POLL_EVERY = 0.1
STOP_GRACE = 20.0
TICK_RE = {
    "ingest_new": re.compile(r"ingest: new "),
    "ingest_tasks": re.compile(r"Task herald\.ingest_article\[[^\]]+\] succeeded"),
    "ingest_skipped": re.compile(r"'outcome': 'skipped'"),
    "sweeps": re.compile(r"Task herald\.sweep\[[^\]]+\] succeeded"),
    "polls": re.compile(r"Task herald\.poll_source\[[^\]]+\] succeeded"),
    "feed_builds": re.compile(r"Task herald\.build_feeds\[[^\]]+\] succeeded"),
}


@dataclass
class Herald:
    """One started herald process and where its output goes."""

    role: str
    proc: subprocess.Popen[bytes]
    log: Path
    peak_rss_kb: int = 0
    cpu_s: float = 0.0


@dataclass
class RunResult:
    mode: str
    ok: bool
    wall_s: float = math.nan
    articles_per_s: float = math.nan
    first_article_s: float = math.nan
    first_to_last_s: float = math.nan
    steady_articles_per_s: float = math.nan
    peak_rss_mb: float = math.nan
    cpu_s: float = math.nan
    bench_cpu_s: float = math.nan
    article_gets: int = 0
    list_gets: int = 0
    stored: int = 0
    processes: dict[str, dict[str, float]] = field(default_factory=dict)
    log_counts: dict[str, int] = field(default_factory=dict)
    error: str = ""


# --- setup ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--articles", type=int, default=200, help="articles on the demo site")
    parser.add_argument("--page-size", type=int, default=20, help="articles per list page")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (median reported)")
    parser.add_argument("--workers", type=int, default=4, help="worker threads (-c / workers)")
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated subset of {', '.join(MODES)}"
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds allowed per run")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument(
        "--code",
        choices=("head", "live"),
        default="head",
        help="run herald from a snapshot of the committed worker/ (head) or the working tree",
    )
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy run logs here")
    args = parser.parse_args(argv)
    unknown = set(args.modes.split(",")) - set(MODES)
    if unknown:
        parser.error(f"--modes: unknown mode(s) {', '.join(sorted(unknown))}")
    return args


def start_site(articles: int, page_size: int) -> DemoSite:
    """A fresh demo site with every page rendered ahead, so serving costs little CPU here."""
    site = DemoSite(articles=articles, page_size=page_size)
    site.start()
    for page in range(1, site.page_count + 1):
        site.render_list(page)
    for article in site.articles:
        site.render_article(article)
    return site


def write_config(
    directory: Path, site: DemoSite, *, database_url: str, broker_url: str, workers: int
) -> Path:
    """herald.toml for one run: one html source with a backfill covering every list page."""
    source = site.source_toml(
        "cases", settings=f'backfill = {site.page_count}\ntags = ["工作案例"]'
    )
    text = f"""
[herald]
database_url = "{database_url}"
broker_url = "{broker_url}"
feeds_dir = "feeds"
base_url = "http://feeds.test"
sweep_interval = "1s"
workers = {workers}

[network]
allow = ["127.0.0.1"]  # the local benchmark site, on purpose
connect_timeout = "2s"
read_timeout = "5s"
deadline = "10s"

{source}"""
    path = directory / "herald.toml"
    path.write_text(text, encoding="utf-8")
    return path


def flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def create_postgres_db() -> str:
    """A fresh empty database; returns its name."""
    name = f"herald_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_postgres_db(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_url(name: str) -> str:
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


# --- database probes --------------------------------------------------------------------------


def make_sqlite_counter(path: Path) -> Callable[[], int | None]:
    """Count stored articles read-only; None while the file or table does not exist yet."""

    def count() -> int | None:
        if not path.exists():
            return None
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        except sqlite3.Error:
            return None
        try:
            return int(conn.execute("select count(*) from articles").fetchone()[0])
        except sqlite3.Error:
            return None
        finally:
            conn.close()

    return count


class PostgresCounter:
    """Count stored articles over one autocommit connection; None until the table exists."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)

    def __call__(self) -> int | None:
        try:
            row = self.conn.execute("select count(*) from articles").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
        return int(row[0]) if row else None

    def close(self) -> None:
        self.conn.close()


# --- processes --------------------------------------------------------------------------------


CODE_PATH: list[str] = []  # a folder holding the worker/ package to run, when snapshotted


def snapshot_worker(target: Path, commit: str) -> str:
    """Extract worker/ as of ``commit`` into ``target`` (read-only for the repository)."""
    archive = subprocess.run(
        ["git", "archive", commit, "worker"], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True, timeout=60)
    return str(target)


def herald_env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["HERALD_CONFIG"] = str(config)
    env["PYTHONUNBUFFERED"] = "1"
    if CODE_PATH:
        env["PYTHONPATH"] = os.pathsep.join([*CODE_PATH, env.get("PYTHONPATH", "")]).rstrip(":")
    return env


def start_process(role: str, args: list[str], config: Path) -> Herald:
    log = config.parent / f"{role}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *args],
            env=herald_env(config),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=config.parent,
            start_new_session=True,
        )
    return Herald(role, proc, log)


def record_usage(herald: Herald) -> None:
    herald.peak_rss_kb = max(herald.peak_rss_kb, read_peak_rss_kb(herald.proc.pid))
    herald.cpu_s = max(herald.cpu_s, read_cpu_s(herald.proc.pid))


def reap_with_usage(herald: Herald) -> bool:
    """Reap the process if it has exited, keeping its rusage; True once it has."""
    if herald.proc.returncode is not None:
        return True
    pid, status, usage = os.wait4(herald.proc.pid, os.WNOHANG)
    if pid == 0:
        return False
    herald.proc.returncode = os.waitstatus_to_exitcode(status)
    herald.peak_rss_kb = max(herald.peak_rss_kb, usage.ru_maxrss)
    herald.cpu_s = usage.ru_utime + usage.ru_stime
    return True


def stop_process(herald: Herald) -> None:
    """SIGTERM (warm shutdown), then SIGKILL to its own process group after a grace period."""
    proc = herald.proc
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def count_log_lines(heralds: list[Herald]) -> dict[str, int]:
    counts = dict.fromkeys(TICK_RE, 0)
    for herald in heralds:
        text = tail(herald.log, 50_000_000)
        for key, pattern in TICK_RE.items():
            counts[key] += len(pattern.findall(text))
    return counts


# --- one run ----------------------------------------------------------------------------------


def commands_for(mode: str, config: Path, workers: int) -> list[tuple[str, list[str]]]:
    if mode == "embedded":
        return [("run", ["-m", "worker.cli", "--config", str(config), "run"])]
    if mode == "once":
        return [("once", ["-m", "worker.cli", "--config", str(config), "run", "--once"])]
    celery = ["-m", "celery", "-A", "worker"]
    return [
        (
            "worker",
            [*celery, "worker", "-P", "threads", "-c", str(workers), "--loglevel", "INFO"],
        ),
        ("beat", [*celery, "beat", "--loglevel", "INFO", "-s", str(config.parent / "beat-sched")]),
    ]


def run_mode(mode: str, args: argparse.Namespace, run_index: int) -> RunResult:
    """One run of one mode from an empty database; every resource is released on the way out."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="herald-bench-")))
        site = start_site(args.articles, args.page_size)
        stack.callback(site.stop)
        broker = REDIS_URL if mode.startswith("redis") else ""
        if broker:
            flush_redis()
            stack.callback(flush_redis)
        database_url = "sqlite:///herald.db"
        counter: Callable[[], int | None] = make_sqlite_counter(workdir / "herald.db")
        if mode == "redis+postgres":
            name = create_postgres_db()
            stack.callback(drop_postgres_db, name)
            database_url = postgres_url(name)
            pg_counter = PostgresCounter(database_url)
            stack.callback(pg_counter.close)
            counter = pg_counter
        config = write_config(
            workdir, site, database_url=database_url, broker_url=broker, workers=args.workers
        )
        heralds: list[Herald] = []
        try:
            result = measure(mode, args, config, counter, heralds, site)
        finally:
            for herald in reversed(heralds):
                stop_process(herald)
            if args.keep_logs is not None:
                keep_logs(args.keep_logs, mode, run_index, heralds)
        result.log_counts = count_log_lines(heralds)
        return result
    raise AssertionError("unreachable")


def measure(
    mode: str,
    args: argparse.Namespace,
    config: Path,
    counter: Callable[[], int | None],
    heralds: list[Herald],
    site: DemoSite,
) -> RunResult:
    """Start the processes, poll the database every POLL_EVERY s, stop at ``args.articles``."""
    target = args.articles
    own = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    for role, command in commands_for(mode, config, args.workers):
        heralds.append(start_process(role, command, config))
    first_seen = last_seen = math.nan
    stored = 0
    exited = False
    deadline = started + args.timeout
    next_tick = started
    while time.monotonic() < deadline:
        if mode == "once":
            exited = reap_with_usage(heralds[0])
        else:
            for herald in heralds:
                record_usage(herald)
        stored = counter() or 0
        now = time.monotonic()
        if stored > 0 and math.isnan(first_seen):
            first_seen = now
        if stored >= target and math.isnan(last_seen):
            last_seen = now
        if mode == "once" and exited:
            break
        if mode != "once" and stored >= target:
            break
        if mode != "once" and any(h.proc.poll() is not None for h in heralds):
            dead = next(h for h in heralds if h.proc.returncode is not None)
            return failed(mode, f"{dead.role} exited with {dead.proc.returncode}", heralds, stored)
        next_tick += POLL_EVERY
        time.sleep(max(0.0, next_tick - time.monotonic()))
    finished = time.monotonic()
    if mode != "once":
        for herald in heralds:
            record_usage(herald)  # VmHWM and CPU time just before the processes are stopped
    if mode == "once":
        if not exited:
            return failed(
                mode, f"run --once still running after {args.timeout:g}s", heralds, stored
            )
        if heralds[0].proc.returncode != 0:
            code = heralds[0].proc.returncode
            return failed(mode, f"run --once exited with {code}", heralds, stored)
        if math.isnan(last_seen) and stored >= target:
            last_seen = finished
    if stored < target:
        return failed(
            mode, f"only {stored}/{target} articles after {args.timeout:g}s", heralds, stored
        )
    wall = finished - started
    span = last_seen - first_seen
    used = resource.getrusage(resource.RUSAGE_SELF)
    bench_cpu = used.ru_utime + used.ru_stime - own.ru_utime - own.ru_stime
    return RunResult(
        mode=mode,
        ok=True,
        wall_s=wall,
        articles_per_s=target / wall,
        first_article_s=first_seen - started,
        first_to_last_s=span,
        steady_articles_per_s=(target - 1) / span if span > 0 else math.nan,
        peak_rss_mb=sum(h.peak_rss_kb for h in heralds) / 1024,
        cpu_s=sum(h.cpu_s for h in heralds),
        bench_cpu_s=bench_cpu,
        article_gets=count_hits(site, "/art/", ".html"),
        list_gets=count_hits(site, "/col/", ".html"),
        stored=stored,
        processes={
            h.role: {"peak_rss_mb": h.peak_rss_kb / 1024, "cpu_s": h.cpu_s} for h in heralds
        },
    )


def count_hits(site: DemoSite, prefix: str, suffix: str) -> int:
    return sum(
        1
        for _, path, _ in list(site.requests_log)
        if path.startswith(prefix) and path.endswith(suffix)
    )


def failed(mode: str, why: str, heralds: list[Herald], stored: int) -> RunResult:
    logs = "\n".join(f"--- {h.role}.log (tail) ---\n{tail(h.log)}" for h in heralds)
    return RunResult(mode=mode, ok=False, stored=stored, error=f"{mode}: {why}\n{logs}")


def keep_logs(target: Path, mode: str, run_index: int, heralds: list[Herald]) -> None:
    folder = target / f"{mode.replace('+', '-')}-{run_index}"
    folder.mkdir(parents=True, exist_ok=True)
    for herald in heralds:
        (folder / herald.log.name).write_bytes(herald.log.read_bytes())
    config = heralds[0].log.parent / "herald.toml" if heralds else None
    if config is not None and config.exists():
        (folder / "herald.toml").write_bytes(config.read_bytes())


# --- report -----------------------------------------------------------------------------------

NUMERIC = (
    "wall_s",
    "articles_per_s",
    "first_article_s",
    "first_to_last_s",
    "steady_articles_per_s",
    "peak_rss_mb",
    "cpu_s",
    "bench_cpu_s",
    "article_gets",
    "list_gets",
)


def summarise(runs: list[RunResult]) -> dict[str, Any]:
    """Median of every numeric field over the successful runs."""
    good = [r for r in runs if r.ok]
    median: dict[str, float] = {}
    for key in NUMERIC:
        values = [float(getattr(r, key)) for r in good if not math.isnan(float(getattr(r, key)))]
        median[key] = statistics.median(values) if values else math.nan
    return {"ok_runs": len(good), "failed_runs": len(runs) - len(good), "median": median}


def format_table(summary: dict[str, dict[str, Any]], runs: int) -> str:
    header = (
        "| mode | articles/s (wall) | wall s | 1st article at s | first→last s "
        "| steady articles/s | peak RSS MB | CPU s | article GETs | ok runs |"
    )
    lines = [header, "|" + "---|" * 10]
    for mode, data in summary.items():
        m = data["median"]
        lines.append(
            f"| {mode} | {m['articles_per_s']:.1f} | {m['wall_s']:.2f} | "
            f"{m['first_article_s']:.2f} | {m['first_to_last_s']:.2f} | "
            f"{m['steady_articles_per_s']:.1f} | {m['peak_rss_mb']:.0f} | {m['cpu_s']:.1f} | "
            f"{m['article_gets']:.0f} | {data['ok_runs']}/{runs} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    commit = run_git("rev-parse", "HEAD")
    code: dict[str, Any] = {"commit": commit}
    with tempfile.TemporaryDirectory(prefix="herald-bench-code-") as snapshot:
        if args.code == "head":
            if not commit:
                sys.exit("snapshot: git rev-parse HEAD failed (use --code live)")
            CODE_PATH[:] = [snapshot_worker(Path(snapshot), commit)]
            code["source"] = f"git archive {commit[:12]} worker"
        else:
            code["source"] = "working tree"
            code["worker_changes"] = run_git("status", "--porcelain", "--", "worker").splitlines()
        return run_all(args, code)


def run_all(args: argparse.Namespace, code: dict[str, Any]) -> int:
    modes = [m for m in MODES if m in args.modes.split(",")]
    load_before = os.getloadavg()
    code_root = Path(CODE_PATH[0]) if CODE_PATH else ROOT
    code["worker_sha256"] = hash_worker(code_root)
    runs: dict[str, list[RunResult]] = {mode: [] for mode in modes}
    for index in range(1, args.runs + 1):
        for mode in modes:  # interleaved, so slow drift of the machine hits every mode alike
            result = run_mode(mode, args, index)
            runs[mode].append(result)
            state = f"{result.articles_per_s:.1f} articles/s" if result.ok else "FAILED"
            print(f"run {index}/{args.runs} {mode}: {state}", file=sys.stderr, flush=True)
            if not result.ok:
                print(result.error, file=sys.stderr, flush=True)
    summary = {mode: summarise(results) for mode, results in runs.items()}
    code["changed_during_run"] = hash_worker(code_root) != code["worker_sha256"]
    if code["changed_during_run"]:
        print("warning: worker/ changed while the benchmark ran", file=sys.stderr)
    report = {
        "benchmark": "ingest_throughput",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            **machine_info(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "code": code,
        "params": {
            "articles": args.articles,
            "page_size": args.page_size,
            "backfill_pages": -(-args.articles // args.page_size),
            "workers": args.workers,
            "runs": args.runs,
            "sweep_interval_s": 1.0,
            "poll_every_s": POLL_EVERY,
        },
        "modes": {
            mode: {**summary[mode], "runs": [asdict(r) for r in runs[mode]]} for mode in modes
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n")
    print(format_table(summary, args.runs))
    print(f"\nJSON: {args.output}")
    return 0 if all(s["failed_runs"] == 0 for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
