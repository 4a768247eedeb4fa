"""``herald digest``: preview a subscriber's next digest, or build and send it now (through the
ledger). It parses options, calls the digest stage and prints; nothing more.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from worker.cli.common import console, fail, load
from worker.subscriber import SubscriberOptions


@click.group("digest")
def group() -> None:
    """Preview and send subscribers' digests."""


def _digest_subscriber(ctx: click.Context, name: str) -> tuple[Any, Any]:
    """The runtime (config synced) and the subscriber's row, or a clear error."""
    from worker.embedded import setup
    from worker.runtime import get_runtime
    from worker.store.digests import DIGEST_MODES
    from worker.store.subscribers import subscriber_by_name

    config = load(ctx)
    sub = next((s for s in config.subscribers if s.name == name), None)
    if sub is None:
        fail(f"no subscriber named {name!r} in {config.path}", 2)
    if sub.mode not in DIGEST_MODES:
        fail(
            f'{config.path}: subscriber {name!r} has mode = "{sub.mode}"; '
            'digests need mode = "digest" or "both"',
            2,
        )
    setup(config)
    rt = get_runtime()
    with rt.session() as session:
        row = subscriber_by_name(session, name)
        assert row is not None  # setup() synced the config into the database
        session.expunge(row)
    return rt, row


@group.command("preview")
@click.argument("name")
@click.pass_context
def digest_preview(ctx: click.Context, name: str) -> None:
    """Print every message the next digest would send, with its size; send nothing."""
    from worker.digest import preview

    rt, row = _digest_subscriber(ctx, name)
    now = datetime.now(UTC)
    with rt.session() as session:
        shown = preview(rt, session, row, now=now)
    options = SubscriberOptions.from_stored(row.options)
    zone = ZoneInfo(options.timezone)
    count, parts = len(shown.composed.article_ids), shown.composed.parts
    click.echo(
        f"digest for {name} · {row.channel} · {count} article(s) since "
        f"{shown.window.start.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key}) · "
        f"{len(parts)} message(s)"
    )
    min_items = options.min_items
    if count < min_items:
        click.echo(f"(not sent on schedule: fewer than min_items = {min_items} articles)")
    click.echo(f"page: {shown.composed.page_url}")
    for index, part in enumerate(parts, 1):
        size = f"{part.size} / {part.limit}" if part.limit else str(part.size)
        click.echo(f"--- message {index}/{len(parts)} · {part.event_type} · {size} {part.unit}")
        click.echo(part.body)


@group.command("send")
@click.argument("name")
@click.option("--empty", is_flag=True, help="Send even when no article is waiting.")
@click.pass_context
def digest_send(ctx: click.Context, name: str, empty: bool) -> None:
    """Build the digest of what is waiting now and send it (through the ledger)."""
    from worker.deliver import deliver_batch
    from worker.digest import send_now
    from worker.store.digests import waiting_article_ids

    rt, row = _digest_subscriber(ctx, name)
    with rt.session() as session:
        waiting = len(waiting_article_ids(session, row.id))
        if not waiting and not empty:
            console.print(f"{name}: no article is waiting; nothing sent (--empty sends anyway)")
            return
        built = send_now(rt, session, row, now=datetime.now(UTC))
    assert built is not None
    digest_id, ids = built
    counts = deliver_batch(rt, ids)
    console.print(f"{name}: digest {digest_id} with {waiting} article(s) in {len(ids)} message(s): "
                  f"{counts}")  # fmt: skip
    if counts.get("failed"):
        sys.exit(1)
