"""``herald doctor``: one line per check of ``worker.doctor``, exit code 1 on any failure."""

from __future__ import annotations

import sys

import click

from worker.cli.common import console

MARKS = {"ok": "[green]ok  [/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


@click.command()
@click.option("--sources", "with_sources", is_flag=True, help="Also fetch every source's page.")
@click.pass_context
def doctor(ctx: click.Context, with_sources: bool) -> None:
    """Check that herald is ready to run; change nothing (no migration is applied)."""
    from rich.markup import escape

    from worker.doctor import run_checks

    failed = False
    for check in run_checks((ctx.obj or {}).get("config_path"), sources=with_sources):
        failed = failed or check.status == "fail"
        console.print(f"{MARKS[check.status]} {escape(check.name)}: {escape(check.detail)}",
                      highlight=False, soft_wrap=True)  # fmt: skip
    sys.exit(1 if failed else 0)
