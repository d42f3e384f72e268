"""`segverify pcap`: judge the flows of capture files against a topology."""

from __future__ import annotations

import sys
import unicodedata
from typing import Any

import click

from segverify.checks.flows import flow_findings
from segverify.cli.context import emit, settings
from segverify.cli.options import REPORT_FORMATS, output_option, topology_option
from segverify.findings.model import Report
from segverify.flows.model import BUCKETS
from segverify.render import render
from segverify.topology.loader import load_topology

BACKENDS = ("fast", "scapy", "pyshark")  # the capture registry's names; a test keeps them equal
FORMATS = REPORT_FORMATS

HEAD = {
    "en": {
        "title": "Forbidden flows: {n}",
        "none": "No forbidden flows.",
        "cols": (
            "#",
            "from → to (zone)",
            "rule",
            "clause",
            "proto/port",
            "pkts →/←",
            "frame",
            "names",
        ),
        "accounting": "Records: {records} in {files} file(s), {flows} flow(s), backend {backend}",
        "incomplete": "INCOMPLETE: some records were not analysed:",
    },
    "ja": {
        "title": "禁止された通信: {n} 件",
        "none": "禁止された通信はありません。",
        "cols": (
            "#",
            "送信元 → 宛先（領域）",
            "規則",
            "条項",
            "プロトコル/ポート",
            "パケット →/←",
            "フレーム",
            "名前",
        ),
        "accounting": "レコード: {records} 件（{files} ファイル）、フロー {flows} 件、バックエンド {backend}",
        "incomplete": "不完全: 分析できなかったレコードがあります:",
    },
}
BUCKET_LABEL = {
    "en": {
        "analysed": "analysed",
        "non_ip": "not IP",
        "unsupported_link": "unsupported link type",
        "malformed": "malformed",
        "truncated": "truncated by snap length",
    },
    "ja": {
        "analysed": "分析済み",
        "non_ip": "IP以外",
        "unsupported_link": "未対応のリンク種別",
        "malformed": "不正な形式",
        "truncated": "スナップ長で切断",
    },
}


def safe(text: str) -> str:
    """Capture strings for a terminal: control characters escaped, nothing interpreted."""
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def _width(text: str) -> int:
    """Terminal columns of ``text`` (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def text_report(report: Report, lang: str) -> str:
    """A table of forbidden flows, then the accounting summary (bilingual headings)."""
    h = HEAD["ja" if lang == "ja" else "en"]
    labels = BUCKET_LABEL["ja" if lang == "ja" else "en"]
    lines: list[str] = []
    if report.findings:
        lines.append(h["title"].format(n=len(report.findings)))
        rows: list[tuple[str, ...]] = [h["cols"]]
        for i, f in enumerate(report.findings, 1):
            rows.append(_row(i, f.data, f.rule, f.clauses))
        widths = [max(_width(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
        for r in rows:
            cells = [r[c] + " " * (widths[c] - _width(r[c])) for c in range(len(widths))]
            lines.append("  ".join(cells) + "  " + r[-1])
        lines.append("")
        for i, f in enumerate(report.findings, 1):
            lines.append(f"{i}. {safe(f.text(lang))}")
            remedy = f.remedy_text(lang)
            if remedy:
                lines.append(f"   → {remedy}")
    else:
        lines.append(h["none"])
    s = report.summary
    lines.append("")
    lines.append(
        h["accounting"].format(
            records=s.get("records", 0),
            files=s.get("files", 0),
            flows=s.get("flows", 0),
            backend=s.get("backend", ""),
        )
    )
    lines.append("  " + ", ".join(f"{labels[b]} {s.get(b, 0)}" for b in BUCKETS))
    if report.incomplete:
        lines.append(h["incomplete"])
        lines.extend(f"  - {safe(str(w))}" for w in report.warnings)
    return "\n".join(lines) + "\n"


def _row(i: int, d: dict[str, Any], rule: str, clauses: tuple[str, ...]) -> tuple[str, ...]:
    src = f"{d['src']} ({d['src_zone']}{'/' + d['src_node'] if d.get('src_node') else ''})"
    dst = f"{d['dst']} ({d['dst_zone']}{'/' + d['dst_node'] if d.get('dst_node') else ''})"
    port = d["proto"] if d.get("dport") is None else f"{d['proto']}/{d['dport']}"
    names = ", ".join(safe(n) for n in d.get("names", []))
    return (
        str(i),
        f"{src} → {dst}",
        rule,
        clauses[0] if clauses else "-",
        port,
        f"{d['packets_fwd']}/{d['packets_rev']}",
        f"{d['file'].rsplit('/', 1)[-1]}#{d['first_frame']}",
        names or "-",
    )


@click.command("pcap")
@click.argument("captures", nargs=-1, required=True, type=click.Path(dir_okay=False))
@topology_option()
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="fast",
    show_default=True,
    help="Decoder: fast (compiled, default), scapy (reference, slow), "
    "pyshark (tshark's dissectors; needs tshark).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Files read in parallel.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format; json follows the schema segverify/pcap/1 (docs/pcap.md).",
)
@output_option()
@click.option("--no-progress", is_flag=True, help="Do not show progress on stderr.")
def pcap(
    captures: tuple[str, ...],
    topology_path: str,
    backend: str,
    jobs: int,
    fmt: str,
    output: str | None,
    no_progress: bool,
) -> None:
    """Check the traffic in CAPTURE files (pcap, pcapng, gzip-compressed) against the
    three-tier policy of a topology.

    Every packet is assigned to a bidirectional flow (direction: the sender of the first
    TCP SYN, otherwise of the first packet); each flow's endpoints are classified into
    zones and nodes and the flow is judged by the directional policy (R1–R5 and the
    topology's allow rules; DNS names, TLS SNI and HTTP Host seen in the flow feed the
    α' FQDN allow-lists). One finding per forbidden flow.

    Every record is accounted for: analysed, non_ip, unsupported_link, malformed,
    truncated; a file that ends in the middle of a record is reported as cut short.

    \b
    Exit codes:
      0  no forbidden flow, every record analysed
      1  at least one forbidden flow
      2  bad input (unreadable capture, broken topology, bad option)
      3  no forbidden flow, but some records were not analysed (malformed,
         truncated, unsupported link type, file cut short)

    \b
    Examples:
      segverify pcap captures/alpha-violations.pcap -t topologies/alpha.yaml
      segverify pcap a.pcapng b.pcap.gz -t city.yaml --format json -o flows.json
      segverify --lang ja pcap x.pcap -t city.yaml --backend pyshark
    """
    lang = settings().lang
    topology = load_topology(topology_path)
    report = analyse(captures, topology_path, backend, jobs, not no_progress, topology)
    text = text_report(report, lang) if fmt == "text" else render(report, fmt, lang)
    emit(text, output)
    sys.exit(report.exit_code())


def analyse(
    captures: tuple[str, ...],
    topology_path: str,
    backend: str,
    jobs: int,
    progress: bool,
    topology: Any = None,
) -> Report:
    """read_flows + flow_findings, the whole of the command without the output."""
    topology = topology or load_topology(topology_path)
    from segverify.capture import read_flows  # compiled readers load only when needed

    table = read_flows(list(captures), backend=backend, jobs=jobs, progress=progress)
    return flow_findings(table, topology, backend=backend, inputs=tuple(captures))


def register(group: click.Group) -> None:
    group.add_command(pcap)
