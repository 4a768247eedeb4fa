"""What pathological pages and feeds cost herald's parsers, and ``herald sources test`` on them.

Each case runs in its own process (``--case NAME``), with the herald tree under test first on
``PYTHONPATH`` (``--tree``, default this repository), so the same cases measure an older commit
checked out elsewhere (``git worktree add /tmp/base <commit>``). A case that has not finished
after ``--timeout`` seconds is killed and reported as such. The fixture site of the two
``sources test`` cases is ``tests/support/hostile_sites.py``, served on 127.0.0.1.

    .venv/bin/python bench/hostile_inputs.py [--tree DIR] [--timeout 120] [--runs 3] [--json F]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine_info, run_git

SUPPORT = ROOT / "tests" / "support" / "hostile_sites.py"
URL = "http://site.test/col/col1/index.html"


def load_support() -> ModuleType:
    """The fixture site and documents, by file path (they import nothing of herald)."""
    spec = importlib.util.spec_from_file_location("hostile_sites", SUPPORT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def js_reader() -> Callable[[str], Any]:
    try:
        from worker.sources.jsobject import parse_js_object
    except ImportError:  # before sources/jsobject.py existed
        from worker.sources.cms import parse_js_object  # type: ignore[attr-defined,no-redef]
    return parse_js_object


def case_strip_lt() -> Callable[[], Any]:
    from worker.sources.base import strip_markup

    text = "<" * 20_000  # a feed description of 20,000 &lt;, as feedparser hands it over
    return lambda: strip_markup(text)


def case_strip_script() -> Callable[[], Any]:
    from worker.sources.base import strip_markup

    text = "<script>" * 20_000
    return lambda: strip_markup(text)


def case_hanweb_records() -> Callable[[], Any]:
    from worker.sources.hanweb import parse_hanweb_column

    page = load_support().hostile_hanweb_column().decode()
    return lambda: parse_hanweb_column(page, URL, tz=tz())


def case_detect_records() -> Callable[[], Any]:
    from worker.sources.detect import detect_family

    page = load_support().hostile_hanweb_column().decode()
    return lambda: detect_family(page, URL)


def case_nextgroups() -> Callable[[], Any]:
    from worker.sources.detect import detect_family

    page = f"<script type='text/xml'><datastore>{'<nextgroup>' * 30_000}</datastore></script>"
    return lambda: detect_family(page, URL)


def case_cdata() -> Callable[[], Any]:
    from worker.sources.hanweb import unwrap_cdata

    text = "<![CDATA[" * 30_000
    return lambda: unwrap_cdata(text)


def case_jpage_calls() -> Callable[[], Any]:
    from worker.sources.hanweb import parse_hanweb_column

    page = "<script>$('#a').jpage({" * 30_000
    return lambda: parse_hanweb_column(page, URL, tz=tz())


def case_weekdays() -> Callable[[], Any]:
    from worker.dates import find_date

    text = "mon" * 30_000
    return lambda: find_date(text, tz())


def case_date_spaces() -> Callable[[], Any]:
    from worker.dates import find_date

    text = ("2022-10-08" + " " * 20_000 + "x") * 3
    return lambda: find_date(text, tz())


def case_widget() -> Callable[[], Any]:
    from worker.extract import extract_article

    page = (
        "<html><body><h1>标题</h1><div id='zoom'><p>正文内容。</p>"
        f"<p>【字体{' ' * 3_000}x</p></div></body></html>"
    )
    return lambda: extract_article(page, "http://e.test/a.html", tz=tz())


def case_nested_page() -> Callable[[], Any]:
    from worker.extract import extract_article

    stack = "<div class='share'>正文" * 250 + "</div>" * 250
    page = f"<html><body>{stack * 40}</body></html>"
    return lambda: extract_article(page, "http://e.test/a.html", tz=tz())


def case_repeated_link() -> Callable[[], Any]:
    from worker.sources.trs import parse_trs_list

    links = "<a href='/202210/t20221008_1.html'>标题</a> " * 15_000
    page = f"<html><body><div>{links}</div></body></html>"
    return lambda: parse_trs_list(page, "http://site.test/tzgg/", tz=tz())


def case_js_stray_closer() -> Callable[[], Any]:
    parse = js_reader()
    return lambda: parse("{a:[)]}")


def case_hostile_feed() -> Callable[[], Any]:
    from worker.sources.feed import parse_feed

    feed = load_support().hostile_feed("http://e.test")
    return lambda: parse_feed(feed, "http://e.test/feed.xml", tz=tz())


CASES: dict[str, tuple[str, Callable[[], Callable[[], Any]]]] = {
    "strip_lt": ("strip_markup: 20,000 `<` (a description of 20,000 `&lt;`)", case_strip_lt),
    "strip_script": ("strip_markup: 20,000 unclosed `<script>`", case_strip_script),
    "hanweb_records": ("Hanweb column: 30,000 unclosed `<record>` (243 KB)", case_hanweb_records),
    "detect_records": ("detect_family on that column", case_detect_records),
    "nextgroups": ("detect_family: 30,000 unclosed `<nextgroup>`", case_nextgroups),
    "cdata": ("unwrap_cdata: 30,000 unclosed `<![CDATA[`", case_cdata),
    "jpage_calls": ("Hanweb column: 30,000 `.jpage({` calls (240 KB)", case_jpage_calls),
    "weekdays": ("find_date: `mon` × 30,000 (90 KB)", case_weekdays),
    "date_spaces": ("find_date: 3 dates, each followed by 20,000 spaces", case_date_spaces),
    "widget": ("extract_article: `【字体` + 3,000 spaces", case_widget),
    "nested_page": ("extract_article: 40 × 250 nested blocks, no known body", case_nested_page),
    "repeated_link": ("TRS list: one link repeated 15,000 times in a block", case_repeated_link),
    "js_stray_closer": ("parse_js_object(`{a:[)]}`)", case_js_stray_closer),
    "hostile_feed": (
        "parse_feed: 10,000 items, `&lt;` × 20,000, bad enclosures",
        case_hostile_feed,
    ),
}
CLI_CASES = {
    "cli_feed": "`herald sources test` on the hostile feed (2.8 MB)",
    "cli_hanweb": "`herald sources test` on the hostile Hanweb column",
}


def run_case_here(name: str) -> dict[str, Any]:
    """In the child: build the input, then time the call alone."""
    if name in CLI_CASES:
        return run_cli_case(name)
    call = CASES[name][1]()
    started = time.perf_counter()
    try:
        call()
        outcome = "ok"
    except Exception as err:  # the outcome is part of the measurement
        outcome = f"error: {type(err).__name__}: {str(err)[:60]}"
    return {"seconds": time.perf_counter() - started, "outcome": outcome}


def run_cli_case(name: str) -> dict[str, Any]:
    """Serve the hostile document on 127.0.0.1 and run the real CLI against it."""
    support = load_support()
    with support.HostileSite() as site, tempfile.TemporaryDirectory() as tmp:
        if name == "cli_feed":
            url = site.add("/feed.xml", support.hostile_feed(site.url("")))
            kind = "feed"
        else:
            url = site.add("/col/col1/index.html", support.hostile_hanweb_column())
            site.add("/module/web/jpage/dataproxy.jsp", b"<datastore></datastore>")
            kind = "auto"
        config = Path(tmp) / "herald.toml"
        config.write_text(
            f'[herald]\ndatabase_url = "sqlite:///h.db"\n[network]\nallow = ["127.0.0.1"]\n'
            f'[[sources]]\nname = "hostile"\nurl = "{url}"\nkind = "{kind}"\n'
        )
        command = [sys.executable, "-c", "from worker.cli import main; main()"]
        started = time.perf_counter()
        done = subprocess.run(
            [*command, "--config", str(config), "sources", "test", "hostile", "--articles", "0"],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
    first = (done.stdout.strip().splitlines() or [""])[0]
    failed = (done.stderr.strip().splitlines() or [""])[-1]
    outcome = f"ok: {first}" if done.returncode == 0 else f"exit {done.returncode}: {failed[:70]}"
    return {"seconds": seconds, "outcome": outcome}


def run_case(name: str, tree: Path, timeout: float) -> dict[str, Any]:
    """One run of a case in a child process with ``tree`` first on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, str(Path(__file__).resolve()), "--case", name]
    try:
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout, check=True
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "outcome": f"killed after {timeout:g} s"}
    except subprocess.CalledProcessError as err:
        return {"seconds": None, "outcome": f"crashed: {err.stderr.strip()[-80:]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=ROOT, help="herald tree to measure")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (median shown)")
    parser.add_argument("--only", nargs="*", default=[], help="case names to run")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case_here(args.case)))
        return
    tree = args.tree.resolve()
    names = args.only or [*CASES, *CLI_CASES]
    results: dict[str, Any] = {}
    print(f"tree {tree} (commit {run_git('-C', str(tree), 'rev-parse', '--short', 'HEAD')})")
    for name in names:
        runs = []
        for _ in range(args.runs):
            run = run_case(name, tree, args.timeout)
            runs.append(run)
            if run["seconds"] is None:
                break  # killed or crashed: once is enough
        timed = [r["seconds"] for r in runs if r["seconds"] is not None]
        median = statistics.median(timed) if timed else None
        results[name] = {"median_s": median, "runs": runs, "outcome": runs[-1]["outcome"]}
        shown = f"{median:.3f} s" if median is not None else "—"
        label = CASES[name][0] if name in CASES else CLI_CASES[name]
        print(f"| {label} | {shown} | {runs[-1]['outcome']} |", flush=True)
    if args.json:
        info = {"machine": machine_info(), "tree": str(tree), "results": results}
        args.json.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
