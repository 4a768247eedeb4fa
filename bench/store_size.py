"""Database size at scale: 1,000,000 articles and 10,000,000 delivered deliveries.

The store is filled through herald's own migrations, then in bulk through SQLAlchemy Core with
rows shaped like production's: ``--articles`` articles over ``--sources`` sources (the article
rows of ``feed_build.fill``, a ~600-character body each); ``--subscribers`` webhook subscribers;
one ``article.created`` event per article, its payload ``notify.article_data`` of a stored
article; ``--per-article`` deliveries per event (default 10: 10,000,000 in all), each delivered,
with one attempt each (status 200, a 2-byte reply). Then it reports the database's size and each
table's (with its indexes), and bytes per delivery — on SQLite (default) or PostgreSQL
(``--postgres URL``: a database ``herald_bench_<random>`` is created there and dropped
afterwards). It must NOT reach beyond 127.0.0.1 or leave databases behind.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import bench_database, write_report
from bench.feed_build import fill

CHUNK = 20_000
TABLES = ("articles", "article_sources", "events", "deliveries", "delivery_attempts",
          "subscribers")  # fmt: skip


def fill_ledger(url: str, articles: int, subscribers: int, per_article: int) -> dict[str, float]:
    """Subscribers, one event per article and ``per_article`` delivered deliveries per event,
    each with its attempt; returns seconds per stage."""
    from sqlalchemy import insert, select

    from worker.notify import article_data
    from worker.store.articles import get_article
    from worker.store.db import make_engine, make_session_factory
    from worker.store.tables import AttemptRow, DeliveryRow, EventRow, SubscriberRow

    engine = make_engine(url)
    seconds: dict[str, float] = {}
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with make_session_factory(engine)() as session:
        sample = get_article(session, 1)
        assert sample is not None
        payload = article_data(sample)  # every event carries one like it
    began = time.monotonic()
    with engine.begin() as conn:
        conn.execute(insert(SubscriberRow), [
            dict(name=f"s{i:06d}", channel="webhook", url=f"https://hooks.example.com/h/{i}",
                 secret="whsec_" + "A" * 32, created_at=start)
            for i in range(subscribers)
        ])  # fmt: skip
        first_subscriber = conn.execute(
            select(SubscriberRow.id).order_by(SubscriberRow.id)
        ).scalar()
    assert first_subscriber is not None
    seconds["subscribers"] = time.monotonic() - began
    began = time.monotonic()
    for first in range(0, articles, CHUNK):
        ids = range(first + 1, min(first + CHUNK, articles) + 1)
        with engine.begin() as conn:
            conn.execute(insert(EventRow), [
                dict(id=n, event_key=f"article.created:{n}", event_type="article.created",
                     payload={**payload, "id": n, "url": f"https://www.example.gov.cn/art/{n}.html"},
                     created_at=start + timedelta(minutes=n))
                for n in ids
            ])  # fmt: skip
    seconds["events"] = time.monotonic() - began
    began = time.monotonic()
    delivery_id = 0
    for first in range(0, articles, CHUNK // per_article):
        rows, attempts = [], []
        for n in range(first + 1, min(first + CHUNK // per_article, articles) + 1):
            at = start + timedelta(minutes=n)
            for k in range(per_article):
                delivery_id += 1
                sub = first_subscriber + (n * per_article + k) % subscribers
                rows.append(dict(
                    id=delivery_id, event_id="msg_" + secrets.token_urlsafe(18),
                    event_key=f"article.created:{n}", event_type="article.created", event_ref=n,
                    subscriber_id=sub, article_id=n, status="delivered", attempts=1,
                    next_attempt_at=at, last_status=200, last_error="", created_at=at,
                    delivered_at=at + timedelta(seconds=1),
                ))  # fmt: skip
                attempts.append(dict(delivery_id=delivery_id, attempted_at=at, outcome="delivered",
                                     http_status=200, latency_ms=12.5, error="",
                                     response_excerpt="{}"))  # fmt: skip
        with engine.begin() as conn:
            conn.execute(insert(DeliveryRow), rows)
            conn.execute(insert(AttemptRow), attempts)
    seconds["deliveries"] = time.monotonic() - began
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()
    return seconds


def sizes(url: str) -> dict[str, Any]:
    """The database's size in bytes, and each table's with its indexes."""
    from sqlalchemy import text

    from worker.store.db import make_engine

    engine = make_engine(url)
    found: dict[str, Any] = {"tables": {}}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            found["database"] = conn.scalar(text("SELECT pg_database_size(current_database())"))
            for table in TABLES:
                found["tables"][table] = conn.scalar(
                    text("SELECT pg_total_relation_size(:t)"), {"t": table}
                )
        else:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            page = conn.exec_driver_sql("PRAGMA page_size").scalar()
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            found["database"] = page * pages
            rows = conn.exec_driver_sql(
                "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s"
                " LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1"
            ).all()
            per_table = dict(rows)
            found["tables"] = {t: per_table.get(t, 0) for t in TABLES}
    engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--per-article", type=int, default=10)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL to create a db on")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="herald-sizebench-"))
    try:
        with bench_database(args.postgres, work / "store.db") as url:
            began = time.monotonic()
            fill(url, args.articles, args.sources)
            seconds = {"articles": time.monotonic() - began}
            seconds |= fill_ledger(url, args.articles, args.subscribers, args.per_article)
            found = sizes(url)
    finally:
        for path in work.glob("store.db*"):
            path.unlink()
    deliveries = args.articles * args.per_article
    mb = 1024 * 1024
    print("| table (with its indexes) | MB | bytes per row |\n|---|---:|---:|")
    counts = {"articles": args.articles, "article_sources": args.articles,
              "events": args.articles, "deliveries": deliveries,
              "delivery_attempts": deliveries, "subscribers": args.subscribers}  # fmt: skip
    for table, size in found["tables"].items():
        print(f"| {table} | {size / mb:,.0f} | {size / counts[table]:,.0f} |")
    ledger = sum(found["tables"][t] for t in ("events", "deliveries", "delivery_attempts"))
    print(f"| **database** | **{found['database'] / mb:,.0f}** | |")
    took = ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
    print(f"\nledger (events, deliveries, attempts): {ledger / deliveries:,.0f} bytes per delivery;"
          f" fill took {took}")  # fmt: skip
    if args.json:
        write_report(args.json, "store_size", args, sizes=found, seconds=seconds)


if __name__ == "__main__":
    main()
