"""`segverify flows`: every flow of the captures, one per line, with its verdict."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from segverify.cli.context import settings
from segverify.cli.options import output_option
from segverify.cli.pcap_cmd import analyse, capture_options, open_output
from segverify.i18n import Msg

FORMATS = ("tsv", "jsonl", "csv")  # render.flows_out.FORMATS; a test keeps them equal


@click.command("flows")
@capture_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="tsv",
    show_default=True,
    help="tsv (Zeek conn.log style, #fields header), jsonl (one JSON object per line) "
    "or csv (spreadsheet formulas neutralised).",
)
@click.option("--forbidden", is_flag=True, help="Only forbidden flows (leaks and attempts).")
@click.option(
    "--zone",
    "zones",
    multiple=True,
    metavar="ZONE",
    help="Only flows with an endpoint in ZONE (repeatable; a zone id of the topology).",
)
@click.option(
    "--unclassified",
    is_flag=True,
    help="Only flows with an endpoint that matched no declared prefix or node.",
)
@output_option()
def flows(
    captures: tuple[str, ...],
    topology_path: str,
    backend: str,
    jobs: int,
    fail_on: str,
    strict: bool,
    no_progress: bool,
    fmt: str,
    forbidden: bool,
    zones: tuple[str, ...],
    unclassified: bool,
    output: str | None,
    **inputs: Any,
) -> None:
    """List every flow of the CAPTURE files, one per line, like Wireshark's Conversations
    or Zeek's conn.log: time, duration, Community ID, both endpoints with zone, node,
    role and how they matched the topology (node, prefix, none), protocol, ports, VLAN,
    packets and bytes per direction (orig = initiator), conn_state (Zeek's vocabulary:
    S0, S1, SF, REJ, RSTO, OTH…), evidence names, tunnel, verdict (allowed/forbidden),
    state of a forbidden flow (leak/attempt), the deciding rule (an allow rule id,
    intra-zone, or R1–R5/default-deny) and its reason, file and first frame.

    `segverify flows check FLOWS.parquet -t TOPOLOGY` (or any input with
    --input-format) lists a stored flow table (--flows-out) judged again against a
    changed topology, without re-reading the captures. Flow logs (Zeek conn.log,
    FortiGate, Palo Alto, NetFlow/IPFIX) are read like captures (docs/flowlogs.md).

    Flows are in capture order. Fields are documented in docs/pcap.md; the JSON lines
    follow docs/schema/flows.schema.json.

    \b
    Exit codes: as `segverify pcap` (0 clean, 1 a failing forbidden flow,
    2 bad input, 3 incomplete analysis), whatever the filters show.

    \b
    Examples:
      segverify flows captures/alpha-violations.pcap -t topologies/alpha.yaml
      segverify flows x.pcap -t city.yaml --forbidden --format csv -o forbidden.csv
      segverify flows x.pcap -t city.yaml --zone mynumber --format jsonl
      segverify flows x.pcap -t city.yaml --unclassified
      segverify flows day/*.pcap -t city.yaml --flows-out day.parquet
      segverify flows check day.parquet -t city-new.yaml --forbidden
    """
    from segverify.errors import InputError

    if captures[0] == "check" and not os.path.exists("check"):  # `flows check FLOWS.parquet`
        captures = captures[1:]
        if not captures:
            raise click.UsageError(
                Msg("error.cli.flows_cmd.flows_check_give_stored_flow").render(settings().lang)
            )
        if inputs["input_format"] == "auto":
            inputs["input_format"] = "parquet"
    analysis = analyse(
        captures, topology_path, backend, jobs, not no_progress, fail_on, strict, **inputs
    )
    unknown = [z for z in zones if z not in analysis.topology.zones]
    if unknown:
        known = ", ".join(sorted(analysis.topology.zones))
        raise InputError(
            Msg(
                "error.cli.flows_cmd.no_zone_zones",
                topology=topology_path,
                zone=unknown[0],
                known=known,
            )
        )
    from segverify.render import flows_out

    rows = flows_out.select_rows(analysis, forbidden, zones, unclassified)
    if fmt == "jsonl":
        with open_output(output, binary=True) as out:
            flows_out.write_jsonl(analysis, rows, out)
    else:
        with open_output(output, binary=False) as out:
            if fmt == "tsv":
                flows_out.write_tsv(analysis, rows, out)
            else:
                from segverify.render.csv_out import wants_bom

                options = settings()
                flows_out.write_csv(analysis, rows, out, bom=wants_bom(options.lang, options.excel))
    sys.exit(analysis.exit_code())


def register(group: click.Group) -> None:
    group.add_command(flows)
