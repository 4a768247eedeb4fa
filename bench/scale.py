"""Cost per subscriber from 1,000 to 100,000: one article through herald's own stages.

For each size N (``--sizes``, default 1000,10000,100000), a child process of its own (so that
its peak RSS is its own) loads a config of N generic-webhook subscribers — ``--digest-share`` of
them (default 20 %) in ``mode = "digest"`` on a daily schedule, the rest instant — and one
``html`` source on a local ``DemoSite`` holding one article, announced on the first poll. It
then drives the stages production runs, in one thread, with the clock it reads:

1. ``load_config`` and the config sync (``sync_config``) — what every worker does at start;
2. ``poll.poll_source`` (the list), then ``ingest.ingest_item`` (the article, and the fan-out:
   a ledger row per instant subscriber, a digest queue row per digest subscriber);
3. ``deliver.deliver_batch`` on the due rows in chunks of ``[delivery] batch`` (500), to
   ``bench/receiver.py`` (a raw asyncio HTTP server in its own process);
4. ``digest.build_due_digests`` with every digest's schedule made due now (the harness moves
   ``next_digest_at``), then ``deliver_batch`` on the digest messages.

It counts the SQL statements each stage sends (an SQLAlchemy ``before_cursor_execute``
listener on the runtime's engine) and reports wall and CPU time per stage, statements and CPU
per delivery, the receiver's count, and the child's peak RSS. Celery is not in the loop: the
stages are called as the tasks call them, sequentially, so the figures are cost, not
concurrency (``fanout.py`` measures that). It must NOT reach beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import ROOT, write_report
from fanout import Receiver, write_config


class Stage:
    """Wall time, CPU time and SQL statements of one stage."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, float]] = {}
        self.statements = 0

    def note(self, *_: Any) -> None:
        self.statements += 1

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        wall, cpu, statements = time.perf_counter(), time.process_time(), self.statements
        yield
        self.results[name] = {
            "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu,
            "statements": self.statements - statements,
        }


def child(n: int, digest_share: float, receiver: str, out: Path) -> None:
    """One size, end to end (see the module docstring); writes its figures to ``out``."""
    from sqlalchemy import event, update

    from worker.config import load_config
    from worker.deliver import deliver_batch
    from worker.demo.site import DemoSite
    from worker.digest import build_due_digests
    from worker.ingest import ingest_item
    from worker.poll import poll_source
    from worker.runtime import build_runtime
    from worker.store.sources import source_by_name, sync_config
    from worker.store.tables import SubscriberRow
    from worker.tasks import freeze_startup_objects

    stage = Stage()
    outcomes: Counter[str] = Counter()

    def deliver_all(ids: list[int], batch: int) -> None:
        for start in range(0, len(ids), batch):
            outcomes.update(deliver_batch(rt, ids[start : start + batch]))

    work = Path(tempfile.mkdtemp(prefix="herald-scale-"))
    with DemoSite(articles=1, page_size=20) as site:
        path = write_config(
            work, site=site, receiver_base=receiver, subscribers=n,
            database_url=f"sqlite:///{work / 'herald.db'}", broker_url="", workers=1,
            digest_share=digest_share,
        )  # fmt: skip
        with stage("config load"):
            config = load_config(path)
        rt = build_runtime(config)
        event.listen(rt.engine, "before_cursor_execute", stage.note)
        with stage("config sync"), rt.session() as session:
            sync_config(session, config, datetime.now(UTC))
        freeze_startup_objects()  # as a worker does once it has started
        with rt.session() as session:
            source = source_by_name(session, "news")
            assert source is not None
            source_id = source.id
        with stage("poll"):
            polled = poll_source(rt, source_id)
        assert len(polled.queued) == 1, polled
        with stage("ingest + fan-out"):
            report = ingest_item(rt, polled.queued[0])
        instant = list(report.deliveries)
        with stage("deliver instant"):
            deliver_all(instant, config.delivery.batch)
        with rt.session() as session:  # the digests' schedule fires now, not tomorrow at 08:00
            due = SubscriberRow.next_digest_at.is_not(None)
            session.execute(
                update(SubscriberRow).where(due).values(next_digest_at=datetime.now(UTC))
            )
        with stage("build digests"):
            digest_ids = build_due_digests(rt)
        with stage("deliver digests"):
            deliver_all(digest_ids, config.delivery.batch)
        rt.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.write_text(json.dumps({
        "n": n, "instant": len(instant), "digests": len(digest_ids), "stages": stage.results,
        "outcomes": dict(outcomes), "peak_rss_mb": usage.ru_maxrss / 1024,
    }))  # fmt: skip


def run_size(n: int, digest_share: float) -> dict[str, Any]:
    env = {"PYTHONPATH": str(ROOT)}
    receiver = Receiver(env)
    try:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, __file__, "--child", str(n), "--receiver", receiver.base,
                       "--digest-share", str(digest_share), "--out", out.name]  # fmt: skip
            subprocess.run(command, check=True)
            result: dict[str, Any] = json.loads(Path(out.name).read_text())
        result["receiver"] = receiver.settled_stats()
    finally:
        receiver.stop()
    return result


def per_delivery(result: dict[str, Any], names: tuple[str, ...], key: str, count: int) -> float:
    return sum(result["stages"][name][key] for name in names) / max(count, 1)


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| subscribers | instant / digest | sync s | ingest + fan-out s | deliver s (deliveries/s)"
        " | CPU ms per delivery | statements per delivery | digests built s | peak RSS MB"
        " | received |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    sending = ("ingest + fan-out", "deliver instant")
    for r in results:
        s = r["stages"]
        sent = r["instant"]
        deliver_s = s["deliver instant"]["wall_s"]
        lines.append(
            f"| {r['n']:,} | {r['instant']:,} / {r['digests']:,} | {s['config sync']['wall_s']:.2f}"
            f" | {s['ingest + fan-out']['wall_s']:.2f} | {deliver_s:.2f} ({sent / deliver_s:,.0f})"
            f" | {1000 * per_delivery(r, sending, 'cpu_s', sent):.3f}"
            f" | {per_delivery(r, sending, 'statements', sent):.3f}"
            f" | {s['build digests']['wall_s']:.2f} | {r['peak_rss_mb']:.0f}"
            f" | {r['receiver']['requests']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--digest-share", type=float, default=0.2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--receiver", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.digest_share, args.receiver, args.out)
        return 0
    results = []
    for n in (int(size) for size in args.sizes.split(",")):
        results.append(run_size(n, args.digest_share))
        print(f"{n:,} subscribers: {json.dumps(results[-1]['stages'])}", flush=True)
    print(table(results))
    ok = all(r["receiver"]["requests"] == r["instant"] + r["digests"] for r in results)
    if args.json:
        write_report(args.json, "scale", args, results=results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
