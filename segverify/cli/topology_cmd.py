"""`segverify topology …`: check, matrix, show, graph, diagram."""

from __future__ import annotations

import json
import sys

import click

from segverify.checks.matrix import zone_matrix
from segverify.checks.topology_check import check_topology
from segverify.cli.context import emit, settings
from segverify.cli.diagram_cmd import date_option, load_inputs, report_date, write_diagram
from segverify.cli.options import format_option, output_option
from segverify.cli.provenance import run_info
from segverify.i18n import t
from segverify.render import render
from segverify.render.diagram import DIAGRAM_FORMATS, VIEWS, render_diagram
from segverify.render.matrix_out import render_matrix
from segverify.topology.graph import build_graph, export_graph
from segverify.topology.loader import load_topology
from segverify.topology.normalised import topology_dict

FILE = click.argument("file", type=click.Path(dir_okay=False))


@click.group("topology")
def topology() -> None:
    """Validate, inspect and export a topology file."""


@topology.command("check")
@FILE
@format_option()
@output_option()
def check(file: str, fmt: str, output: str | None) -> None:
    """Schema errors, then structural verification: overlapping prefixes, R1–R5 paths that
    avoid every declared crossing point, exceptions not pinned to hosts and ports, allow
    rules that contradict the model. Exit 0 clean, 1 findings, 2 bad input."""
    lang = settings().lang
    topo = load_topology(file)
    report = check_topology(topo)
    run = run_info([("topology", file)]) if fmt == "html" else None
    text = render(report, fmt, lang, excel=settings().excel, run=run)
    if fmt == "text" and not report.findings:
        head = t(
            "check.ok",
            lang,
            file=file,
            zones=len(topo.zones),
            nodes=len(topo.nodes),
            rules=report.summary["allow_rules"],
            model=topo.policy.model,
        )
        text = head + "\n" + text
    elif fmt == "text":
        text = t("check.findings", lang, file=file, count=len(report.findings)) + "\n" + text
    emit(text, output)
    sys.exit(report.exit_code())


@topology.command("matrix")
@FILE
@format_option(("text", "json", "csv"))
@output_option()
def matrix(file: str, fmt: str, output: str | None) -> None:
    """Zone × zone verdicts: allowed / only via named gateways on named services / forbidden."""
    s = settings()
    emit(render_matrix(zone_matrix(load_topology(file)), fmt, s.lang, s.excel), output)


@topology.command("show")
@FILE
@format_option(("json",), default="json")
@output_option()
def show(file: str, fmt: str, output: str | None) -> None:
    """The normalised model as JSON: zones, nodes, links, tier rules and the full directional
    allow-list with protocols, port ranges and clause references (docs/topology.md)."""
    emit(
        json.dumps(topology_dict(load_topology(file)), ensure_ascii=False, indent=2) + "\n", output
    )


@topology.command("graph")
@FILE
@format_option(("graphml", "json"), default="graphml")
@output_option()
def graph(file: str, fmt: str, output: str | None) -> None:
    """Export the networkx graph (zones, nodes, links, firewalls) as GraphML or node-link JSON."""
    emit(export_graph(build_graph(load_topology(file)), fmt), output)


@topology.command("diagram")
@FILE
@format_option(DIAGRAM_FORMATS, default="dot")
@click.option(
    "--view",
    type=click.Choice(VIEWS),
    default="lanes",
    show_default=True,
    help="lanes or matrix (see `segverify diagram`).",
)
@date_option()
@output_option()
def diagram(file: str, fmt: str, view: str, date: str | None, output: str | None) -> None:
    """Zone reachability diagram (same renderer as `segverify diagram`; no system Graphviz
    needed). dot and mmd are text exports; png and pdf need -o."""
    inputs = load_inputs(file, (), settings().lang, report_date(date))
    write_diagram(render_diagram(inputs.data, fmt, view), output)


def register(group: click.Group) -> None:
    group.add_command(topology)
