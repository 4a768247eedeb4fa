"""Benchmark: poll → stored articles per second from a local 2,000-article Hanweb column,
beside bare trafilatura over the same article pages.

One ``tests.support.cms_sites.HanwebSite`` (classic Hanweb: XML datastore on the column page,
``dataproxy.jsp`` for the rest) is served on 127.0.0.1 with every page rendered ahead. Modes:

- ``once``: ``herald run --once`` (one process, eager, one thread) from an empty SQLite database,
  one source with ``kind = "hanweb"`` and a backfill covering the whole column;
- ``embedded``: ``herald run`` (worker threads + beat in one process), same config;
- ``bare``: a fresh Python process that GETs every article page with one ``requests.Session``
  and runs ``trafilatura.extract(page, url=…, output_format="txt", with_metadata=True)``;
- ``bare-extract``: a fresh process that first fetches every page (untimed), then times
  ``trafilatura.extract`` alone over the bytes.

herald is timed from process start until ``select count(*) from articles`` reaches the column
size (polled every 0.1 s); the bare modes from process start until exit. Peak memory is VmHWM
(``/proc``) for ``embedded`` and ``ru_maxrss`` (``wait4``) for the others. Results go to
stdout (Markdown) and ``bench/results/hanweb_throughput.json``.

It must NOT change the project, reach beyond 127.0.0.1, or leave processes or files behind.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import requests
import trafilatura

if TYPE_CHECKING:
    from ingest_throughput import Herald

    from tests.support.cms_sites import HanwebSite

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "hanweb_throughput.json"
MODES = ("once", "embedded", "bare", "bare-extract")
HERALD_MODES = ("once", "embedded")
BEIJING = ZoneInfo("Asia/Shanghai")
POLL_EVERY = 0.1
GOAL_SHARE = 0.60
FURNITURE_MARKS = ("打印本页", "关闭窗口", "【字体", "版权所有", "Produced By")


@dataclass
class RunResult:
    mode: str
    ok: bool
    wall_s: float = math.nan
    articles_per_s: float = math.nan
    first_article_s: float = math.nan
    first_to_last_s: float = math.nan
    steady_articles_per_s: float = math.nan
    loop_s: float = math.nan
    loop_articles_per_s: float = math.nan
    exit_s: float = math.nan
    peak_rss_mb: float = math.nan
    cpu_s: float = math.nan
    stored: int = 0
    titles_ok: int = 0
    days_ok: int = 0
    bodies_ok: int = 0
    article_gets: int = 0
    proxy_requests: int = 0
    column_gets: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    error: str = ""


# --- setup ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--articles", type=int, default=2000, help="articles in the column")
    parser.add_argument("--per-page", type=int, default=15, help="records per list page")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (median reported)")
    parser.add_argument("--workers", type=int, default=4, help="threads of `herald run`")
    parser.add_argument("--kind", choices=("hanweb", "auto"), default="hanweb")
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated subset of {', '.join(MODES)}"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per run")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument(
        "--code",
        choices=("head", "live"),
        default="head",
        help="run herald from a snapshot of the committed worker/ (head) or the working tree",
    )
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy herald logs here")
    parser.add_argument("--baseline-child", choices=("fetch", "extract"), help=argparse.SUPPRESS)
    parser.add_argument("--urls", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.modes.split(",")) - set(MODES)
    if unknown:
        parser.error(f"--modes: unknown mode(s) {', '.join(sorted(unknown))}")
    return args


def start_site(articles: int, per_page: int) -> HanwebSite:
    """A started Hanweb column with its column page and every article page rendered ahead."""
    from tests.support import cms_sites

    cms_sites.ARTICLE_CACHE_SIZE = max(cms_sites.ARTICLE_CACHE_SIZE, articles + 16)
    site = cms_sites.HanwebSite(articles=articles, per_page=per_page)
    site.start()
    site.cached_list("column", site.render_column)
    for article in site.articles:
        site.cached_article(article)
    return site


def backfill_pages(articles: int, per_page: int) -> int:
    return max(1, -(-articles // per_page))


def write_config(directory: Path, site: HanwebSite, args: argparse.Namespace) -> Path:
    """herald.toml: one Hanweb source whose first poll walks the whole column."""
    text = f"""
[herald]
database_url = "sqlite:///herald.db"
broker_url = ""
feeds_dir = "feeds"
base_url = "http://feeds.test"
sweep_interval = "1s"
workers = {args.workers}

[network]
allow = ["127.0.0.1"]  # the local benchmark site, on purpose
connect_timeout = "2s"
read_timeout = "5s"
deadline = "10s"

