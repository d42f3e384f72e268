"""``segverify firewall`` and ``segverify diff``: thin wiring to checks/firewall*.py."""

from __future__ import annotations

import sys

import click

from segverify.checks.firewall import check_firewall
from segverify.checks.firewall_diff import diff_firewalls
from segverify.checks.firewall_flow import flow_report
from segverify.cli.context import emit, settings
from segverify.cli.options import format_option, output_option, topology_option
from segverify.firewall.registry import VENDORS, parse_export
from segverify.render import render
from segverify.topology.loader import load_topology

FORMATS = ("text", "json", "csv", "sarif", "junit")


def _vendor_option():  # noqa: ANN202
    return click.option(
        "--vendor",
        default=None,
        help=f"Export format ({', '.join(VENDORS)}); sniffed when left out.",
    )


def _device_option():  # noqa: ANN202
    return click.option(
        "--device", default=None, help="Firewall node in the topology (optional with one firewall)."
    )


@click.command("firewall")
@click.argument("export", type=click.Path(dir_okay=False))
@topology_option()
@_device_option()
@_vendor_option()
@click.option(
    "--ipset",
    "ipset_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="ipset save file the iptables export refers to.",
)
@format_option(FORMATS)
@output_option()
@click.option(
    "--test-flow",
    "flow",
    default=None,
    metavar="SRC,DST,PROTO,DPORT",
    help="Show which rule decides this packet, and the policy verdict.",
)
@click.option("--no-shadow", is_flag=True, help="Skip the shadowed/redundant rule analysis.")
def firewall(
    export: str,
    topology_path: str,
    device: str | None,
    vendor: str | None,
    ipset_file: str | None,
    fmt: str,
    output: str | None,
    flow: str | None,
    no_shadow: bool,
) -> None:
    """Check a firewall EXPORT against the topology's three-tier policy (exact, on BDDs).

    Exit codes: 0 clean, 1 a forbidden flow is permitted, 2 bad input, 3 incomplete.
    """
    topology = load_topology(topology_path)
    ruleset = parse_export(export, vendor, topology, device, ipset_file)
    if flow:
        report = flow_report(topology, ruleset, flow, device)
    else:
        report = check_firewall(topology, ruleset, device, shadow=not no_shadow)
    emit(render(report, fmt, settings().lang), output)
    sys.exit(report.exit_code())


@click.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@topology_option()
@_device_option()
@_vendor_option()
@format_option(FORMATS)
@output_option()
def diff(
    old: str,
    new: str,
    topology_path: str,
    device: str | None,
    vendor: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Compare two exports of one firewall: packets newly permitted and newly blocked.

    Exit codes: 0 no forbidden flow newly permitted, 1 one is, 2 bad input, 3 incomplete.
    """
    topology = load_topology(topology_path)
    before = parse_export(old, vendor, topology, device)
    after = parse_export(new, vendor, topology, device)
    report = diff_firewalls(topology, before, after, device)
    emit(render(report, fmt, settings().lang), output)
    sys.exit(report.exit_code())


def register(group: click.Group) -> None:
    group.add_command(firewall)
    group.add_command(diff)
