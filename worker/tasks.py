"""Celery tasks: thin wrappers that call one stage each and enqueue what comes next.

The broker only carries ids; every task is idempotent (it claims its row first), so a message
delivered twice does no harm and a lost one is found again by ``herald.sweep``. Stage logic
lives in the stage modules, never here.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from celery import signals
from kombu.exceptions import OperationalError
from sqlalchemy.exc import IntegrityError

from worker import deliver as deliver_stage
from worker import digest as digest_stage
from worker import ingest as ingest_stage
from worker import outbox as outbox_stage
from worker import poll as poll_stage
from worker import publish, retention
from worker.celery_app import app
from worker.runtime import Runtime, current_config, get_runtime, reset_after_fork
from worker.store.counters import FEEDS_SCHEDULED, claim_counter_slot
from worker.store.sources import sync_config
from worker.sweep import find_due_work

log = logging.getLogger(__name__)

FEEDS_DEBOUNCE = 5.0
OUTBOX_DEBOUNCE = 2.0
OUTBOX_SCHEDULED = "outbox.scheduled"


def prepare_database(rt: Runtime) -> None:
    """Apply migrations (done by ``get_runtime``) and load sources/subscribers from the config."""
    for attempt in range(3):
        try:
            with rt.session() as session:
                sync_config(session, rt.config, datetime.now(UTC))
            return
        except IntegrityError:  # another process synced at the same moment
            if attempt == 2:
                raise


def _enqueue(task: Any, *args: Any, **options: Any) -> None:
    """Enqueue after commit; if the broker is down the ledger keeps the work for the sweep."""
    try:
        task.apply_async(args=args, **options)
    except OperationalError as err:
        log.warning("enqueue %s failed, the sweep will retry: %s", task.name, err)


def _batch() -> int:
    """Deliveries per ``herald.deliver`` task (``[delivery] batch``)."""
    return current_config().delivery.batch


def _chunks(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


@app.task(name="herald.sweep")
def sweep(force_sources: bool = False) -> dict[str, int]:
    """Enqueue everything the database says is due (beat runs this every ``sweep_interval``)."""
    rt = get_runtime()
    work = find_due_work(rt, force_sources=force_sources, ahead=not app.conf.task_always_eager)
    for source_id, delay in work.sources:  # due before the next sweep: polled on time
        _enqueue(poll_source, source_id, countdown=delay or None)
    for pending_id in work.pending_items:
        _enqueue(ingest_article, pending_id)
    for chunk in _chunks(work.deliveries, _batch()):
        _enqueue(deliver, chunk)
    if work.feeds_stale:
        _schedule_feeds(rt)
    if work.outbox_waiting:
        _enqueue(flush_outbox)
    if work.digests_due:
        _enqueue(build_digests)
    return {
        "sources": len(work.sources),
        "pending_items": len(work.pending_items),
        "deliveries": len(work.deliveries),
    }


@app.task(name="herald.poll_source")
def poll_source(source_id: int) -> dict[str, Any]:
    report = poll_stage.poll_source(get_runtime(), source_id)
    for pending_id in report.queued:
        _enqueue(ingest_article, pending_id)
    for chunk in _chunks(report.deliveries, _batch()):
        _enqueue(deliver, chunk)
    return {"source": report.source, "status": report.status, "queued": len(report.queued)}


@app.task(name="herald.ingest_article")
def ingest_article(pending_id: int) -> dict[str, Any]:
    rt = get_runtime()
    report = ingest_stage.ingest_item(rt, pending_id)
    for chunk in _chunks(report.deliveries, _batch()):
        _enqueue(deliver, chunk)
    if report.outcome in ("new", "changed"):
        _schedule_feeds(rt)
    if report.outcome == "new":
        _schedule_outbox(rt)
    return {"outcome": report.outcome, "article_id": report.article_id}


def _schedule_once(rt: Runtime, slot: str, spacing: float, task: Any) -> None:
    """Enqueue ``task`` after ``spacing`` seconds, at most once per ``spacing`` whatever the
    number of workers (a debounce kept in the database), so a burst shares one run."""
    if app.conf.task_always_eager:
        return  # ``herald run --once`` builds feeds and flushes the outbox at the end of its pass
    with rt.session() as session:
        claimed = claim_counter_slot(session, slot, datetime.now(UTC), spacing)
    if claimed:
        _enqueue(task, countdown=spacing)


def _schedule_feeds(rt: Runtime) -> None:
    _schedule_once(rt, FEEDS_SCHEDULED, FEEDS_DEBOUNCE, build_feeds)


def _schedule_outbox(rt: Runtime) -> None:
    _schedule_once(rt, OUTBOX_SCHEDULED, OUTBOX_DEBOUNCE, flush_outbox)


@app.task(name="herald.flush_outbox")
def flush_outbox() -> int:
    ids = outbox_stage.flush_outbox(get_runtime())
    for chunk in _chunks(ids, _batch()):
        _enqueue(deliver, chunk)
    return len(ids)


@app.task(name="herald.build_digests")
def build_digests() -> int:
    """Build the digests whose schedule is due and enqueue their messages."""
    ids = digest_stage.build_due_digests(get_runtime())
    for chunk in _chunks(ids, _batch()):
        _enqueue(deliver, chunk)
    return len(ids)


@app.task(name="herald.build_feeds")
def build_feeds(force: bool = False) -> int:
    return len(publish.build_feeds(get_runtime(), force=force))


@app.task(name="herald.prune")
def prune() -> dict[str, int]:
    """Remove what ``[retention]`` says has been kept long enough (daily, from beat)."""
    report = retention.prune(get_runtime())
    return {"removed": report.total}


@app.task(name="herald.deliver")
def deliver(delivery_ids: list[int]) -> dict[str, int]:
    return deliver_stage.deliver_batch(get_runtime(), delivery_ids)


@signals.worker_process_init.connect
def _after_fork(**_: Any) -> None:
    reset_after_fork()


@signals.worker_init.connect
def _clear_shutdown(**_: Any) -> None:
    deliver_stage.STOPPING.clear()


@signals.worker_shutting_down.connect
def _on_shutdown(**_: Any) -> None:
    """Warm shutdown: sends in flight finish, no other starts, unsent rows go back at once."""
    deliver_stage.STOPPING.set()


@signals.worker_init.connect
@signals.beat_init.connect
def _on_start(**_: Any) -> None:
    config = current_config()
    if config.herald.embedded and not app.conf.get("herald_embedded"):
        log.critical(
            "broker_url is empty (the embedded default): a separate celery process cannot share "
            'its in-memory queue. Set broker_url = "redis://…" in %s (or HERALD_BROKER_URL), '
            "or use `herald run`.",
            config.path or "herald.toml (not found)",
        )
        raise SystemExit(2)
    prepare_database(get_runtime())
    freeze_startup_objects()


def freeze_startup_objects() -> None:
    """What start-up loaded (modules, the config and its subscribers, the ORM's mappers) lives
    as long as the process: moved out of the collector's sight, so its full passes stop
    walking it again and again (a tenth of the CPU of a 10,000-delivery fan-out with 10,000
    subscribers). Reference counting still frees them (a reloaded config's old objects);
    only a reference cycle among them would stay."""
    gc.collect()
    gc.freeze()
