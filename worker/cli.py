"""The ``herald`` command line. It parses options, calls the stages and prints; nothing more."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from worker.config import CHANNELS, MODES, Config, ConfigError, load_config
from worker.logs import setup_logging

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def _load(ctx: click.Context) -> Config:
    try:
        return load_config(ctx.obj.get("config_path"))
    except ConfigError as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(2)


def _setup_logging(verbose: bool) -> None:
    setup_logging(logging.DEBUG if verbose else logging.INFO)


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: $HERALD_CONFIG, else ./herald.toml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """herald: follow sites that publish no feed; store, publish feeds, push to chat webhooks."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["verbose"] = verbose


@main.command()
@click.option(
    "--path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write (default: the --config path, else ./herald.toml).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_context
def init(ctx: click.Context, path: str | None, force: bool) -> None:
    """Write a commented example configuration."""
    target = Path(path or ctx.obj.get("config_path") or "herald.toml")
    if target.exists() and not force:
        err_console.print(f"[red]error:[/red] {target} exists (use --force to overwrite)")
        sys.exit(1)
    example = resources.files("worker").joinpath("example.toml").read_text(encoding="utf-8")
    target.write_text(example, encoding="utf-8")
    console.print(f"wrote {target} — edit its [[sources]] and [[subscribers]], then `herald run`")


@main.command()
@click.option(
    "--once", is_flag=True, help="One full pass (poll, ingest, feeds, deliver), then exit."
)
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Run herald: a worker and beat in this process (embedded default, or on the broker)."""
    from worker import embedded

    config = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    if once:
        summary = embedded.run_once(config)
        console.print(
            f"polled {summary.sources} source(s); ingest queue {summary.ingested or '{}'}; "
            f"deliveries {summary.deliveries or '{}'}; feed files written {summary.feeds_written}"
        )
        return
    mode = "embedded (in-memory broker)" if config.herald.embedded else config.herald.broker_url
    console.print(f"herald: running worker + beat, broker: {mode}. Ctrl-C stops.")
    embedded.run_worker(config)


@main.group()
def sources() -> None:
    """Inspect and try sources."""


@sources.command("list")
@click.pass_context
def sources_list(ctx: click.Context) -> None:
    """The configured sources."""
    config = _load(ctx)
    table = Table("name", "kind", "interval", "enabled", "url", "tags")
    for src in config.sources:
        table.add_row(
            src.name, src.kind, f"{src.interval:g}s", str(src.enabled), src.url, ", ".join(src.tags)
        )
    console.print(table)


@sources.command("test")
@click.argument("name")
@click.option("--articles", default=3, show_default=True, help="How many article pages to read.")
@click.pass_context
def sources_test(ctx: click.Context, name: str, articles: int) -> None:
    """Dry run: what would be found and extracted. Nothing is stored or sent."""
    from worker.ingest import read_article
    from worker.runtime import build_fetcher
    from worker.sources import discover

    config = _load(ctx)
    try:
        source = config.source(name)
    except KeyError:
        err_console.print(f"[red]error:[/red] no source named {name!r} in {config.path}")
        sys.exit(2)
    fetcher, tz = build_fetcher(config), config.source_timezone(source)
    try:
        found = discover(fetcher, source, tz=tz, now=datetime.now(UTC), max_pages=source.backfill)
    except Exception as err:  # report any failure of the dry run, whatever its kind
        err_console.print(f"[red]failed:[/red] {escape(str(err))}")
        sys.exit(1)
    table = Table(
        "#", "published", "title", "url", title=f"{len(found.items)} items, {found.pages} page(s)"
    )
    for i, item in enumerate(found.items, 1):
        published = item.published_at.isoformat() if item.published_at else "—"
        table.add_row(str(i), published, item.title, item.url)
    console.print(table)
    for item in found.items[:articles]:
        try:
            page = read_article(fetcher, source, item, tz=tz)
        except Exception as err:  # show the failure and go on with the next article
            console.print(f"[red]✗[/red] {item.url}: {escape(str(err))}")
            continue
        ext = page.extracted
        assert ext is not None
        when = ext.published_at.isoformat() if ext.published_at else "no date"
        console.print(
            f"[green]✓[/green] {ext.title} | {when} | {len(ext.text)} chars, "
            f"{len(ext.images)} images | {ext.url}"
        )


@sources.command("detect")
@click.argument("url")
@click.option("--name", default=None, help="Name for the config block (default: from the URL).")
@click.option("--pages", default=2, show_default=True, help="List pages to read.")
@click.pass_context
def sources_detect(ctx: click.Context, url: str, name: str | None, pages: int) -> None:
    """Recognise a list page's CMS family (or feed, or list) and print a config block."""
    from worker.fetch import FetchError
    from worker.sources import SourceError
    from worker.sources.detect import describe_config
    from worker.sources.probe import probe_source, suggest_name

    try:
        config = load_config(ctx.obj.get("config_path"), required=False)
    except ConfigError:
        config = Config()
    from worker.runtime import build_fetcher

    tz = ZoneInfo(config.herald.timezone)
    try:
        found = probe_source(build_fetcher(config), url, tz=tz, now=datetime.now(UTC), pages=pages)
    except (FetchError, SourceError) as err:
        err_console.print(f"[red]failed:[/red] {escape(str(err))}")
        sys.exit(1)
    console.print(f"[bold]family:[/bold] {found.kind or 'not recognised'}", highlight=False)
    for line in found.evidence:
        console.print(f"  · {line}", highlight=False)
    if not found.kind:
        sys.exit(1)
    dated = sum(1 for i in found.items if i.published_at)
    console.print(
        f"[bold]list:[/bold] {len(found.items)} entries on {found.pages} page(s), {dated} dated",
        highlight=False,
    )
    for item in found.items:
        day = item.published_at.date().isoformat() if item.published_at else "(no date) "
        console.print(f"  {day}  {item.title}  {item.url}", highlight=False)
    body = found.body_selector or "(none of the known containers: trafilatura will read it)"
    console.print(f"[bold]body container:[/bold] {body}", highlight=False)
    block = describe_config(
        name or suggest_name(url),
        found.feed_url or url,
        found.kind,
        found.selectors,
        found.body_selector if found.kind == "html" else "",
    )
    console.print('\n[bold]config block[/bold] (kind = "auto" also reads it):\n')
    click.echo(block)


@sources.command("backfill")
@click.argument("name")
@click.option("--pages", default=5, show_default=True, help="List pages to walk.")
@click.pass_context
def sources_backfill(ctx: click.Context, name: str, pages: int) -> None:
    """Import older articles of a source (store and feeds; nobody is notified)."""
    from rich.progress import Progress

    from worker.embedded import setup
    from worker.ingest import ingest_item
    from worker.poll import poll_source
    from worker.publish import build_feeds
    from worker.runtime import get_runtime
    from worker.store.sources import source_by_name

    config = _load(ctx)
    if name not in {s.name for s in config.sources}:
        err_console.print(f"[red]error:[/red] no source named {name!r} in {config.path}")
        sys.exit(2)
    setup(config)
    rt = get_runtime()
    with rt.session() as session:
        row = source_by_name(session, name)
        assert row is not None
        source_id = row.id
    report = poll_source(rt, source_id, max_pages=pages, notify=False)
    if report.status in ("blocked", "failing"):
        err_console.print(f"[red]failed:[/red] {escape(str(report.error))}")
        sys.exit(1)
    outcomes: dict[str, int] = {}
    with Progress(console=console) as progress:
        task = progress.add_task(f"{name}: {report.found} items found", total=len(report.queued))
        for pending_id in report.queued:
            outcome = ingest_item(rt, pending_id).outcome
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            progress.advance(task)
    build_feeds(rt)
    console.print(
        f"{name}: {report.found} items on {pages} page(s); ingested {outcomes or 'nothing new'}"
    )


@main.group()
def subscribers() -> None:
    """Inspect and try subscribers."""


@subscribers.command("list")
@click.pass_context
def subscribers_list(ctx: click.Context) -> None:
    """The configured subscribers (secrets are not shown)."""
    config = _load(ctx)
    suspended = _suspended_subscribers(config)
    table = Table("name", "channel", "mode", "sources", "ops alerts", "state", "url")
    for sub in config.subscribers:
        host = sub.url.split("?", 1)[0]
        state = "enabled" if sub.enabled else "disabled"
        if sub.name in suspended:
            state = "suspended"
        table.add_row(
            sub.name, sub.channel, sub.mode, ", ".join(sub.sources) or "all",
            str(sub.ops_alerts), state, host,
        )  # fmt: skip
    console.print(table)
    for name, reason in suspended.items():
        console.print(
            f"{name}: suspended — {escape(reason)} (`herald subscribers enable {name}` resumes it)",
            highlight=False,
        )


def _suspended_subscribers(config: Config) -> dict[str, str]:
    """Subscribers the circuit breaker suspended, read-only (an absent database: none)."""
    from sqlalchemy.exc import SQLAlchemyError

    from worker.runtime import build_runtime
    from worker.store.tables import SubscriberRow

    url = config.herald.database_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return {}
    try:
        rt = build_runtime(config, migrate=False)
    except (SQLAlchemyError, OSError, ValueError):
        return {}
    try:
        with rt.session() as session:
            rows = session.query(SubscriberRow).filter(SubscriberRow.suspended_at.is_not(None))
            return {row.name: row.disabled_reason for row in rows}
    except SQLAlchemyError:
        return {}
    finally:
        rt.close()


@subscribers.command("add")
@click.argument("name")
@click.option("--channel", required=True, type=click.Choice(CHANNELS), help="Where to send.")
@click.option("--url", required=True, help="The full webhook URL the platform gives.")
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
    from worker.configfile import add_subscriber

    def split(text: str) -> list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]

    values: dict[str, Any] = {
        "name": name, "channel": options["channel"], "url": options["url"],
        "secret": options["secret"], "chat_id": options["chat_id"],
        "mode": None if options["mode"] == "instant" else options["mode"],
        "schedule": options["schedule"], "timezone": options["tz"],
        "quiet_hours": options["quiet_hours"], "min_items": options["min_items"],
        "sources": split(options["source_names"]), "tags": split(options["tags"]),
        "include": split(options["include"]), "exclude": split(options["exclude"]),
        "regex": options["regex"], "template": options["template"],
    }  # fmt: skip
    config = _edit_config(ctx, lambda path: add_subscriber(path, values))
    _sync_database(config)
    sub = next(s for s in config.subscribers if s.name == name)
    what = sub.mode if not sub.wants_digest else f"{sub.mode}, digest at {sub.schedule!r}"
    console.print(f"added subscriber {name} ({sub.channel}, {what}) to {config.path}")


