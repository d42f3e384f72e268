"""`segverify init`: write a commented starter topology for a model."""

from __future__ import annotations

import os

import click

from segverify.cli.context import emit, settings
from segverify.i18n import Msg
from segverify.topology.model import MODELS
from segverify.topology.starter import starter_text


@click.command("init")
@click.option(
    "--model", type=click.Choice(MODELS), default="alpha", show_default=True, help="Model preset."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="File to write (default: stdout).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(model: str, output: str | None, force: bool) -> None:
    """Write a commented starter topology file for MODEL."""
    if output and not force and os.path.exists(output):
        raise click.UsageError(
            Msg("error.cli.init_cmd.exists_use_force_overwrite", output=output).render(
                settings().lang
            )
        )
    emit(starter_text(model, settings().lang), output)


def register(group: click.Group) -> None:
    group.add_command(init)
