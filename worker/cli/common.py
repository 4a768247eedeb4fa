"""What every ``herald`` command shares: the consoles, loading the config, logging setup.

It must not hold commands (the modules of ``worker.cli`` do).
"""

from __future__ import annotations

import logging
import sys

import click
from rich.console import Console
from rich.markup import escape

from worker.config import Config, ConfigError, load_config
from worker.logs import setup_logging

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def load(ctx: click.Context) -> Config:
    """The config named by ``--config`` (or the default); a mistake stops with exit code 2."""
    try:
        return load_config((ctx.obj or {}).get("config_path"))
    except ConfigError as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(2)


def setup_cli_logging(verbose: bool) -> None:
    setup_logging(logging.DEBUG if verbose else logging.INFO)