@subscribers.command("remove")
@click.argument("name")
@click.pass_context
def subscribers_remove(ctx: click.Context, name: str) -> None:
    """Remove a subscriber from the config file (its delivery history is kept, disabled)."""
    from worker.configfile import remove_subscriber

    config = _edit_config(ctx, lambda path: remove_subscriber(path, name))
    _sync_database(config)
    console.print(f"removed subscriber {name} from {config.path}")


def _edit_config(ctx: click.Context, edit: Callable[[Path], Config]) -> Config:
    from worker.config import find_config_path

    path = find_config_path(ctx.obj.get("config_path"))
    try:
        return edit(path)
    except ConfigError as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(2)


def _sync_database(config: Config) -> None:
    """Apply the edited config to the database now, so running workers see it at once."""
    from worker.runtime import build_runtime
    from worker.tasks import prepare_database

    rt = build_runtime(config)
    try:
        prepare_database(rt)
    finally:
        rt.close()


@subscribers.command("test")
@click.argument("name")
@click.pass_context
def subscribers_test(ctx: click.Context, name: str) -> None:
    """Send a sample message to one subscriber now, through the ledger, and show the answer."""
    from worker.deliver import deliver_batch
    from worker.notify import get_notifier
    from worker.notify.message import Entry, Message
    from worker.runtime import build_runtime
    from worker.store.deliveries import create_deliveries, new_event_id
    from worker.store.history import cancel_deliveries, delivery_attempts
    from worker.store.subscribers import subscriber_by_name
    from worker.tasks import prepare_database

    config = _load(ctx)
    sub = next((s for s in config.subscribers if s.name == name), None)
    if sub is None:
        err_console.print(f"[red]error:[/red] no subscriber named {name!r} in {config.path}")
        sys.exit(2)
    options = sub.options()
    sample = Entry(
        title="herald 测试消息：打造全国地方科协综合改革示范区",
        url="https://www.cast.org.cn/",
        source="herald",
        published=datetime.now(UTC)
        .astimezone(ZoneInfo(options["timezone"]))
        .strftime("%Y-%m-%d %H:%M"),
        summary="This is a test message from herald. 这是一条测试消息。",
    )
    if get_notifier(sub.channel).takes_messages:
        message = Message("test", "herald test", (sample,), note="herald is set up for this chat.")
        event_type, data = "message.test", message.to_dict()
    else:
        event_type, data = "herald.test", {"title": sample.title, "url": sample.url}
    rt = build_runtime(config)
    try:
        prepare_database(rt)
        with rt.session() as session:
            row = subscriber_by_name(session, name)
            assert row is not None  # prepare_database wrote it from the config
            if row.suspended_at is not None:
                err_console.print(
                    f"[red]not sent[/red]: {name} is suspended ({escape(row.disabled_reason)}); "
                    f"`herald subscribers enable {name}` resumes it",
                    highlight=False,
                )
                sys.exit(1)
            ids = create_deliveries(
                session, event_key=f"test:{new_event_id()}", event_type=event_type,
                payload=data, subscriber_ids=[row.id], article_id=None, now=datetime.now(UTC),
            )  # fmt: skip
        deliver_batch(rt, ids)
        with rt.session() as session:
            cancel_deliveries(session, ids, reason="a test message is not retried")
            attempts = delivery_attempts(session, ids[0])
    finally:
        rt.close()
    last = attempts[-1] if attempts else None
    if last is not None and last.outcome == "delivered":
        console.print(f"[green]delivered[/green] to {name} ({last.latency_ms:.0f} ms)")
        return
    if last is None:
        err_console.print(f"[red]not sent[/red]: {name} could not be sent to now")
        sys.exit(1)
    answer = escape(f"{last.error} {last.response_excerpt}")
    err_console.print(f"[red]{last.outcome}[/red]: {answer}", highlight=False)
    sys.exit(1)


