"""`segverify pcap`: judge the flows of capture files against a topology.

Wires stages only: read the captures into a flow table, analyse it (checks.flows), hand
the analysis to a renderer. Heavy modules (numpy, the compiled readers, the checks) load
inside the command, so ``segverify --help`` and other commands do not pay for them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

import click

from segverify.cli.context import settings
from segverify.cli.options import REPORT_FORMATS, output_option, topology_option

if TYPE_CHECKING:
    from collections.abc import Iterator

    from segverify.checks.flows import FlowAnalysis

BACKENDS = ("fast", "scapy", "pyshark")  # the capture registry's names; a test keeps them equal
FORMATS = REPORT_FORMATS
FAIL_ON = ("leak", "attempt")  # checks.flows.FAIL_ON; a test keeps them equal
# segverify.flowlogs.inputs.INPUT_FORMATS and ENGINES; a test keeps them equal
INPUT_FORMATS = (
    "auto", "pcap", "parquet", "zeek-tsv", "zeek-json", "fortigate-kv", "fortigate-csv",
    "paloalto-csv", "netflow", "ipfix", "nfdump-csv",
)  # fmt: skip
ENGINES = ("local", "dask")


def capture_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``pcap`` and ``flows``: how to read and how to judge."""
    options = [
        click.argument("captures", nargs=-1, required=True, type=click.Path()),
        topology_option(),
        click.option(
            "--input-format",
            type=click.Choice(INPUT_FORMATS),
            default="auto",
            show_default=True,
            help="What the input files are: auto (by content), pcap (captures), parquet "
            "(a stored flow table, see --flows-out) or a flow-log format (docs/flowlogs.md).",
        ),
        click.option(
            "--backend",
            type=click.Choice(BACKENDS),
            default="fast",
            show_default=True,
            help="Decoder: fast (compiled, default), scapy (reference, slow), "
            "pyshark (tshark's dissectors; needs tshark).",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Files read in parallel.",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(FAIL_ON),
            default="leak",
            show_default=True,
            help="What makes exit 1: leak (a forbidden flow that was answered) or attempt "
            "(any forbidden flow, answered or not). Attempts are always reported.",
        ),
        click.option(
            "--strict",
            is_flag=True,
            help="Any address that matches no declared prefix or node makes the analysis "
            "incomplete (exit 3 when nothing fails).",
        ),
        click.option("--no-progress", is_flag=True, help="Do not show progress on stderr."),
        click.option(
            "--flows-out",
            type=click.Path(writable=True),
            default=None,
            metavar="FILE.parquet",
            help="Also write the flow table as Parquet (schema in docs/flowlogs.md).",
        ),
        click.option(
            "--partition-by-day",
            is_flag=True,
            help="With --flows-out: a directory partitioned day=YYYY-MM-DD (first seen, UTC).",
        ),
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="local",
            show_default=True,
            help="local (this process, -j files in parallel) or dask (capture files and byte "
            "ranges of large pcap files on Dask workers; needs segverify[dask]; docs/scale.md).",
        ),
        click.option(
            "--scheduler",
            default=None,
            metavar="tcp://HOST:8786",
            help="--engine dask: the Dask scheduler to use (default: a local cluster).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="--engine dask without --scheduler: worker processes (default: cores).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command("pcap")
@capture_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format; json follows the schema segverify/pcap/1 (docs/pcap.md).",
)
@click.option(
    "--rows",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Text: forbidden flows listed one by one after the groups (0: all).",
)
@output_option()
def pcap(
    captures: tuple[str, ...],
    topology_path: str,
    backend: str,
    jobs: int,
    fail_on: str,
    strict: bool,
    no_progress: bool,
    fmt: str,
    rows: int,
    output: str | None,
    **inputs: Any,
) -> None:
    """Check the traffic in CAPTURE files (pcap, pcapng, gzip-compressed) against the
    three-tier policy of a topology.

    Every packet is assigned to a bidirectional flow (direction: the sender of the first
    TCP SYN, otherwise of the first packet); each flow's endpoints are classified into
    zones and nodes and the flow is judged by the directional policy (R1–R5 and the
    topology's allow rules; DNS names, TLS SNI and HTTP Host seen in the flow feed the
    α' FQDN allow-lists). The outer flow of a tunnel is judged as well as the inner one.

    A forbidden flow the responder answered (TCP handshake, or packets back) is a leak;
    one it did not answer (SYN only, RST, nothing back) is an attempt. Findings are
    grouped by rule, zone pair and service.

    Coverage is always reported: how many addresses matched a node, a declared prefix,
    or nothing. A private or documentation address (RFC 1918, RFC 6598, ULA,
    198.18.0.0/15, TEST-NETs…) that no zone declares is a finding of its own and makes
    the analysis incomplete: its zone is unknown.

    Every record is accounted for: analysed, non_ip, unsupported_link, malformed,
    truncated; a file that ends in the middle of a record is reported as cut short.

    \b
    Exit codes:
      0  nothing fails (see --fail-on), every record analysed, every address known
      1  a forbidden flow that fails: a leak (default) or any attempt (--fail-on attempt)
      2  bad input (unreadable capture, broken topology, bad option)
      3  nothing fails, but the analysis is incomplete: records not analysed
         (malformed, truncated, unsupported link type, file cut short), no packet
         analysed at all, undeclared internal addresses, or (--strict) any address
         matching nothing

    \b
    Examples:
      segverify pcap captures/alpha-violations.pcap -t topologies/alpha.yaml
      segverify pcap a.pcapng b.pcap.gz -t city.yaml --format json -o report.json
      segverify pcap scan.pcap -t city.yaml --fail-on attempt --strict
      segverify --lang ja pcap x.pcap -t city.yaml --backend pyshark
      segverify pcap conn.log -t city.yaml                      (flow logs: docs/flowlogs.md)
      segverify pcap day/*.pcap -t city.yaml --flows-out day.parquet
      segverify pcap day.parquet -t city-new.yaml               (stored flows, new topology)
      segverify pcap day/*.pcap -t city.yaml --engine dask      (docs/scale.md)
    """
    lang = settings().lang
    analysis = analyse(
        captures, topology_path, backend, jobs, not no_progress, fail_on, strict, **inputs
    )
    if fmt == "text":
        from segverify.render import pcap_text

        with open_output(output, binary=False) as out:
            pcap_text.write(analysis, out, lang, rows)
    elif fmt == "html":
        from segverify.cli.provenance import run_info
        from segverify.render import html_out

        inputs = [("topology", topology_path), *(("capture", c) for c in captures)]
        with open_output(output, binary=False) as out:
            out.write(html_out.render(analysis.to_report(), lang, run=run_info(inputs)))
    elif fmt == "json":
        from segverify.render import pcap_json

        with open_output(output, binary=True) as out:
            pcap_json.write(analysis, out, lang)
    else:
        from segverify.render import write_analysis

        with open_output(output, binary=False) as out:
            write_analysis(analysis, fmt, out, lang, excel=settings().excel)
    sys.exit(analysis.exit_code())


