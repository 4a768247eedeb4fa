"""``herald sources add``, ``remove``, ``import`` and ``export``: changing the configured sources.

Edits go into the config file through ``worker.configfile`` (validated, comments kept) and are
applied to the database at once; running processes read the file again by themselves. It parses
options, calls the stages and prints; nothing more.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from worker.cli.common import (
    console,
    edit_config,
    err_console,
    fail,
    load,
    load_or_defaults,
    show_text,
    sync_database,
)
from worker.cli.sources import group
from worker.config import ConfigError


@group.command("add")
@click.argument("url")
@click.option("--name", default=None, help="Source name (default: made from the URL).")
@click.option("--pages", default=1, show_default=True, help="List pages read to recognise it.")
@click.pass_context
def sources_add(ctx: click.Context, url: str, name: str | None, pages: int) -> None:
    """Recognise URL's CMS family (or feed, or list) and add it to the config file."""
    from worker.configfile import add_entry
    from worker.fetch import FetchError
    from worker.runtime import build_fetcher
    from worker.sources import SourceError
    from worker.sources.probe import probe_source, source_values, suggest_name

    config = load(ctx)
    fetcher = build_fetcher(config)
    try:
        found = probe_source(fetcher, url, tz=ZoneInfo(config.herald.timezone),
                             now=datetime.now(UTC), pages=pages)  # fmt: skip
    except (FetchError, SourceError) as err:
        fail(f"cannot read {url}: {err}", 1)
    finally:
        fetcher.close()
    if not found.kind:
        fail(f"{url}: no CMS family, feed or dated list recognised; write its [[sources]] "
             "block by hand (`herald sources detect URL` shows what was seen)", 1)  # fmt: skip
    values = source_values(found, name or suggest_name(url))
    updated = edit_config(ctx, lambda path: add_entry(path, "sources", values))
    sync_database(updated)
    console.print(
        f"added source {values['name']} ({found.kind}, {len(found.items)} entries seen) "
        f"to {updated.path}",
        highlight=False,
    )


@group.command("remove")
@click.argument("name")
@click.pass_context
def sources_remove(ctx: click.Context, name: str) -> None:
    """Remove a source from the config file (its articles are kept; it is no longer polled)."""
    from worker.configfile import remove_entry

    updated = edit_config(ctx, lambda path: remove_entry(path, "sources", name))
    sync_database(updated)
    console.print(f"removed source {name} from {updated.path}", highlight=False)


@group.command("import")
@click.argument("opml", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def sources_import(ctx: click.Context, opml: str) -> None:
    """Add every feed an OPML file lists as a source (kind = "feed"; known URLs skipped)."""
    from worker.configfile import add_entry
    from worker.opml import OpmlError, read_opml
    from worker.sources.probe import suggest_name

    config = load(ctx)
    try:
        outlines = read_opml(Path(opml).read_bytes())
    except OpmlError as err:
        fail(f"{opml}: {err}", 2)
    known_urls = {s.url for s in config.sources}
    names = {s.name for s in config.sources}
    added = skipped = 0
    for outline in outlines:
        if outline.xml_url in known_urls:
            skipped += 1
            continue
        name = _free_name(suggest_name(outline.xml_url), names)
        values = {"name": name, "url": outline.xml_url, "kind": "feed"}
        path = config.path
        assert path is not None
        try:
            config = add_entry(path, "sources", values)
        except ConfigError as err:
            err_console.print(f"[yellow]skipped[/yellow] {show_text(outline.xml_url)}: "
                              f"{show_text(err.problem)}", highlight=False)  # fmt: skip
            skipped += 1
            continue
        names.add(name)
        known_urls.add(outline.xml_url)
        added += 1
    if added:
        sync_database(config)
    console.print(f"imported {added} source(s) from {opml}; {skipped} skipped", highlight=False)
    if not added and outlines:
        sys.exit(1)


def _free_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    counter = 2
    while f"{base[:60]}-{counter}" in taken:
        counter += 1
    return f"{base[:60]}-{counter}"


@group.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write here instead of standard output.")  # fmt: skip
@click.pass_context
def sources_export(ctx: click.Context, output: str | None) -> None:
    """An OPML list of herald's feed for every source (for a feed reader)."""
    from worker.feeds import build_feed_url
    from worker.opml import Outline, write_opml

    config = load_or_defaults(ctx)
    outlines = [
        Outline(s.name, build_feed_url(config.herald.base_url, f"sources/{s.name}", "rss"), s.url)
        for s in config.sources
    ]
    data = write_opml("herald sources", outlines)
    if output:
        Path(output).write_bytes(data)
        console.print(f"wrote {len(outlines)} source(s) to {output}", highlight=False)
    else:
        click.echo(data.decode("utf-8"), nl=False)
