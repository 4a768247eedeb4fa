"""``herald sources``: list the configured sources, try one (nothing stored), recognise a page's
CMS family, import older pages. It parses options, calls the stages and prints; nothing more.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click
from rich.table import Table

from worker.cli.common import (
    console,
    err_console,
    fail,
    load,
    load_or_defaults,
    show_text,
    show_url,
)
from worker.config import Config, SourceConfig

if TYPE_CHECKING:
    from worker.fetch import Fetcher
    from worker.render.fallback import RenderFallback, RenderRecord
    from worker.sources import Discovery


@click.group("sources")
def group() -> None:
    """Inspect and try sources."""


@group.command("list")
@click.pass_context
def sources_list(ctx: click.Context) -> None:
    """The configured sources."""
    config = load(ctx)
    table = Table("name", "kind", "interval", "enabled", "url", "tags")
    for src in config.sources:
        table.add_row(
            src.name, src.kind, f"{src.interval:g}s", str(src.enabled), show_url(src.url),
            ", ".join(src.tags),
        )  # fmt: skip
    console.print(table)


@group.command("test")
@click.argument("name")
@click.option("--articles", default=3, show_default=True, help="How many article pages to read.")
@click.pass_context
def sources_test(ctx: click.Context, name: str, articles: int) -> None:
    """Dry run: what would be found and extracted. Nothing is stored or sent."""
    from worker.config.checks import placeholder_host
    from worker.runtime import build_renderer, render_fallback

    config = load(ctx)
    try:
        source = config.source(name)
    except KeyError:
        fail(f"no source named {name!r} in {config.path}", 2)
    placeholder = placeholder_host(source.url)
    if placeholder:
        fail(f"{placeholder} is the example configuration's placeholder: put the page's address in "
             f"sources[\"{name}\"].url of {config.path} (`herald sources detect URL` shows what a "
             "page holds)", 1)  # fmt: skip
    renderer = build_renderer(config)
    try:
        _try_source(config, source, articles, render_fallback(source, renderer))
    finally:
        if renderer is not None:
            renderer.close()


def _try_source(
    config: Config, source: SourceConfig, articles: int, fallback: RenderFallback
) -> None:
    from worker.runtime import build_fetcher
    from worker.sources import discover

    fetcher = build_fetcher(config, proxy=config.source_proxy(source)).with_render(fallback)
    tz = config.source_timezone(source)
    try:
        found = discover(fetcher, source, tz=tz, now=datetime.now(UTC), max_pages=source.backfill)
    except Exception as err:  # report any failure of the dry run, whatever its kind
        show_renders(fallback.records)
        err_console.print(f"[red]failed:[/red] {show_text(str(err))}", highlight=False)
        sys.exit(1)
    _show_found(fetcher, source, found, articles, tz)


def show_renders(records: list[RenderRecord]) -> None:
    """One line per page headless Chromium rendered (or failed to)."""
    for record in records:
        if record.ok:
            console.print(f"[cyan]rendered[/cyan] {record.url} ({record.why}) in "
                          f"{record.seconds:.1f} s: {record.report}", highlight=False)  # fmt: skip
        else:
            console.print(f"[red]render failed[/red] {record.url} ({record.why}): "
                          f"{show_text(record.error)}", highlight=False)  # fmt: skip


def _show_found(
    fetcher: Fetcher, source: SourceConfig, found: Discovery, articles: int, tz: tzinfo
) -> None:
    from worker.ingest import read_article

    assert fetcher.render is not None
    shown = len(fetcher.render.records)
    show_renders(fetcher.render.records)
    unreadable = f", {found.skipped} unreadable skipped" if found.skipped else ""
    heading = f"{len(found.items)} items, {found.pages} page(s){unreadable}"
    table = Table("#", "published", "title", "url", title=heading)
    for i, item in enumerate(found.items, 1):
        published = item.published_at.isoformat() if item.published_at else "—"
        table.add_row(str(i), published, item.title, item.url)
    console.print(table)
    if not found.items:
        reason = "the page answered 304 Not Modified" if found.not_modified else (
            f"the {source.kind} reader found no entries on {source.url}: check the URL and the "
            "kind (`herald sources detect URL` shows what the page holds)"
        )  # fmt: skip
        err_console.print(f"[red]no items:[/red] {show_text(reason)}", highlight=False)
        sys.exit(1)
    for item in found.items[:articles]:
        try:
            page = read_article(fetcher, source, item, tz=tz)
        except Exception as err:  # show the failure and go on with the next article
            page, failure = None, err
        show_renders(fetcher.render.records[shown:])
        shown = len(fetcher.render.records)
        if page is None:
            console.print(f"[red]✗[/red] {item.url}: {show_text(str(failure))}")
            continue
        ext = page.extracted
        assert ext is not None
        when = ext.published_at.isoformat() if ext.published_at else "no date"
        console.print(
            f"[green]✓[/green] {ext.title} | {when} | {len(ext.text)} chars, "
            f"{len(ext.images)} images | {ext.url}"
        )


@group.command("detect")
@click.argument("url")
@click.option("--name", default=None, help="Name for the config block (default: from the URL).")
@click.option("--pages", default=2, show_default=True, help="List pages to read.")
@click.pass_context
def sources_detect(ctx: click.Context, url: str, name: str | None, pages: int) -> None:
    """Recognise a list page's CMS family (or feed, or list) and print a config block."""
    from worker.fetch import FetchError
    from worker.sources import SourceError
    from worker.sources.detect import describe_config
    from worker.sources.probe import probe_source, source_values, suggest_name

    config = load_or_defaults(ctx)  # detect needs no sources
    from worker.render.fallback import RenderFallback
    from worker.runtime import build_fetcher, build_renderer

    tz = ZoneInfo(config.herald.timezone)
    renderer = build_renderer(config)
    fetcher = build_fetcher(config).with_render(RenderFallback("auto", renderer))
    try:
        found = probe_source(fetcher, url, tz=tz, now=datetime.now(UTC), pages=pages)
    except (FetchError, SourceError) as err:
        err_console.print(f"[red]failed:[/red] {show_text(str(err))}", highlight=False)
        sys.exit(1)
    finally:
        if renderer is not None:
            renderer.close()
    console.print(f"[bold]family:[/bold] {found.kind or 'not recognised'}", highlight=False)
    for line in found.evidence:
        console.print(f"  · {line}", highlight=False)
    if not found.kind or not found.items:
        if found.kind:
            err_console.print(f"[red]no entries found[/red] by the {found.kind} reader: no config "
                              "block to offer", highlight=False)  # fmt: skip
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
    block = describe_config(source_values(found, name or suggest_name(url)))
    console.print('\n[bold]config block[/bold] (kind = "auto" also reads it):\n')
    click.echo(block)


@group.command("backfill")
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

    config = load(ctx)
    if name not in {s.name for s in config.sources}:
        fail(f"no source named {name!r} in {config.path}", 2)
    setup(config)
    rt = get_runtime()
    with rt.session() as session:
        row = source_by_name(session, name)
        assert row is not None
        source_id = row.id
    report = poll_source(rt, source_id, max_pages=pages, notify=False)
    if report.status in ("blocked", "failing"):
        err_console.print(f"[red]failed:[/red] {show_text(str(report.error))}", highlight=False)
        sys.exit(1)
    outcomes: dict[str, int] = {}
    with Progress(console=console) as progress:
        task = progress.add_task(f"{name}: {report.found} items found", total=len(report.queued))
        for pending_id in report.queued:
            outcome = ingest_item(rt, pending_id).outcome
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            progress.advance(task)
    build_feeds(rt)
    unreadable = f", {report.skipped} unreadable skipped" if report.skipped else ""
    if report.rendered:
        unreadable += f", {report.rendered} rendered in headless Chromium"
    console.print(
        f"{name}: {report.found} items on {pages} page(s){unreadable}; "
        f"ingested {outcomes or 'nothing new'}"
    )
