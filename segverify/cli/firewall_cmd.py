"""``segverify firewall`` and ``segverify diff``: thin wiring to checks/firewall*.py."""

from __future__ import annotations

import sys

import click

from segverify.checks.firewall import check_firewall
from segverify.checks.firewall_common import exit_code, parse_fail_on
from segverify.checks.firewall_diff import diff_firewalls
from segverify.checks.firewall_flow import flow_report
from segverify.checks.network import check_network
from segverify.checks.network_diff import diff_network
from segverify.cli.context import emit, settings
from segverify.cli.options import format_option, output_option, topology_option
from segverify.errors import InputError
from segverify.firewall.bind import parse_interface_map
from segverify.firewall.exports import load_exports, parse_device_specs
from segverify.firewall.formats import format_names
from segverify.firewall.registry import load_device
from segverify.i18n import Msg
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
@click.argument("export", type=click.Path(dir_okay=False), required=False)
@topology_option()
@click.option(
    "--device",
    "devices",
    multiple=True,
    help="Firewall node in the topology (optional with one firewall). NODE=EXPORT, repeated: "
    "check several exports at once along the topology's paths (no EXPORT argument).",
)
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
    export: str | None,
    topology_path: str,
    devices: tuple[str, ...],
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

    With --device NODE=EXPORT for several firewalls, check the whole network: forbidden zone
    pairs some path lets through end to end, and sanctioned flows no path carries.

    Exit codes: 0 clean, 1 a finding of a --fail-on severity or kind (default: errors, e.g.
    a forbidden flow permitted), 2 bad input, 3 incomplete.
    """
    fails = parse_fail_on(fail_on)
    topology = load_topology(topology_path)
    if any("=" in d for d in devices):
        if export or flow or ipset_file:
            raise InputError(Msg("error.cli.firewall_cmd.device_node_export_replaces_export"))
        models = load_exports(
            parse_device_specs(devices), topology, vendor, parse_interface_map(interface_map)
        )
        report = check_network(topology, models)
        emit(render(report, fmt, settings().lang), output)
        sys.exit(exit_code(report, fails))
    if export is None:
        raise InputError(Msg("error.cli.firewall_cmd.give_export_file_device_node"))
    if len(devices) > 1:
        raise InputError(Msg("error.cli.firewall_cmd.device_names_one_node_unless"))
    device = devices[0] if devices else None
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
@click.argument("old", type=click.Path(dir_okay=False), required=False)
@click.argument("new", type=click.Path(dir_okay=False), required=False)
@topology_option()
@_device_option()
@_vendor_option()
@format_option(FORMATS)
@output_option()
@_interface_map_option()
@_fail_on_option()
@click.option(
    "--old",
    "old_specs",
    multiple=True,
    metavar="NODE=EXPORT",
    help="Whole network: a firewall's export before the change (repeat per node).",
)
@click.option(
    "--new",
    "new_specs",
    multiple=True,
    metavar="NODE=EXPORT",
    help="Whole network: a firewall's export after the change (repeat per node).",
)
def diff(
    old: str | None,
    new: str | None,
    topology_path: str,
    device: str | None,
    vendor: str | None,
    fmt: str,
    output: str | None,
    interface_map: str | None,
    fail_on: str,
    old_specs: tuple[str, ...],
    new_specs: tuple[str, ...],
) -> None:
    """Compare two exports of one firewall: packets newly permitted and newly blocked.

    With --old/--new NODE=EXPORT for several firewalls, compare the whole network along the
    topology's paths.

    Exit codes: 0 no forbidden flow newly permitted, 1 one is, 2 bad input, 3 incomplete.
    """
    fails = parse_fail_on(fail_on)
    topology = load_topology(topology_path)
    imap = parse_interface_map(interface_map)
    if old_specs or new_specs:
        if old or new or device:
            raise InputError(Msg("error.cli.firewall_cmd.old_new_node_export_replace"))
        before_set = load_exports(parse_device_specs(old_specs), topology, vendor, imap)
        after_set = load_exports(parse_device_specs(new_specs), topology, vendor, imap)
        report = diff_network(topology, before_set, after_set)
        emit(render(report, fmt, settings().lang), output)
        sys.exit(exit_code(report, fails))
    if old is None or new is None:
        raise InputError(Msg("error.cli.firewall_cmd.give_old_new_exports_old"))
    before = load_device(old, vendor, topology, device, None, imap)
    after = load_device(new, vendor, topology, device, None, imap)
    report = diff_firewalls(topology, before, after, after.name)
    emit(render(report, fmt, settings().lang), output)
    sys.exit(exit_code(report, fails))


def register(group: click.Group) -> None:
    group.add_command(firewall)
    group.add_command(diff)
