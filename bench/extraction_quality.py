"""Benchmark: extraction quality on the golden set, herald against bare trafilatura.

Every page of ``tests/data/golden/`` is decoded once with ``worker.charset.decode_body`` under
the Content-Type label it was served with; then herald (``extract_article``) and bare
trafilatura (``trafilatura.extract(html, url=…, output_format="txt")`` for the body, as the
golden test's English check calls it, ``trafilatura.extract_metadata`` for title and date)
read the same string. Scores, for each split (``tune``, ``heldout``) and each kind of page:
title exact, date day-exact (the page's own day, over the pages that show one), body F1 on
character 4-grams against the hand-checked text, and the time each takes per page. Results go
to stdout (Markdown; the pages missed are listed for the tune split only) and
``bench/results/extraction_quality.json``.

It must NOT change the golden files or the project, and must not reach the network.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingest_throughput import hash_worker, machine_info, run_git, to_json  # noqa: E402

from tests.test_golden_extraction import (  # noqa: E402
    BODY_F1_MIN,
    KINDS,
    SPLITS,
    GoldenPage,
    PageResult,
    bare_trafilatura_text,
    decode_page,
    extract_with_herald,
    load_golden_set,
    ngram_f1,
)

RESULTS = ROOT / "bench" / "results" / "extraction_quality.json"
Engine = Callable[[GoldenPage, str], PageResult]


@dataclass
class PageScore:
    """One engine on one page."""

    name: str
    split: str
    kind: str
    dated: bool
    title: str
    title_ok: bool
    day: str | None
    day_ok: bool
    f1: float
    ms: float
    error: str = ""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed passes (median per page)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    return parser.parse_args(argv)


# --- engines ----------------------------------------------------------------------------------


def run_herald(page: GoldenPage, html: str) -> PageResult:
    return extract_with_herald(page, html)


def run_trafilatura(page: GoldenPage, html: str) -> PageResult:
    """Bare trafilatura: its body text, and title/date from its metadata extractor."""
    meta = trafilatura.extract_metadata(html, default_url=page.url)
    title = (meta.title or "") if meta is not None else ""
    day = (meta.date or None) if meta is not None else None
    return PageResult(page.name, title, day, bare_trafilatura_text(page, html))


ENGINES: dict[str, Engine] = {"herald": run_herald, "trafilatura": run_trafilatura}


# --- measuring --------------------------------------------------------------------------------


def time_page(
    engine: Engine, page: GoldenPage, html: str, repeats: int
) -> tuple[PageResult, float]:
    """The engine's answer on one page and the median of ``repeats`` timed calls, in ms."""
    timings = []
    result = engine(page, html)
    for _ in range(repeats):
        started = time.perf_counter()
        result = engine(page, html)
        timings.append((time.perf_counter() - started) * 1000)
    return result, statistics.median(timings)


def score_page(page: GoldenPage, result: PageResult, ms: float) -> PageScore:
    return PageScore(
        name=page.name,
        split=page.split,
        kind=page.kind,
        dated=page.date is not None,
        title=result.title,
        title_ok=result.title == page.title,
        day=result.day,
        day_ok=page.date is not None and result.day == page.date,
        f1=ngram_f1(result.text, page.text),
        ms=ms,
        error=result.error,
    )


def summarise(scores: list[PageScore]) -> dict[str, float]:
    f1s = [s.f1 for s in scores]
    dated = [s for s in scores if s.dated]
    return {
        "pages": len(scores),
        "dated_pages": len(dated),
        "title_exact": sum(s.title_ok for s in scores) / len(scores),
        "date_day_exact": sum(s.day_ok for s in dated) / len(dated) if dated else 1.0,
        "mean_f1": statistics.fmean(f1s),
        "median_f1": statistics.median(f1s),
        "min_f1": min(f1s),
        "pages_below_f1_min": sum(f < BODY_F1_MIN for f in f1s),
        "ms_per_page": statistics.fmean(s.ms for s in scores),
        "max_ms": max(s.ms for s in scores),
    }


# --- report -----------------------------------------------------------------------------------


