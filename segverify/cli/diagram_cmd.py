"""`segverify diagram`: the reachability diagram of a topology, with optional capture overlay."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import click

from segverify.checks.configured import (
    ConfiguredPair,
    blocked_pairs,
    merge_configured,
    permit_pairs,
)
from segverify.checks.matrix import zone_matrix
from segverify.checks.observed import observed_from_analysis
from segverify.checks.topology_check import check_topology
from segverify.cli.context import emit, settings
from segverify.cli.options import topology_option
from segverify.errors import InputError
from segverify.findings.model import Report
from segverify.i18n import t
from segverify.limits import os_error
from segverify.render.diagram import DIAGRAM_FORMATS, VIEWS, render_diagram
from segverify.render.diagram_model import DiagramData, build_diagram, topology_hash
from segverify.topology.loader import load_topology
from segverify.topology.model import Topology


@dataclass(frozen=True)
class Inputs:
    """Everything the diagram and report commands read, loaded once."""

    topology: Topology
    topology_bytes: bytes
    check: Report
    capture: Report | None
    data: DiagramData
    config: Report | None = None


def report_date(value: str | None) -> str:
    """The date printed on diagrams and reports: ``--date``, else SOURCE_DATE_EPOCH, else
    none (so the same input always gives the same bytes)."""
    if value:
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise InputError(t("error.bad_date", settings().lang, value=value)) from None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date().isoformat()
    return ""


def load_inputs(
    topology_path: str,
    captures: tuple[str, ...],
    lang: str,
    date: str,
    backend: str = "fast",
    firewalls: tuple[str, ...] = (),
    devices: tuple[str, ...] = (),
) -> Inputs:
    """Load the topology, run the structural check, read captures and firewall exports;
    gather the diagram data."""
    try:
        raw = Path(topology_path).read_bytes()
    except OSError as exc:
        raise os_error(exc, topology_path, "topology") from None
    topo = load_topology(topology_path)
    check = check_topology(topo)
    observed = None
    capture_report = None
    if captures:
        from segverify.capture import read_flows  # compiled readers load only when needed
        from segverify.checks.flows import analyse_table

        table = read_flows(list(captures), backend=backend)
        analysis = analyse_table(table, topo, backend=backend, inputs=captures)
        observed = observed_from_analysis(analysis)
        capture_report = analysis.to_report()
    config_report, configured = (
        firewall_report(topo, firewalls, devices, lang) if firewalls else (None, [])
    )
    data = build_diagram(
        topo,
        zone_matrix(topo),
        list(check.findings),
        lang,
        topology_hash(raw),
        date,
        observed=observed,
        permits=permit_pairs(config_report.findings) if config_report else None,
        configured=configured,
        blocked=blocked_pairs(config_report.findings) if config_report else (),
    )
    return Inputs(topo, raw, check, capture_report, data, config_report)


def firewall_report(
    topo: Topology, exports: tuple[str, ...], devices: tuple[str, ...], lang: str
) -> tuple[Report, list[ConfiguredPair]]:
    """Every export checked like `segverify firewall` does, plus the whole-network check
    along the topology's paths (its ``network-blocked`` findings are the sanctioned flows
    no path carries), merged into one report; and every zone pair the exports permit."""
    from segverify.checks.firewall import check_analysis, permitted_pairs
    from segverify.checks.network import check_network
    from segverify.engine.analysis import build_analysis
    from segverify.firewall.exports import load_exports

    if devices and len(devices) != len(exports):
        raise click.UsageError(
            t("error.device_count", lang, devices=len(devices), exports=len(exports))
        )
    if not devices:
        if len(topo.firewalls) != 1:
            raise click.UsageError(t("error.device_count", lang, devices=0, exports=len(exports)))
        devices = tuple(topo.firewalls) * len(exports)
    models = load_exports(list(zip(devices, exports, strict=True)), topo)
    analyses = [build_analysis(topo, model, node) for node, model in models.items()]
    reports = [check_analysis(a) for a in analyses]
    configured = merge_configured(p for a in analyses for p in permitted_pairs(a))
    network = check_network(topo, models)
    blocked = tuple(f for f in network.findings if f.kind == "network-blocked")
    report = Report(
        command="firewall",
        findings=tuple(f for r in reports for f in r.findings) + blocked,
        summary={
            "exports": len(exports),
            "unverified_paths": network.summary.get("unverified_paths", []),
        },
        warnings=tuple(w for r in reports for w in r.warnings),
        incomplete=any(r.incomplete for r in reports) or network.incomplete,
        inputs=exports,
    )
    return report, configured


def format_for(output: str | None, fmt: str | None) -> str:
    """``--format`` if given, else the output file's extension, else svg."""
    if fmt:
        return fmt
    if output and output != "-":
        ext = Path(output).suffix.lower().lstrip(".")
        ext = {"mermaid": "mmd", "gv": "dot", "htm": "html"}.get(ext, ext)
        if ext in DIAGRAM_FORMATS:
            return ext
        raise click.UsageError(
            t(
                "error.diagram_format",
                settings().lang,
                output=output,
                formats=",".join(DIAGRAM_FORMATS),
            )
        )
    return "svg"


