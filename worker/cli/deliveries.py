"""``herald deliveries`` and ``herald subscribers enable``: the ledger by hand.

List and show rows with every attempt, replay them (same webhook-id, fresh retry schedule) and
resume a subscriber the circuit breaker suspended. Sends go through the ledger's own claims, so
a running worker never sends the same row at the same time. It parses options, calls the store
and the deliver stage, and prints; nothing more.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import click
from rich.table import Table

from worker.cli.common import console, fail, load, show_text


def _runtime(ctx: click.Context) -> Any:
    config = load(ctx)
    from worker.embedded import setup
    from worker.runtime import get_runtime

    setup(config)
    return get_runtime()


def _when(moment: datetime | None) -> str:
    """This host's local time with its UTC offset: ``2026-12-07 10:36:54+08:00``."""
    return moment.astimezone().isoformat(sep=" ", timespec="seconds") if moment else ""


def _drain(rt: Any, ids: list[int]) -> Counter[str]:
    """Send these rows now, in order, in batches of ``[delivery] batch``."""
    from worker.deliver import deliver_batch

    counts: Counter[str] = Counter()
    size = rt.config.delivery.batch
    for start in range(0, len(ids), size):
        counts.update(deliver_batch(rt, ids[start : start + size]))
    return counts


@click.group()
def deliveries() -> None:
    """Inspect and replay the delivery ledger."""


@deliveries.command("list")
@click.option("--failed", is_flag=True, help="Only rows that failed for good.")
@click.option("--subscriber", default="", help="Only this subscriber's rows.")
@click.option("--limit", default=50, show_default=True, help="How many rows (newest first).")
@click.pass_context
def deliveries_list(ctx: click.Context, failed: bool, subscriber: str, limit: int) -> None:
    """The most recent deliveries: status, attempts, next attempt, last answer."""
    from worker.store.history import list_deliveries

    rt = _runtime(ctx)
    with rt.session() as session:
        rows = list_deliveries(session, failed=failed, subscriber=subscriber, limit=limit)
        table = Table("id", "event", "subscriber", "status", "attempts", "next attempt",
                      "last", "error", title="deliveries")  # fmt: skip
        for row, name in rows:
            table.add_row(
                str(row.id), row.event_type, name, row.status, str(row.attempts),
                _when(row.next_attempt_at) if row.status == "pending" else "",
                str(row.last_status or ""), show_text(row.last_error or "", 80),
            )  # fmt: skip
    console.print(table)
    if not rows:
        console.print("no deliveries match")


@deliveries.command("show")
@click.argument("delivery_id", type=int)
@click.pass_context
def deliveries_show(ctx: click.Context, delivery_id: int) -> None:
    """One delivery and every attempt: time, outcome, HTTP status, latency, the answer."""
    from worker.store.history import delivery_attempts, get_delivery
    from worker.store.subscribers import subscriber_by_id

    rt = _runtime(ctx)
    with rt.session() as session:
        row = get_delivery(session, delivery_id)
        if row is None:
            fail(f"no delivery {delivery_id}", 2)
        sub = subscriber_by_id(session, row.subscriber_id)
        assert sub is not None
        console.print(
            f"delivery {row.id} · {row.event_type} · to {sub.name} ({sub.channel})\n"
            f"webhook-id {row.event_id} · event {row.event_key}\n"
            f"status {row.status} after {row.attempts} attempt(s) · created {_when(row.created_at)}"
            + (f" · delivered {_when(row.delivered_at)}" if row.delivered_at else "")
            + (f" · next attempt {_when(row.next_attempt_at)}" if row.status == "pending" else ""),
            highlight=False,
        )
        if row.last_error:
            console.print(f"last error: {show_text(row.last_error)}", highlight=False)
        if sub.suspended_at:
            console.print(
                f"subscriber suspended: {show_text(sub.disabled_reason)}", highlight=False
            )
        table = Table("time", "outcome", "HTTP", "latency ms", "error", "response (truncated)")
        for attempt in delivery_attempts(session, delivery_id):
            table.add_row(
                _when(attempt.attempted_at), attempt.outcome, str(attempt.http_status or ""),
                f"{attempt.latency_ms:.0f}", show_text(attempt.error, 120),
                show_text(attempt.response_excerpt, 200),
            )  # fmt: skip
    console.print(table)


@deliveries.command("replay")
@click.argument("delivery_id", type=int, required=False)
@click.option("--failed", is_flag=True, help="Replay every failed delivery.")
@click.option("--since", default=None, help="With --failed: created since, e.g. 2026-11-01T00:00.")
@click.option("--subscriber", default="", help="With --failed: only this subscriber's rows.")
@click.pass_context
def deliveries_replay(
    ctx: click.Context, delivery_id: int | None, failed: bool, since: str | None, subscriber: str
) -> None:
    """Send a delivery again now (same webhook-id, fresh retry schedule), or every failed one."""
    from worker.store.history import failed_delivery_ids, get_delivery, replay_deliveries

    if (delivery_id is None) == (not failed):
        fail("give a delivery ID or --failed (not both)", 2)
    since_at = None
    if since:
        try:
            since_at = datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since: expected ISO 8601, got {since!r}", 2)
        if since_at.tzinfo is None:
            since_at = since_at.astimezone()  # local time, as typed
    rt = _runtime(ctx)
    now = datetime.now(UTC)
    with rt.session() as session:
        if delivery_id is not None:
            if get_delivery(session, delivery_id) is None:
                fail(f"no delivery {delivery_id}", 2)
            ids = [delivery_id]
        else:
            ids = failed_delivery_ids(session, since=since_at, subscriber=subscriber)
        reset = replay_deliveries(session, ids, now=now)
    if not ids:
        console.print("nothing to replay")
        return
    counts = _drain(rt, ids)
    console.print(f"replayed {reset} delivery(ies): {dict(counts)}")
    if counts.get("skipped"):
        console.print(
            "skipped rows belong to a disabled or suspended subscriber (see "
            "`herald subscribers list`), or are being sent by a worker right now"
        )
    if counts.get("failed"):
        sys.exit(1)


@click.command("enable")
@click.argument("name")
@click.pass_context
def subscribers_enable(ctx: click.Context, name: str) -> None:
    """Resume a subscriber the circuit breaker suspended and send its kept messages in order."""
    from worker.store.subscribers import resume_subscriber, subscriber_by_name

    rt = _runtime(ctx)
    with rt.session() as session:
        row = subscriber_by_name(session, name)
        if row is None:
            fail(f"no subscriber named {name!r}", 2)
        if not row.enabled:
            fail(f"{name} has enabled = false in the config file; set it there", 2)
        was = row.disabled_reason if row.suspended_at else ""
        ids = resume_subscriber(session, name, datetime.now(UTC)) or []
    console.print(f"{name} enabled" + (f" (was suspended: {show_text(was)})" if was else "") +
                  f"; {len(ids)} kept message(s) to send")  # fmt: skip
    if ids:
        console.print(f"sent: {dict(_drain(rt, ids))}")