def format_tables(summary: dict[str, dict[str, dict[str, float]]], kinds: dict[str, Any]) -> str:
    lines = [
        "| split | extractor | pages | title exact | date day-exact (dated pages) "
        f"| mean body F1 | min F1 | pages F1 < {BODY_F1_MIN:.2f} | ms/page | max ms |",
        "|" + "---|" * 10,
    ]
    for split, by_engine in summary.items():
        for engine, s in by_engine.items():
            lines.append(
                f"| {split} | {engine} | {s['pages']:.0f} | {s['title_exact']:.1%} | "
                f"{s['date_day_exact']:.1%} ({s['dated_pages']:.0f}) | {s['mean_f1']:.3f} | "
                f"{s['min_f1']:.3f} | {s['pages_below_f1_min']:.0f} | {s['ms_per_page']:.1f} | "
                f"{s['max_ms']:.0f} |"
            )
    lines += [
        "",
        "| split | kind | n | herald title / date / F1 | trafilatura title / date / F1 |",
        "|---|---|---|---|---|",
    ]
    for (split, kind), by_engine in kinds.items():
        cells = [
            f"{e['title_exact']:.0%} / {e['date_day_exact']:.0%} / {e['mean_f1']:.3f}"
            for e in (by_engine["herald"], by_engine["trafilatura"])
        ]
        lines.append(
            f"| {split} | {kind} | {by_engine['herald']['pages']:.0f} | {cells[0]} | {cells[1]} |"
        )
    return "\n".join(lines)


def format_misses(per_engine: dict[str, list[PageScore]], pages: list[GoldenPage]) -> str:
    """One line per tune page where an engine misses the title or the day, or has F1 < 0.90
    (held-out pages are only counted: they stay out of the tuning loop)."""
    wanted = {page.name: page for page in pages}
    lines = []
    for engine, scores in per_engine.items():
        for s in scores:
            page = wanted[s.name]
            if page.split != "tune":
                continue
            parts = []
            if not s.title_ok:
                parts.append(f"title {s.title!r}")
            if s.dated and not s.day_ok:
                parts.append(f"date {s.day} (want {page.date})")
            if s.f1 < BODY_F1_MIN:
                parts.append(f"F1 {s.f1:.3f}")
            if parts:
                lines.append(f"- {engine} · {s.name}: " + "; ".join(parts))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pages = load_golden_set()
    decoded: dict[str, str] = {}
    decode_ms: list[float] = []
    for page in pages:
        started = time.perf_counter()
        decoded[page.name] = decode_page(page)
        decode_ms.append((time.perf_counter() - started) * 1000)
    per_engine: dict[str, list[PageScore]] = {}
    for engine_name, engine in ENGINES.items():
        scores = []
        for page in pages:
            result, ms = time_page(engine, page, decoded[page.name], args.repeats)
            scores.append(score_page(page, result, ms))
        per_engine[engine_name] = scores
    summary = {
        split: {
            name: summarise([s for s in scores if s.split == split])
            for name, scores in per_engine.items()
        }
        for split in SPLITS
    }
    kinds: dict[tuple[str, str], Any] = {}
    for split in SPLITS:
        for kind in KINDS:
            if any(page.split == split and page.kind == kind for page in pages):
                kinds[(split, kind)] = {
                    name: summarise([s for s in scores if s.split == split and s.kind == kind])
                    for name, scores in per_engine.items()
                }
    commit = run_git("rev-parse", "HEAD")
    report = {
        "benchmark": "extraction_quality",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine_info(), "loadavg": os.getloadavg()},
        "code": {
            "commit": commit,
            "source": "working tree",
            "worker_sha256": hash_worker(ROOT),
            "worker_changes": run_git("status", "--porcelain", "--", "worker").splitlines(),
            "trafilatura": trafilatura.__version__,
        },
        "params": {"repeats": args.repeats, "f1": "character 4-grams", "f1_min": BODY_F1_MIN},
        "decode_ms_per_page": statistics.fmean(decode_ms),
        "summary": summary,
        "kinds": {f"{split}/{kind}": value for (split, kind), value in kinds.items()},
        "pages": {name: [asdict(s) for s in scores] for name, scores in per_engine.items()},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n")
    print(format_tables(summary, kinds))
    misses = format_misses(per_engine, pages)
    if misses:
        print("\n" + misses)
    print(f"\nJSON: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
