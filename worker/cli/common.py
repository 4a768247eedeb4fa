"""What every ``herald`` command shares: the consoles, loading the config, errors, logging.

Whatever a command prints that may hold a URL, a DSN or an error text goes through
``worker.redact`` first (``show_url``, ``show_text``, ``fail``); log records are redacted by
the handler ``setup_cli_logging`` installs. It must not hold commands (the modules of
``worker.cli`` do) nor decide what is secret (``worker.redact`` does).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from worker.config import Config, ConfigError, load_config
from worker.logs import setup_logging
from worker.redact import redact_text, redact_url

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def show_url(url: str) -> str:
    """A URL or DSN as printed: redacted, escaped for rich markup."""
    return escape(redact_url(url))


def show_text(text: str, limit: int | None = None) -> str:
    """An error or a reply as printed: every URL and secret in it redacted, then cut to
    ``limit`` characters, then escaped for rich markup."""
    return escape(redact_text(text)[:limit])


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: message`` (redacted) on stderr and exit with ``code``."""
    err_console.print(f"[red]error:[/red] {show_text(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def load(ctx: click.Context) -> Config:
    """The config named by ``--config`` (or the default); a mistake stops with exit code 2."""
    try:
        return load_config((ctx.obj or {}).get("config_path"))
    except ConfigError as err:
        fail(str(err), 2)


def load_or_defaults(ctx: click.Context) -> Config:
    """The config for commands that need no sources or subscribers: a mistake in it is shown
    as a warning and the defaults are used."""
    try:
        return load_config((ctx.obj or {}).get("config_path"), required=False)
    except ConfigError as err:
        warning = f"[yellow]warning:[/yellow] {show_text(str(err))}; using default settings"
        err_console.print(warning, highlight=False)
        return Config()


def setup_cli_logging(verbose: bool, *, level: int = logging.INFO) -> None:
    """Log to stderr, redacted: ``level`` (DEBUG with ``-v``)."""
    setup_logging(logging.DEBUG if verbose else level)


class HeraldGroup(click.Group):
    """The root group: an unexpected error is printed redacted (its traceback too, with
    ``-v``) instead of as a raw traceback that may quote a URL or DSN."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            if (ctx.obj or {}).get("verbose"):
                err_console.print(show_text(traceback.format_exc()), highlight=False)
            fail(f"{type(err).__name__}: {err}", 1)


def edit_config(ctx: click.Context, edit: Callable[[Path], Config]) -> Config:
    from worker.config import find_config_path

    path = find_config_path(ctx.obj.get("config_path"))
    try:
        return edit(path)
    except ConfigError as err:
        fail(str(err), 2)


def sync_database(config: Config) -> None:
    """Apply the edited config to the database now, so running workers see it at once."""
    from worker.runtime import build_runtime
    from worker.tasks import prepare_database

    rt = build_runtime(config)
    try:
        prepare_database(rt)
    finally:
        rt.close()
