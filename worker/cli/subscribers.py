"""``herald subscribers``: list, add, remove and try subscribers (``enable`` lives with the ledger
commands in ``worker.cli.deliveries``). It parses options, edits the config file through
``worker.configfile``, calls the stages and prints; nothing more.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from worker.cli.common import (
    console,
    edit_config,
    err_console,
    fail,
    load,
    show_text,
    show_url,
    sync_database,
)
from worker.config import CHANNELS, MODES, Config, SubscriberConfig


@click.group("subscribers")
def group() -> None:
    """Inspect and try subscribers."""


@group.command("list")
@click.pass_context
def subscribers_list(ctx: click.Context) -> None:
    """The configured subscribers (secrets are not shown, only where they come from)."""
    config = load(ctx)
    suspended = _suspended_subscribers(config)
    table = Table("name", "channel", "mode", "sources", "ops alerts", "state", "secret", "url")
    for sub in config.subscribers:
        state = "enabled" if sub.enabled else "disabled"
        if sub.name in suspended:
            state = "suspended"
        url = show_url(sub.url) + (f" (env:{sub.env_name('url')})" if sub.env_name("url") else "")
        table.add_row(
            sub.name, sub.channel, sub.mode, ", ".join(sub.sources) or "all",
            str(sub.ops_alerts), state, _secret_origin(sub), url,
        )  # fmt: skip
    console.print(table)
    for name, reason in suspended.items():
        console.print(
            f"{name}: suspended — {show_text(reason)} "
            f"(`herald subscribers enable {name}` resumes it)",
            highlight=False,
        )


def _secret_origin(sub: SubscriberConfig) -> str:
    """Where the subscriber's secret comes from, never the secret itself."""
    if sub.secret:
        return f"env:{sub.env_name('secret')}" if sub.env_name("secret") else "file"
    return "[yellow]unsigned[/yellow]" if sub.channel == "webhook" else "—"


def _suspended_subscribers(config: Config) -> dict[str, str]:
    """Subscribers the circuit breaker suspended, read-only (an absent database: none)."""
    from sqlalchemy.exc import SQLAlchemyError

    from worker.runtime import build_runtime
    from worker.store.subscribers import suspended_subscribers

    url = config.herald.database_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return {}
    try:
        rt = build_runtime(config, migrate=False)
    except (SQLAlchemyError, OSError, ValueError):
        return {}
    try:
        with rt.session() as session:
            return suspended_subscribers(session)
    except SQLAlchemyError:
        return {}
    finally:
        rt.close()


@group.command("add")
@click.argument("name")
@click.option("--channel", required=True, type=click.Choice(CHANNELS), help="Where to send.")
@click.option("--url", default="", help="The full webhook URL the platform gives (not for email).")
@click.option("--to", "mail_to", default="", help="email: comma-separated recipients.")
@click.option("--from", "mail_from", default="", help='email: the sender, "herald <h@example.cn>".')
@click.option("--secret", default="", help="Signing secret (DingTalk, Feishu, webhook whsec_…).")
@click.option("--chat-id", default="", help="Telegram chat id.")
@click.option("--mode", type=click.Choice(MODES), default="instant", show_default=True)
@click.option("--schedule", default="", help='Digest cron schedule, e.g. "0 8 * * 1-5".')
@click.option("--timezone", "tz", default="", help="IANA zone for schedule and dates.")
@click.option("--quiet-hours", default="", help='Hold instant messages, e.g. "22:00-08:00".')
@click.option("--min-items", type=int, default=None, help="Smallest digest sent (0: even empty).")
@click.option("--sources", "source_names", default="", help="Comma-separated source names.")
@click.option("--tags", default="", help="Comma-separated tags (any of them).")
@click.option("--include", default="", help="Comma-separated keywords (any of them).")
@click.option("--exclude", default="", help="Comma-separated keywords (none of them).")
@click.option("--regex", default="", help="Regular expression on title and summary.")
@click.option("--template", default="", help="Template file overriding the channel's.")
@click.pass_context
def subscribers_add(ctx: click.Context, /, name: str, **options: Any) -> None:
    """Add a subscriber to the config file (validated first; comments kept)."""
    from worker.configfile import add_entry

    def split(text: str) -> list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]

    values: dict[str, Any] = {
        "name": name, "channel": options["channel"], "url": options["url"],
        "to": split(options["mail_to"]), "from": options["mail_from"],
        "secret": options["secret"], "chat_id": options["chat_id"],
        "mode": None if options["mode"] == "instant" else options["mode"],
        "schedule": options["schedule"], "timezone": options["tz"],
        "quiet_hours": options["quiet_hours"], "min_items": options["min_items"],
        "sources": split(options["source_names"]), "tags": split(options["tags"]),
        "include": split(options["include"]), "exclude": split(options["exclude"]),
        "regex": options["regex"], "template": options["template"],
    }  # fmt: skip
    config = edit_config(ctx, lambda path: add_entry(path, "subscribers", values))
    sync_database(config)
    sub = next(s for s in config.subscribers if s.name == name)
    what = sub.mode if not sub.wants_digest else f"{sub.mode}, digest at {sub.options.schedule!r}"
    console.print(f"added subscriber {name} ({sub.channel}, {what}) to {config.path}")


@group.command("remove")
@click.argument("name")
@click.pass_context
def subscribers_remove(ctx: click.Context, name: str) -> None:
    """Remove a subscriber from the config file (its delivery history is kept, disabled)."""
    from worker.configfile import remove_entry

    config = edit_config(ctx, lambda path: remove_entry(path, "subscribers", name))
    sync_database(config)
    console.print(f"removed subscriber {name} from {config.path}")


@group.command("test")
@click.argument("name")
@click.pass_context
def subscribers_test(ctx: click.Context, name: str) -> None:
    """Send a sample message to one subscriber now, through the ledger, and show the answer."""
    from worker.runtime import build_runtime
    from worker.tasks import prepare_database
    from worker.trial import send_trial

    config = load(ctx)
    if not any(s.name == name for s in config.subscribers):
        fail(f"no subscriber named {name!r} in {config.path}", 2)
    rt = build_runtime(config)
    try:
        prepare_database(rt)
        trial = send_trial(rt, name)
    finally:
        rt.close()
    if trial.outcome == "delivered":
        console.print(f"[green]delivered[/green] to {name} ({trial.latency_ms:.0f} ms)")
        return
    if trial.outcome == "suspended":
        err_console.print(
            f"[red]not sent[/red]: {name} is suspended ({show_text(trial.error)}); "
            f"`herald subscribers enable {name}` resumes it",
            highlight=False,
        )
        sys.exit(1)
    if trial.outcome in ("disabled", "deferred"):
        err_console.print(f"[red]not sent[/red]: {show_text(trial.error)}", highlight=False)
        sys.exit(1)
    answer = show_text(f"{trial.error} {trial.reply}")
    err_console.print(f"[red]{trial.outcome}[/red]: {answer}", highlight=False)
    sys.exit(1)