def write_diagram(data: str | bytes, output: str | None) -> None:
    if isinstance(data, bytes):
        if not output or output == "-":
            raise click.UsageError(t("error.binary_stdout", settings().lang))
        with open(output, "wb") as fh:
            fh.write(data)
    else:
        emit(data, output)


def firewall_options(f):  # noqa: ANN001, ANN201
    """--firewall EXPORT and --device NAME (repeatable, paired in order)."""
    f = click.option(
        "--device",
        "devices",
        multiple=True,
        help="Firewall node in the topology for each --firewall, in the same order "
        "(optional when the topology has one firewall).",
    )(f)
    return click.option(
        "--firewall",
        "firewalls",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="Firewall export (iptables-save, nft, nft -j, CSV) for the configuration layer; "
        "repeatable.",
    )(f)


def date_option():  # noqa: ANN201
    return click.option(
        "--date",
        default=None,
        metavar="YYYY-MM-DD",
        help="Date printed in the title (default: SOURCE_DATE_EPOCH, else none), "
        "so the same input gives the same bytes.",
    )


@click.command("diagram")
@topology_option()
@firewall_options
@click.option(
    "--capture",
    "captures",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Capture file (pcap, pcapng, gzip) to overlay as observed flows; repeatable.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(DIAGRAM_FORMATS),
    default=None,
    help="Output format (default: from -o's extension, else svg).",
)
@click.option(
    "--view",
    type=click.Choice(VIEWS),
    default="lanes",
    show_default=True,
    help="lanes: zones as lanes with gateways, paths and findings; matrix: zone × zone with design / configuration / observed layers.",
)
@date_option()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Output file (.svg .png .pdf .dot .mmd .html); stdout for text formats.",
)
def diagram(
    topology_path: str,
    firewalls: tuple[str, ...],
    devices: tuple[str, ...],
    captures: tuple[str, ...],
    fmt: str | None,
    view: str,
    date: str | None,
    output: str | None,
) -> None:
    """Draw the segment reachability diagram: zones as lanes in tier order, gateways where
    they sit, sanctioned paths with services and allow-rule ids, every structural finding in
    red with its rule, forbidden permits of firewall exports (red, dashed, with the export's
    file:line), and flows observed in captures (width by volume, forbidden in red,
    unanswered dashed). No system Graphviz needed; the same input gives the same bytes.

    \b
    Examples:
      segverify diagram -t topologies/alpha.yaml -o alpha.svg
      segverify diagram -t city.yaml --capture day.pcapng -o city.png --date 2026-04-01
      segverify diagram -t city.yaml --view matrix -o matrix.pdf
      segverify diagram -t city.yaml --firewall fw.rules --device fw-inet -o fw.svg
    """
    lang = settings().lang
    kind = format_for(output, fmt)
    inputs = load_inputs(
        topology_path, captures, lang, report_date(date), firewalls=firewalls, devices=devices
    )
    write_diagram(render_diagram(inputs.data, kind, view), output)


def register(group: click.Group) -> None:
    group.add_command(diagram)
