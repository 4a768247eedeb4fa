"""The ``herald`` command line. It parses options, calls the stages and prints; nothing more.

``main`` is the root group; each module holds one concern: ``admin`` (init, run, status, feeds,
db, extract, demo), ``doctor``, ``maintenance`` (prune), ``sources``, ``subscribers``,
``digest`` and ``deliveries`` (the ledger by hand, with ``subscribers enable``). ``common`` has
what they share: the consoles, config loading, errors, logging, and the helpers that redact what
is printed (``worker.redact``). No module here may hold stage logic or print a URL, DSN or error
text without redacting it.
"""

from __future__ import annotations

import logging

import click

from worker.cli.common import HeraldGroup, setup_cli_logging


@click.group(cls=HeraldGroup)
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
    setup_cli_logging(verbose, level=logging.WARNING)


def _register() -> None:
    from worker.cli import (
        admin,
        deliveries,
        digest,
        doctor,
        maintenance,
        source_edits,
        sources,
        subscribers,
    )

    del source_edits  # its commands join the sources group on import

    for command in admin.COMMANDS:
        main.add_command(command)
    main.add_command(sources.group)
    main.add_command(subscribers.group)
    subscribers.group.add_command(deliveries.subscribers_enable)
    main.add_command(digest.group)
    main.add_command(deliveries.deliveries)
    main.add_command(doctor.doctor)
    main.add_command(maintenance.prune)


_register()