@main.group()
def digest() -> None:
    """Preview and send subscribers' digests."""


def _digest_subscriber(ctx: click.Context, name: str) -> tuple[Any, Any]:
    """The runtime (config synced) and the subscriber's row, or a clear error."""
    from worker.embedded import setup
    from worker.runtime import get_runtime
    from worker.store.digests import DIGEST_MODES
    from worker.store.tables import SubscriberRow

    config = _load(ctx)
    sub = next((s for s in config.subscribers if s.name == name), None)
    if sub is None:
        err_console.print(f"[red]error:[/red] no subscriber named {name!r} in {config.path}")
        sys.exit(2)
    if sub.mode not in DIGEST_MODES:
        err_console.print(
            f'[red]error:[/red] {config.path}: subscriber {name!r} has mode = "{sub.mode}"; '
            'digests need mode = "digest" or "both"'
        )
        sys.exit(2)
    setup(config)
    rt = get_runtime()
    with rt.session() as session:
        row = session.query(SubscriberRow).filter_by(name=name).one()
        session.expunge(row)
    return rt, row


@digest.command("preview")
@click.argument("name")
@click.pass_context
def digest_preview(ctx: click.Context, name: str) -> None:
    """Print every message the next digest would send, with its size; send nothing."""
    from worker.digest import preview

    rt, row = _digest_subscriber(ctx, name)
    now = datetime.now(UTC)
    with rt.session() as session:
        shown = preview(rt, session, row, now=now)
    options = row.options or {}
    zone = ZoneInfo(str(options.get("timezone") or "Asia/Shanghai"))
    count, parts = len(shown.composed.article_ids), shown.composed.parts
    click.echo(
        f"digest for {name} · {row.channel} · {count} article(s) since "
        f"{shown.window.start.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key}) · "
        f"{len(parts)} message(s)"
    )
    min_items = int(options.get("min_items", 1))
    if count < min_items:
        click.echo(f"(not sent on schedule: fewer than min_items = {min_items} articles)")
    click.echo(f"page: {shown.composed.page_url}")
    for index, part in enumerate(parts, 1):
        size = f"{part.size} / {part.limit}" if part.limit else str(part.size)
        click.echo(f"--- message {index}/{len(parts)} · {part.event_type} · {size} {part.unit}")
        click.echo(part.body)


