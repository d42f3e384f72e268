"""`segverify policy check`: the published policy text against the topology."""

from __future__ import annotations

import sys

import click

from segverify.checks.policytext import check_policy_text
from segverify.cli.context import emit, settings
from segverify.cli.options import format_option, output_option, topology_option
from segverify.render import render
from segverify.topology.loader import load_topology


@click.group("policy")
def policy() -> None:
    """Check a municipality's policy text (情報セキュリティ基本方針) against its topology."""


@policy.command("check")
@click.argument("text", type=click.Path(dir_okay=False))
@topology_option()
@format_option()
@output_option()
def check(text: str, topology_path: str, fmt: str, output: str | None) -> None:
    """Find the three measures in TEXT; report measures the model does not enforce (or
    enforces without a clause), clause items the topology does not cite, and a prefecture
    named for internet aggregation that is not the topology's. Exit 1 on errors."""
    report = check_policy_text(text, load_topology(topology_path))
    emit(render(report, fmt, settings().lang), output)
    sys.exit(report.exit_code())


def register(group: click.Group) -> None:
    group.add_command(policy)
