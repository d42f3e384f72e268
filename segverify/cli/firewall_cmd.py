"""``segverify firewall`` and ``segverify diff``: thin wiring to checks/firewall*.py."""

from __future__ import annotations

import sys

import click

from segverify.checks.firewall import check_firewall
from segverify.checks.firewall_common import exit_code, parse_fail_on
from segverify.checks.firewall_diff import diff_firewalls
from segverify.checks.firewall_flow import flow_report
from segverify.cli.context import emit, settings
from segverify.cli.options import format_option, output_option, topology_option
from segverify.firewall.bind import parse_interface_map
from segverify.firewall.formats import format_names
from segverify.firewall.registry import load_device
from segverify.render import render
from segverify.topology.loader import load_topology

FORMATS = ("text", "json", "csv", "sarif", "junit", "html")


def _vendor_option():  # noqa: ANN202
    return click.option(
        "--vendor",
        default=None,
        help=f"Export format ({', '.join(format_names())}, auto); sniffed when left out.",
    )


def _interface_map_option():  # noqa: ANN202
    return click.option(
        "--interface-map",
        "interface_map",
        default=None,
        metavar="NAME=IFACE,...",
        help="Map the export's interface names to the topology firewall's (port1=eth0,...).",
    )


def _fail_on_option():  # noqa: ANN202
    return click.option(
        "--fail-on",
        "fail_on",
        default="error",
        show_default=True,
        metavar="LIST",
        help="Severities (error,warning,info) and/or finding kinds that make the exit code 1.",
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
@_interface_map_option()
@_fail_on_option()
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
    interface_map: str | None,
    fail_on: str,
) -> None:
    """Check a firewall EXPORT against the topology's three-tier policy (exact, on BDDs).

    Exit codes: 0 clean, 1 a finding of a --fail-on severity or kind (default: errors, e.g.
    a forbidden flow permitted), 2 bad input, 3 incomplete.
    """
    fails = parse_fail_on(fail_on)
    topology = load_topology(topology_path)
    model = load_device(
        export, vendor, topology, device, ipset_file, parse_interface_map(interface_map)
    )
    if flow:
        report = flow_report(topology, model, flow, model.name)
    else:
        report = check_firewall(topology, model, model.name, shadow=not no_shadow)
    emit(render(report, fmt, settings().lang), output)
    sys.exit(exit_code(report, fails))


@click.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@topology_option()
@_device_option()
@_vendor_option()
@format_option(FORMATS)
@output_option()
@_interface_map_option()
@_fail_on_option()
def diff(
    old: str,
    new: str,
    topology_path: str,
    device: str | None,
    vendor: str | None,
    fmt: str,
    output: str | None,
    interface_map: str | None,
    fail_on: str,
) -> None:
    """Compare two exports of one firewall: packets newly permitted and newly blocked.

    Exit codes: 0 no forbidden flow newly permitted, 1 one is, 2 bad input, 3 incomplete.
    """
    fails = parse_fail_on(fail_on)
    topology = load_topology(topology_path)
    imap = parse_interface_map(interface_map)
    before = load_device(old, vendor, topology, device, None, imap)
    after = load_device(new, vendor, topology, device, None, imap)
    report = diff_firewalls(topology, before, after, after.name)
    emit(render(report, fmt, settings().lang), output)
    sys.exit(exit_code(report, fails))


def register(group: click.Group) -> None:
    group.add_command(firewall)
    group.add_command(diff)