@digest.command("send")
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


@main.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--base-url", default=None, help="For a FILE: the page's address, for its relative links."
)
@click.option(
    "--timezone",
    default=None,
    help="Zone for dates without one (default: config or Asia/Shanghai).",
)
@click.pass_context
def extract(
    ctx: click.Context, target: str, as_json: bool, base_url: str | None, timezone: str | None
) -> None:
    """Extract one article page (FILE or URL): title, date, author, text, html, images."""
    from worker.extract import ExtractError, extract_article
    from worker.fetch import FetchError, decode_body
    from worker.runtime import build_fetcher

    try:
        config = load_config(ctx.obj.get("config_path"), required=False)
    except ConfigError as err:  # extract needs no sources: go on with the defaults
        err_console.print(f"[yellow]warning:[/yellow] {err}; using default settings")
        config = Config()
    try:
        tz = ZoneInfo(timezone or config.herald.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        err_console.print(f"[red]error:[/red] --timezone: unknown timezone {timezone!r}")
        sys.exit(2)
    try:
        if target.startswith(("http://", "https://")):
            page = build_fetcher(config).get(target)
            html, url = page.text, page.url
        else:
            path = Path(target)
            html, _ = decode_body(path.read_bytes(), "")
            url = base_url or path.resolve().as_uri()
        ext = extract_article(html, url, tz=tz)
    except (OSError, FetchError, ExtractError) as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}")
        sys.exit(1)
    data = {
        "url": ext.url,
        "title": ext.title,
        "published": ext.published_at.isoformat() if ext.published_at else None,
        "author": ext.author,
        "summary": ext.summary,
        "images": list(ext.images),
        "text": ext.text,
        "html": ext.content_html,
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key in ("title", "published", "author", "url", "images"):
        console.print(f"[bold]{key}:[/bold] {data[key]}", highlight=False)
    console.print()
    console.print(ext.text, highlight=False)


@main.group()
def feeds() -> None:
    """Feed files."""


@feeds.command("build")
@click.pass_context
def feeds_build(ctx: click.Context) -> None:
    """Write RSS, Atom and JSON Feed files now."""
    from worker.publish import build_feeds
    from worker.runtime import configure, get_runtime

    config = _load(ctx)
    configure(config)
    changed = build_feeds(get_runtime(), force=True)
    console.print(f"{len(changed)} feed file(s) written under {config.herald.feeds_dir}")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply migrations (also done on every start)."""
    from worker.store.db import make_engine
    from worker.store.migrate import current_revision, upgrade

    config = _load(ctx)
    engine = make_engine(config.herald.database_url)
    upgrade(engine)
    console.print(f"database at revision {current_revision(engine)}")


@main.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Sources' health, the ingest queue and the delivery ledger."""
    from worker.runtime import build_runtime
    from worker.status import collect_status
    from worker.store.migrate import current_revision, head_revision

    config = _load(ctx)
    rt = build_runtime(config, migrate=False)  # read-only: no migration, no config sync
    if current_revision(rt.engine) != head_revision():
        err_console.print(
            f"database at {config.herald.database_url} is not initialised or not up to date: "
            "run `herald db upgrade` (or `herald run`)"
        )
        sys.exit(1)
    report = collect_status(rt)
    rt.close()
    table = Table(
        "source", "kind", "status", "articles", "last poll found", "last success", "failures",
        "next poll", title="sources",
    )  # fmt: skip
    for row in report.sources:
        table.add_row(*row[:-1])
    console.print(table)
    for row in report.sources:
        if row[-1]:
            console.print(f"{row[0]}: {row[2]} — {escape(row[-1])}", highlight=False)
    console.print(f"ingest queue: {report.pending or 'empty'}")
    console.print(f"deliveries: {report.deliveries or 'none'}")
    console.print(f"digests: {report.digests}")
    console.print(f"circuit breaker opened: {report.breaker_opened} time(s)")
    for name, reason in report.suspended:
        console.print(f"subscriber {name}: suspended — {escape(reason)}", highlight=False)
    console.print(f"feeds: {report.feeds}")


@main.command()
@click.option("--articles", default=12, show_default=True, help="Articles on the demo site.")
@click.option("--seconds", type=float, default=None, help="Stop after this long (default: Ctrl-C).")
@click.option(
    "--every",
    type=float,
    default=20.0,
    show_default=True,
    help="Publish a new demo article this often (seconds).",
)
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False),
    default="herald-demo",
    show_default=True,
    help="Where the demo's config, database and feeds go.",
)
def demo(articles: int, seconds: float | None, every: float, workdir: str) -> None:
    """A local site and webhook receiver, and herald running against both (no network needed)."""
    from worker.demo.runner import run_demo

    _setup_logging(False)
    run_demo(Path(workdir), articles=articles, seconds=seconds, every=every, console=console)


if __name__ == "__main__":
    main()


def _register_ledger_commands() -> None:
    from worker.cli_ledger import deliveries, subscribers_enable

    main.add_command(deliveries)
    subscribers.add_command(subscribers_enable)


_register_ledger_commands()
