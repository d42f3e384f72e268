"""Options shared by several commands."""

from __future__ import annotations

import click

REPORT_FORMATS = ("text", "json", "csv", "sarif", "junit", "html")


def format_option(choices: tuple[str, ...] = REPORT_FORMATS, default: str = "text"):  # noqa: ANN201
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help="Output format.",
    )


def output_option():  # noqa: ANN201
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, writable=True),
        default=None,
        help="Write to this file instead of stdout.",
    )


def topology_option(required: bool = True):  # noqa: ANN201
    return click.option(
        "--topology",
        "-t",
        "topology_path",
        type=click.Path(dir_okay=False),
        required=required,
        help="Topology YAML file (see docs/topology.md).",
    )
