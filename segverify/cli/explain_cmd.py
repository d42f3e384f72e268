"""`segverify explain`: the verdict for one flow, with the rule and clause that decide it."""

from __future__ import annotations

import ipaddress
import json
import sys

import click

from segverify.checks.explain import explain_flow
from segverify.cli.context import emit, settings
from segverify.cli.options import format_option, output_option, topology_option
from segverify.errors import EXIT_CLEAN, EXIT_FINDINGS
from segverify.i18n import Msg
from segverify.render.explain_out import render_explain
from segverify.topology.loader import load_topology
from segverify.topology.model import PROTO_NUMBERS


def _ip(_ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise click.BadParameter(
            Msg("error.cli.explain_cmd.not_ip_address", value=value).render(settings().lang)
        ) from None


def _proto(_ctx: click.Context, param: click.Parameter, value: str) -> int:
    if value.isdigit() and 0 <= int(value) <= 255:
        return int(value)
    if value.lower() in PROTO_NUMBERS:
        return PROTO_NUMBERS[value.lower()]
    raise click.BadParameter(
        Msg("error.cli.explain_cmd.not_protocol_tcp_udp_icmp", value=value).render(settings().lang)
    )


@click.command("explain")
@topology_option()
@click.option("--src", required=True, callback=_ip, help="Source (initiator) address.")
@click.option("--dst", required=True, callback=_ip, help="Destination address.")
@click.option(
    "--proto",
    default="tcp",
    show_default=True,
    callback=_proto,
    help="tcp, udp, icmp, icmpv6 or a number.",
)
@click.option(
    "--dport", type=click.IntRange(0, 65535), default=None, help="Destination port (type for ICMP)."
)
@click.option(
    "--name",
    "names",
    multiple=True,
    help="Observed FQDN (DNS/SNI/Host), for α' allow-lists. Repeatable.",
)
@format_option(("text", "json"))
@output_option()
def explain(
    topology_path: str,
    src: str,
    dst: str,
    proto: int,
    dport: int | None,
    names: tuple[str, ...],
    fmt: str,
    output: str | None,
) -> None:
    """Verdict for one flow with the rule that decides it and its clause.

    Exit 0 when the flow is allowed, 1 when it is forbidden, 2 on bad input.
    """
    result = explain_flow(load_topology(topology_path), src, dst, proto, dport, names)
    lang = settings().lang
    if fmt == "json":
        emit(json.dumps(result, ensure_ascii=False, indent=2) + "\n", output)
    else:
        emit(render_explain(result, lang), output)
    sys.exit(EXIT_CLEAN if result["allowed"] else EXIT_FINDINGS)


def register(group: click.Group) -> None:
    group.add_command(explain)