[[sources]]
name = "column"
url = "{site.list_url}"
kind = "{args.kind}"
interval = "1h"
backfill = {backfill_pages(args.articles, args.per_page)}
"""
    path = directory / "herald.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- herald modes -----------------------------------------------------------------------------


def run_herald(mode: str, args: argparse.Namespace, site: HanwebSite, run_index: int) -> RunResult:
    """One herald run from an empty database; the process is stopped on the way out."""
    import ingest_throughput as it

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="herald-hanweb-")))
        config = write_config(workdir, site, args)
        counter = it.make_sqlite_counter(workdir / "herald.db")
        log_start = len(site.requests_log)
        command = ["-m", "worker.cli", "--config", str(config), "run"]
        if mode == "once":
            command.append("--once")
        started = time.monotonic()
        herald = it.start_process(mode, command, config)
        try:
            result = watch_herald(mode, args, herald, counter, started)
        finally:
            it.stop_process(herald)
            if args.keep_logs is not None:
                it.keep_logs(args.keep_logs, mode, run_index, [herald])
        if result.ok:
            check_stored(result, workdir / "herald.db", site)
        count_requests(result, site.requests_log[log_start:])
        result.details["log_counts"] = it.count_log_lines([herald])
        if not result.ok:
            result.error += "\n--- log tail ---\n" + it.tail(herald.log)
        return result
    raise AssertionError("unreachable")


def watch_herald(
    mode: str,
    args: argparse.Namespace,
    herald: Herald,
    counter: Callable[[], int | None],
    started: float,
) -> RunResult:
    """Poll the database until every article is stored (and, for ``once``, the exit)."""
    import ingest_throughput as it

    target = args.articles
    first_seen = last_seen = exited_at = math.nan
    stored = 0
    deadline = started + args.timeout
    next_tick = started
    while time.monotonic() < deadline:
        exited = it.reap_with_usage(herald) if mode == "once" else False
        if mode != "once":
            it.record_usage(herald)
        stored = counter() or 0
        now = time.monotonic()
        if stored > 0 and math.isnan(first_seen):
            first_seen = now
        if stored >= target and math.isnan(last_seen):
            last_seen = now
        if exited:
            exited_at = now
            break
        if mode != "once" and stored >= target:
            break
        if mode != "once" and herald.proc.poll() is not None:
            return RunResult(mode, False, stored=stored, error=f"{mode}: herald exited early")
        next_tick += POLL_EVERY
        time.sleep(max(0.0, next_tick - time.monotonic()))
    if mode == "embedded":
        it.record_usage(herald)  # VmHWM and CPU just before the process is stopped
    if stored < target:
        why = f"only {stored}/{target} articles stored after {time.monotonic() - started:.0f}s"
        return RunResult(mode, False, stored=stored, error=f"{mode}: {why}")
    if mode == "once" and herald.proc.returncode != 0:
        code = herald.proc.returncode
        return RunResult(mode, False, stored=stored, error=f"once: exited with {code}")
    wall = last_seen - started
    span = last_seen - first_seen
    return RunResult(
        mode=mode,
        ok=True,
        wall_s=wall,
        articles_per_s=target / wall,
        first_article_s=first_seen - started,
        first_to_last_s=span,
        steady_articles_per_s=(target - 1) / span if span > 0 else math.nan,
        exit_s=exited_at - started,
        peak_rss_mb=herald.peak_rss_kb / 1024,
        cpu_s=herald.cpu_s,
        stored=stored,
    )


def check_stored(result: RunResult, database: Path, site: HanwebSite) -> None:
    """Compare the stored articles with the column's ground truth.

    A title must be the full title, a day the Beijing day, and a body must hold every paragraph
    of the article and none of the page furniture.
    """
    pairs = zip(site.expected(), site.articles, strict=True)
    truth = {row["url"]: (row, article) for row, article in pairs}
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        rows = conn.execute("select url, title, published_at, text from articles").fetchall()
    result.stored = len(rows)
    for url, title, published, text in rows:
        if url not in truth:
            continue
        want, article = truth[url]
        result.titles_ok += title == want["title"]
        if published:
            day = datetime.fromisoformat(published).replace(tzinfo=UTC).astimezone(BEIJING)
            result.days_ok += day.date().isoformat() == want["date"]
        body = " ".join((text or "").split())
        whole = all(" ".join(p.split()) in body for p in article.paragraphs)
        result.bodies_ok += whole and not any(mark in body for mark in FURNITURE_MARKS)
    result.details["unknown_urls"] = sum(url not in truth for url, *_ in rows)


def count_requests(result: RunResult, log: list[tuple[str, str, int]]) -> None:
    result.article_gets = sum(1 for _, path, _ in log if path.startswith("/art/"))
    result.proxy_requests = sum(1 for _, path, _ in log if "dataproxy.jsp" in path)
    result.column_gets = sum(1 for _, path, _ in log if path.startswith("/col/"))
    result.details["statuses"] = sorted({status for _, _, status in log})


# --- bare trafilatura -------------------------------------------------------------------------


def run_bare(mode: str, args: argparse.Namespace, site: HanwebSite) -> RunResult:
    """Start a fresh process running the baseline loop; time it from start to exit."""
    with tempfile.TemporaryDirectory(prefix="herald-bare-") as workdir:
        urls = Path(workdir) / "urls.txt"
        urls.write_text("\n".join(row["url"] for row in site.expected()) + "\n")
        child = "fetch" if mode == "bare" else "extract"
        log_start = len(site.requests_log)
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--baseline-child", child, "--urls", str(urls)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return RunResult(mode, False, error=f"{mode}: still running after {args.timeout:g}s")
        finally:
            if proc.poll() is None:
                proc.kill()
        wall = time.monotonic() - started
    if proc.returncode != 0:
        return RunResult(mode, False, error=f"{mode}: exited {proc.returncode}: {err[-2000:]!r}")
    answer = json.loads(out.decode().strip().splitlines()[-1])
    result = RunResult(
        mode=mode,
        ok=answer["extracted"] == args.articles,
        wall_s=wall,
        articles_per_s=args.articles / wall,
        loop_s=answer["loop_s"],
        loop_articles_per_s=args.articles / answer["loop_s"],
        exit_s=wall,
        peak_rss_mb=answer["maxrss_kb"] / 1024,
        cpu_s=answer["cpu_s"],
        stored=answer["extracted"],
        details={"fetch_s": answer["fetch_s"]},
    )
    if not result.ok:
        result.error = f"{mode}: extracted {answer['extracted']}/{args.articles}"
    count_requests(result, site.requests_log[log_start:])
    return result


def baseline_child(kind: str, urls_file: Path) -> int:
    """The bare loop (runs in its own process): print one JSON line with its timings."""
    urls = urls_file.read_text().split()
    session = requests.Session()
    extracted = 0
    fetch_s = 0.0
    if kind == "fetch":
        started = time.perf_counter()
        for url in urls:
            response = session.get(url, timeout=10)
            response.raise_for_status()
            text = trafilatura.extract(
                response.content, url=url, output_format="txt", with_metadata=True
            )
            extracted += bool(text)
        loop_s = time.perf_counter() - started
    else:
        started = time.perf_counter()
        pages = []
        for url in urls:
            response = session.get(url, timeout=10)
            response.raise_for_status()
            pages.append((url, response.content))
        fetch_s = time.perf_counter() - started
        started = time.perf_counter()
        for url, content in pages:
            text = trafilatura.extract(content, url=url, output_format="txt", with_metadata=True)
            extracted += bool(text)
        loop_s = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    answer = {
        "extracted": extracted,
        "loop_s": loop_s,
        "fetch_s": fetch_s,
        "maxrss_kb": usage.ru_maxrss,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }
    print(json.dumps(answer))
    return 0


# --- report -----------------------------------------------------------------------------------

NUMERIC = (
    "wall_s",
    "articles_per_s",
    "first_article_s",
    "first_to_last_s",
    "steady_articles_per_s",
    "loop_s",
    "loop_articles_per_s",
    "exit_s",
    "peak_rss_mb",
    "cpu_s",
    "article_gets",
    "proxy_requests",
    "column_gets",
    "titles_ok",
    "days_ok",
    "bodies_ok",
    "stored",
)


def summarise(runs: list[RunResult]) -> dict[str, Any]:
    good = [r for r in runs if r.ok]
    median: dict[str, float] = {}
    for key in NUMERIC:
        values = [float(getattr(r, key)) for r in good if not math.isnan(float(getattr(r, key)))]
        median[key] = statistics.median(values) if values else math.nan
    rates = [r.articles_per_s for r in good]
    return {
        "ok_runs": len(good),
        "failed_runs": len(runs) - len(good),
        "median": median,
        "range": [min(rates), max(rates)] if rates else [],
    }


def ratios(
    summary: dict[str, dict[str, Any]], runs: dict[str, list[RunResult]]
) -> dict[str, float]:
    """herald's rate as a share of the bare rate, per herald mode.

    ``MODE/bare``: median wall rate over median wall rate; ``… per round``: the median of the
    shares within each round (the two runs of a round are minutes apart, so drift of the machine
    cancels); ``… steady``: herald's first→last rate over the bare loop rate (start-up left out).
    """
    found: dict[str, float] = {}
    bare = summary.get("bare", {}).get("median", {})
    for mode in HERALD_MODES:
        mine = summary.get(mode, {}).get("median", {})
        if not bare or not mine:
            continue
        found[f"{mode}/bare"] = mine["articles_per_s"] / bare["articles_per_s"]
        paired = [
            own.articles_per_s / base.articles_per_s
            for own, base in zip(runs[mode], runs["bare"], strict=True)
            if own.ok and base.ok
        ]
        if paired:
            found[f"{mode}/bare per round"] = statistics.median(paired)
        found[f"{mode}/bare steady"] = mine["steady_articles_per_s"] / bare["loop_articles_per_s"]
    return found


def fmt(value: float, digits: int = 1) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def format_table(
    summary: dict[str, dict[str, Any]], shares: dict[str, float], args: argparse.Namespace
) -> str:
    bare_rate = summary.get("bare", {}).get("median", {}).get("articles_per_s", math.nan)
    lines = [
        "| mode | articles/s (wall) | share of bare | wall s | 1st article at s "
        "| steady articles/s | loop articles/s | peak RSS MB | CPU s | article GETs "
        "| titles / days / bodies right | ok runs |",
        "|" + "---|" * 12,
    ]
    for mode, data in summary.items():
        m = data["median"]
        share = math.nan if math.isnan(bare_rate) else m["articles_per_s"] / bare_rate
        checks = (
            f"{m['titles_ok']:.0f} / {m['days_ok']:.0f} / {m['bodies_ok']:.0f}"
            if mode in HERALD_MODES
            else "–"
        )
        lines.append(
            f"| {mode} | {fmt(m['articles_per_s'])} | {fmt(share * 100, 0)} % | "
            f"{fmt(m['wall_s'], 2)} | {fmt(m['first_article_s'], 2)} | "
            f"{fmt(m['steady_articles_per_s'])} | {fmt(m['loop_articles_per_s'])} | "
            f"{fmt(m['peak_rss_mb'], 0)} | {fmt(m['cpu_s'])} | {fmt(m['article_gets'], 0)} | "
            f"{checks} | {data['ok_runs']}/{args.runs} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline_child:
        return baseline_child(args.baseline_child, args.urls)
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import ingest_throughput as it

    commit = it.run_git("rev-parse", "HEAD")
    code: dict[str, Any] = {"commit": commit}
    with tempfile.TemporaryDirectory(prefix="herald-bench-code-") as snapshot:
        if args.code == "head":
            if not commit:
                sys.exit("snapshot: git rev-parse HEAD failed (use --code live)")
            it.CODE_PATH[:] = [it.snapshot_worker(Path(snapshot), commit)]
            code["source"] = f"git archive {commit[:12]} worker"
        else:
            code["source"] = "working tree"
            code["worker_changes"] = it.run_git(
                "status", "--porcelain", "--", "worker"
            ).splitlines()
        return run_all(args, code)


def run_all(args: argparse.Namespace, code: dict[str, Any]) -> int:
    import ingest_throughput as it

    modes = [m for m in MODES if m in args.modes.split(",")]
    load_before = os.getloadavg()
    code_root = Path(it.CODE_PATH[0]) if it.CODE_PATH else ROOT
    code["worker_sha256"] = it.hash_worker(code_root)
    runs: dict[str, list[RunResult]] = {mode: [] for mode in modes}
    prepared = time.monotonic()
    site = start_site(args.articles, args.per_page)
    prepare_s = time.monotonic() - prepared
    try:
        for index in range(1, args.runs + 1):
            for mode in modes:  # interleaved, so drift of the machine hits every mode alike
                if mode in HERALD_MODES:
                    result = run_herald(mode, args, site, index)
                else:
                    result = run_bare(mode, args, site)
                runs[mode].append(result)
                state = f"{result.articles_per_s:.1f} articles/s" if result.ok else "FAILED"
                print(f"run {index}/{args.runs} {mode}: {state}", file=sys.stderr, flush=True)
                if not result.ok:
                    print(result.error, file=sys.stderr, flush=True)
    finally:
        site.stop()
    summary = {mode: summarise(results) for mode, results in runs.items()}
    shares = ratios(summary, runs)
    code["changed_during_run"] = it.hash_worker(code_root) != code["worker_sha256"]
    report = {
        "benchmark": "hanweb_throughput",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            **it.machine_info(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "code": code,
        "params": {
            "articles": args.articles,
            "per_page": args.per_page,
            "backfill_pages": backfill_pages(args.articles, args.per_page),
            "kind": args.kind,
            "workers": args.workers,
            "runs": args.runs,
            "site_prepare_s": prepare_s,
            "poll_every_s": POLL_EVERY,
            "trafilatura": trafilatura.__version__,
        },
        "ratios": shares,
        "goal_share": GOAL_SHARE,
        "modes": {
            mode: {**summary[mode], "runs": [asdict(r) for r in runs[mode]]} for mode in modes
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(it.to_json(report), indent=2, ensure_ascii=False) + "\n")
    print(format_table(summary, shares, args))
    for name, value in shares.items():
        print(f"- {name}: {value:.0%} (goal ≥ {GOAL_SHARE:.0%})")
    print(f"\nJSON: {args.output}")
    return 0 if all(s["failed_runs"] == 0 for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