@contextmanager
def open_output(path: str | None, binary: bool) -> Iterator[IO[Any]]:
    """The output file (``-`` or none: stdout), text UTF-8 or binary, flushed at the end."""
    if path and path != "-":
        with open(path, "wb") if binary else open(path, "w", encoding="utf-8", newline="") as fh:
            yield fh
        return
    stream: IO[Any] = sys.stdout.buffer if binary else sys.stdout
    try:
        yield stream
        stream.flush()
    except BrokenPipeError:  # the reader (head, less) went away: stop writing, quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def analyse(
    captures: tuple[str, ...],
    topology_path: str,
    backend: str = "fast",
    jobs: int = 1,
    progress: bool = False,
    fail_on: str = "leak",
    strict: bool = False,
    input_format: str = "auto",
    flows_out: str | None = None,
    partition_by_day: bool = False,
    engine: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
) -> FlowAnalysis:
    """Topology + inputs → analysis: the whole of the command without the output."""
    from segverify.checks.flows import analyse_table
    from segverify.flowlogs.inputs import read_inputs  # readers load only when needed
    from segverify.topology.loader import load_topology

    topology = load_topology(topology_path)
    table = read_inputs(
        list(captures), input_format, backend=backend, jobs=jobs, progress=progress,
        engine=engine, scheduler=scheduler, workers=workers,
    )  # fmt: skip
    if flows_out:
        from segverify.flowlogs.parquet import write_parquet

        write_parquet(table, flows_out, partition_by_day=partition_by_day)
    return analyse_table(table, topology, backend, tuple(captures), fail_on, strict)


def register(group: click.Group) -> None:
    group.add_command(pcap)
