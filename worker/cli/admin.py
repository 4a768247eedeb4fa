"""``herald init``, ``run``, ``serve``, ``status``, ``extract``, ``feeds build``, ``db upgrade``
and ``demo``: setting herald up and running it. It parses options, calls the stages and prints;
nothing more.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.markup import escape
from rich.table import Table

from worker.cli.common import (
    console,
    err_console,
    fail,
    load,
    load_or_defaults,
    setup_cli_logging,
    show_text,
    show_url,
)
from worker.models import DateEvidence


@click.command()
@click.option(
    "--path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write (default: the --config path, else ./herald.toml).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_context
def init(ctx: click.Context, path: str | None, force: bool) -> None:
    """Write a commented example configuration (0600, with a fresh webhook secret)."""
    from worker.configfile import write_example

    target = Path(path or ctx.obj.get("config_path") or "herald.toml")
    if target.exists() and not force:
        fail(f"{target} exists (use --force to overwrite)", 1)
    write_example(target)
    console.print(
        escape(
            f"wrote {target} (readable by you only, with a fresh webhook secret) — edit its "
            "[[sources]] and [[subscribers]], then `herald run`"
        ),
        highlight=False,
    )


@click.command()
@click.option(
    "--once", is_flag=True, help="One full pass (poll, ingest, feeds, deliver), then exit."
)
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Run herald: a worker and beat in this process (embedded default, or on the broker)."""
    from worker import embedded

    config = load(ctx)
    setup_cli_logging(ctx.obj["verbose"])
    if once:
        summary = embedded.run_once(config)
        console.print(
            f"polled {summary.sources} source(s); ingest queue {summary.ingested or '{}'}; "
            f"deliveries {summary.deliveries or '{}'}; feed files written {summary.feeds_written}"
        )
        return
    broker = config.herald.broker_url
    mode = "embedded (in-memory broker)" if config.herald.embedded else show_url(broker)
    web = f", web: http://{config.web.host}:{config.web.port}/" if config.web.enabled else ""
    console.print(
        f"herald: running worker + beat, broker: {mode}{web}. Ctrl-C stops.", highlight=False
    )
    embedded.run_worker(config)
    embedded.end_process(0)


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: [web] host).")
@click.option("--port", type=int, default=None, help="Port (default: [web] port).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the index, source and digest pages, the feeds, /healthz and /metrics."""
    from worker.runtime import configure, get_runtime
    from worker.tasks import prepare_database
    from worker.web.server import bind
    from worker.web.server import serve as serve_forever

    config = load(ctx)
    setup_cli_logging(ctx.obj["verbose"])
    host = host or config.web.host
    port = config.web.port if port is None else port
    configure(config)
    prepare_database(get_runtime())  # migrated and in step with the config before a request
    try:
        sock = bind(host, port)
    except OSError as err:
        fail(f"cannot listen on {host}:{port}: {err.strerror or err}", 1)
    console.print(f"herald: serving on http://{host}:{port}/ . Ctrl-C stops.", highlight=False)
    serve_forever(sock)


@click.command()
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
    from worker.charset import decode_body
    from worker.extract import ExtractError, extract_article
    from worker.fetch import FetchError
    from worker.runtime import build_fetcher

    config = load_or_defaults(ctx)  # extract needs no sources
    try:
        tz = ZoneInfo(timezone or config.herald.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--timezone: unknown timezone {timezone!r}", 2)
    try:
        fetched_at: datetime | None = None  # a saved file has no fetch time
        if target.startswith(("http://", "https://")):
            page = build_fetcher(config).get(target)
            html, url, fetched_at = page.text, page.url, datetime.now(tz)
        else:
            path = Path(target)
            html, _ = decode_body(path.read_bytes(), "")
            url = base_url or path.resolve().as_uri()
        ext = extract_article(html, url, tz=tz, now=fetched_at)
    except (OSError, FetchError, ExtractError) as err:
        fail(str(err), 1)
    data = {
        "url": ext.url,
        "title": ext.title,
        "published": ext.published_at.isoformat() if ext.published_at else None,
        "published_evidence": describe_evidence(ext.published_evidence),
        "author": ext.author,
        "body_path": ext.body_path,
        "body_confidence": ext.body_confidence,
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
    evidence = ext.published_evidence
    if evidence is not None:
        console.print(f"[bold]date from:[/bold] {evidence.rule} ({evidence.text})", highlight=False)
    console.print(
        f"[bold]body from:[/bold] {ext.body_path} (confidence {ext.body_confidence:.2f})",
        highlight=False,
    )
    console.print()
    console.print(ext.text, highlight=False)


def describe_evidence(evidence: DateEvidence | None) -> dict[str, object] | None:
    """What ``extract --json`` says about why the date was chosen."""
    if evidence is None:
        return None
    return {"rule": evidence.rule, "text": evidence.text, "score": evidence.score}


@click.group("feeds")
def feeds() -> None:
    """Feed files."""


@feeds.command("build")
@click.pass_context
def feeds_build(ctx: click.Context) -> None:
    """Write RSS, Atom and JSON Feed files now."""
    from worker.publish import build_feeds
    from worker.runtime import configure, get_runtime

    config = load(ctx)
    configure(config)
    changed = build_feeds(get_runtime(), force=True)
    if changed:
        console.print(f"{len(changed)} feed file(s) written under {config.herald.feeds_dir}")
    else:
        console.print(f"feeds up to date under {config.herald.feeds_dir} (no file changed)")


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply migrations (also done on every start)."""
    from worker.store.db import make_engine
    from worker.store.migrate import current_revision, upgrade

    config = load(ctx)
    engine = make_engine(config.herald.database_url)
    upgrade(engine)
    console.print(f"database at revision {current_revision(engine)}")


@click.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Sources' health, the ingest queue and the delivery ledger."""
    from worker.runtime import build_runtime
    from worker.status import collect_status
    from worker.store.migrate import current_revision, head_revision

    config = load(ctx)
    rt = build_runtime(config, migrate=False)  # read-only: no migration, no config sync
    if current_revision(rt.engine) != head_revision():
        err_console.print(
            f"database at {show_url(config.herald.database_url)} is not initialised or not up "
            "to date: run `herald db upgrade` (or `herald run`)",
            highlight=False,
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
            console.print(f"{row[0]}: {row[2]} — {show_text(row[-1])}", highlight=False)
    console.print(f"ingest queue: {report.pending or 'empty'}")
    console.print(f"deliveries: {report.deliveries or 'none'}")
    console.print(f"digests: {report.digests}")
    console.print(f"circuit breaker opened: {report.breaker_opened} time(s)")
    for name, reason in report.suspended:
        console.print(f"subscriber {name}: suspended — {show_text(reason)}", highlight=False)
    console.print(f"feeds: {report.feeds}")
    console.print(f"rendering: {report.rendering}", highlight=False)


@click.command()
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

    setup_cli_logging(False)
    run_demo(Path(workdir), articles=articles, seconds=seconds, every=every, console=console)


COMMANDS = (init, run, serve, status, extract, feeds, db, demo)
