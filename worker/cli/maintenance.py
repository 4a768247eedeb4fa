"""``herald prune``: retention now, or what it would remove (``--dry-run``)."""

from __future__ import annotations

import click

from worker.cli.common import console, load


@click.command()
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
@click.pass_context
def prune(ctx: click.Context, dry_run: bool) -> None:
    """Remove deliveries, article versions and digests kept past [retention]."""
    from worker.retention import prune as run_prune
    from worker.runtime import build_runtime

    config = load(ctx)
    rt = build_runtime(config)
    try:
        report = run_prune(rt, dry_run=dry_run)
    finally:
        rt.close()
    verb = "would remove" if dry_run else "removed"
    console.print(
        f"{verb}: {report.delivered} delivered and {report.failed} failed deliveries "
        f"({report.attempts} attempts), {report.article_versions} article versions, "
        f"{report.digests} digests"
    )
