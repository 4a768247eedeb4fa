"""Feed building at scale: a 100-item feed from a 1,000,000-article store, beside bare feedgen.

The store is filled once (``--articles``, default 1,000,000, over ``--sources`` sources, each
article with a ~600-character body) through herald's own migrations, on SQLite (default) or on
PostgreSQL (``--postgres URL``: a database ``herald_bench_<random>`` is created there and dropped
afterwards). Then, interleaved, ``--runs`` times each:

- ``herald all``: ``publish.feed_spec`` for the ``all`` feed (the newest 100 by the index
  ``ix_articles_newest``) and ``feeds.render_feed`` in RSS, Atom or JSON Feed;
- ``herald source`` / ``herald tag``: the same for one source's feed and one tag's feed;
- ``query only``: the ``all`` feed's query alone;
- ``bare feedgen``: ``FeedGenerator`` building RSS or Atom from the same 100 articles already in
  memory, with the fields herald writes (title, link, guid, dates, summary, content, author) —
  the baseline.

It also checks that rendering the same feed twice gives identical bytes, and that a second
``build_feeds`` with nothing changed rewrites no file. It must NOT reach beyond 127.0.0.1 or
leave databases behind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import bench_database, machine_info, run_git, to_json

SUMMARY = "为深入贯彻落实党中央、国务院关于科技创新的决策部署，进一步加强科普工作。"
BODY = (
    "<p>为深入贯彻落实党中央、国务院关于科技创新的决策部署，进一步加强科普工作，现就有关事项通知如下。"
    "各地要高度重视，结合实际认真组织实施，确保各项工作落到实处，取得实效。</p>"
) * 3


def fill(url: str, articles: int, sources: int) -> None:
    """``articles`` articles over ``sources`` sources, inserted in bulk through SQLAlchemy Core."""
    from sqlalchemy import insert

    from worker.store.db import make_engine
    from worker.store.migrate import upgrade
    from worker.store.tables import ArticleRow, ArticleSourceRow, SourceRow

    engine = make_engine(url)
    upgrade(engine)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(SourceRow),
            [
                {"id": i + 1, "name": f"s{i}", "url": f"https://www{i}.example.gov.cn/col/",
                 "kind": "hanweb", "enabled": True, "status": "ok", "etag": "",
                 "last_modified": "", "consecutive_failures": 0, "last_error": "",
                 "items_last_poll": 0, "created_at": start, "status_reason": "",
                 "layout_fingerprint": "", "detected_kind": "", "config_hash": ""}
                for i in range(sources)
            ],
        )  # fmt: skip
    chunk = 20_000
    for first in range(0, articles, chunk):
        rows, links = [], []
        for n in range(first, min(first + chunk, articles)):
            source = n % sources + 1
            seen = start + timedelta(minutes=n)
            published = None if n % 7 == 0 else seen - timedelta(hours=n % 48)
            rows.append({
                "id": n + 1, "source_id": source,
                "url": f"https://www{source - 1}.example.gov.cn/art/{n}.html",
                "guid": "", "title": f"关于开展第{n}期科普活动的通知", "author": "科普部",
                "published_at": published, "published_offset": 480 if published else None,
                "summary": SUMMARY,
                "content_html": BODY, "text": BODY[3:-4], "images": [], "tags": [f"t{source % 5}"],
                "attachments": [], "content_hash": f"{n:064x}", "version": 1, "etag": "",
                "last_modified": "", "first_seen_at": seen, "updated_at": seen,
            })  # fmt: skip
            links.append({"article_id": n + 1, "source_id": source, "linked_at": seen,
                          "newest_at": published or seen})  # fmt: skip
        with engine.begin() as conn:
            conn.execute(insert(ArticleRow), rows)
            conn.execute(insert(ArticleSourceRow), links)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def config_for(url: str, sources: int, feeds_dir: Path) -> Any:
    from worker.config import parse_config

    data = {
        "herald": {"database_url": url, "feeds_dir": str(feeds_dir),
                   "base_url": "https://feeds.example.org"},
        "feeds": {"limit": 100},
        "sources": [
            {"name": f"s{i}", "url": f"https://www{i}.example.gov.cn/col/", "kind": "hanweb",
             "tags": [f"t{(i + 1) % 5}"]}
            for i in range(sources)
        ],
    }  # fmt: skip
    return parse_config(data, origin="bench")


def bare_feedgen(articles: list[Any], fmt: str) -> bytes:
    """The baseline: feedgen alone, the same entries from memory, newest first."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id("https://feeds.example.org/feeds/all.atom")
    fg.title("all")
    fg.description("all")
    fg.author(name="herald")
    fg.link(href="https://feeds.example.org/feeds/all.xml", rel="self")
    fg.updated(max(a.updated_at for a in articles))
    for article in articles:
        fe = fg.add_entry(order="append")
        fe.guid(article.url, permalink=True)
        fe.title(article.title)
        fe.link(href=article.url)
        fe.published(article.published_at or article.first_seen_at)
        fe.updated(article.updated_at)
        fe.summary(article.summary)
        fe.content(article.content_html, type="html" if fmt == "atom" else None)
        fe.author(name=article.author) if fmt == "atom" else None
    data: bytes = fg.atom_str() if fmt == "atom" else fg.rss_str()
    return data


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL to create a db on")
    parser.add_argument("--keep", type=Path, default=None, help="SQLite file to reuse/keep")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from worker.feeds import render_feed
    from worker.publish import build_feeds, feed_spec
    from worker.runtime import build_runtime
    from worker.store.articles import recent_articles

    work = Path(tempfile.mkdtemp(prefix="herald-feedbench-"))
    admin = args.postgres
    with bench_database(admin, args.keep or work / "store.db") as url:
        fresh = admin or not (args.keep and args.keep.exists())
        started = time.monotonic()
        if fresh:
            fill(url, args.articles, args.sources)
        fill_s = time.monotonic() - started
        config = config_for(url, args.sources, work / "feeds")
        rt = build_runtime(config)
        keys = {"all": "all", "source": "sources/s7", "tag": "tags/t3"}

        def herald(key: str, fmt: str) -> Callable[[], bytes]:
            def run() -> bytes:
                with rt.session() as session:
                    spec = feed_spec(session, config, key, limit=100)
                assert spec is not None and len(spec.articles) == 100
                return render_feed(spec, fmt, base_url=config.herald.base_url)

            return run

        def query_only() -> None:
            with rt.session() as session:
                assert len(recent_articles(session, limit=100)) == 100

        with rt.session() as session:
            in_memory = list(feed_spec(session, config, "all", limit=100).articles)  # type: ignore[union-attr]
        cases: dict[str, Callable[[], Any]] = {"query only (all)": query_only}
        for fmt in ("rss", "atom", "json"):
            cases[f"herald all · {fmt}"] = herald("all", fmt)
        cases["herald source · rss"] = herald(keys["source"], "rss")
        cases["herald tag · rss"] = herald(keys["tag"], "rss")
        cases["bare feedgen · rss"] = lambda: bare_feedgen(in_memory, "rss")
        cases["bare feedgen · atom"] = lambda: bare_feedgen(in_memory, "atom")
        for fn in cases.values():  # warm caches and imports
            fn()
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, fn in cases.items():
                times[name].append(timed(fn))
        same = all(
            hashlib.sha256(herald(key, fmt)()).digest()
            == hashlib.sha256(herald(key, fmt)()).digest()
            for key in keys.values()
            for fmt in ("rss", "atom", "json")
        )
        build_feeds(rt, force=True)
        mtimes = {p: p.stat().st_mtime_ns for p in (work / "feeds").rglob("*.*")}
        rewritten = build_feeds(rt, force=True)
        unchanged = rewritten == [] and all(p.stat().st_mtime_ns == m for p, m in mtimes.items())
        rt.close()

    base = {fmt: statistics.median(times[f"bare feedgen · {fmt}"]) for fmt in ("rss", "atom")}
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        fmt = "atom" if "atom" in name else "rss"
        rows.append({
            "case": name, "median_ms": round(median, 2), "p90_ms": round(
                statistics.quantiles(values, n=10)[-1], 2),
            "min_ms": round(min(values), 2),
            "vs_bare_feedgen": round(median / base[fmt], 2) if name != "query only (all)" else None,
        })  # fmt: skip
    database = "postgresql" if admin else "sqlite"
    print(f"store: {args.articles:,} articles, {args.sources} sources, {database}; "
          f"filled in {fill_s:.0f} s; {args.runs} runs")  # fmt: skip
    print("| case | median ms | p90 ms | min ms | × bare feedgen (same format) |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        ratio = "—" if row["vs_bare_feedgen"] is None else f"{row['vs_bare_feedgen']:.2f}"
        print(f"| {row['case']} | {row['median_ms']:.1f} | {row['p90_ms']:.1f} | "
              f"{row['min_ms']:.1f} | {ratio} |")  # fmt: skip
    print(f"identical bytes on re-render: {same}; second build rewrote nothing: {unchanged}")
    if args.json:
        args.json.write_text(json.dumps(to_json({
            "machine": machine_info(), "commit": run_git("rev-parse", "HEAD"),
            "articles": args.articles, "sources": args.sources, "runs": args.runs,
            "database": "postgresql" if admin else "sqlite", "rows": rows,
            "identical_bytes": same, "second_build_unchanged": unchanged,
            "times_ms": times,
        }), indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
