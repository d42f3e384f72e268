"""Self-contained HTML report of ``segverify pcap``: forbidden flows grouped by rule →
zone pair → service (counts, top endpoints, an example frame), then the flows one by one,
coverage and accounting. Same page rules as :mod:`segverify.render.html_out`: no script,
no external resource, strict Content-Security-Policy, every string escaped (capture
strings are attacker-controlled). Written to a stream piece by piece."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, TextIO

from segverify.flows.model import BUCKETS
from segverify.i18n import t
from segverify.render.html_out import STYLE

if TYPE_CHECKING:
    from segverify.checks.flows import FlowAnalysis

DEFAULT_ROWS = 100


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def write(analysis: FlowAnalysis, out: TextIO, lang: str = "en", rows: int = DEFAULT_ROWS) -> None:
    """The page for ``analysis``; ``rows`` limits the flows listed one by one (0: all)."""
    from segverify.checks.flows import proto_name, remedy

    w = out.write
    counts = analysis.counts()
    n = counts["forbidden_flows"] + counts["tunnel_outer_forbidden"]
    leaks = counts["leaks"] + counts["tunnel_outer_leaks"]
    w("<!DOCTYPE html>\n")
    w(f'<html lang="{_e(lang)}"><head><meta charset="utf-8">\n')
    w(
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">\n"
    )
    w(f"<title>segverify pcap</title><style>{STYLE}</style></head><body>\n")
    w("<h1>segverify pcap</h1>\n")
    w(f"<p>{_e(', '.join(analysis.inputs))}</p>\n")
    title = (
        t("pcap.title", lang, n=n, leaks=leaks, attempts=n - leaks) if n else t("pcap.none", lang)
    )
    w(f"<h2 id='findings'>{_e(title)}</h2>\n")
    groups = analysis.groups()
    if groups:
        w(f"<h3>{_e(t('pcap.groups', lang))}</h3>\n")
        w(
            "<table id='groups-table'><thead><tr><th>rule</th><th>zones</th><th>service</th>"
            "<th>flows</th><th>leaks</th><th>attempts</th><th>packets</th><th>bytes</th>"
            f"<th>top</th><th>{_e(t('finding.remedy', lang))}</th></tr></thead><tbody>\n"
        )
        for g in groups:
            svc = proto_name(g.proto) if g.dport is None else f"{proto_name(g.proto)}/{g.dport}"
            if g.tunnel_outer:
                svc += " (tunnel outer)"
            top = t(
                "pcap.group.top",
                lang,
                src=", ".join(f"{a} ({k})" for a, k in g.top_sources),
                dst=", ".join(f"{a} ({k})" for a, k in g.top_destinations),
            )
            cls = "error" if g.leaks else "warning"
            w(
                f"<tr class='{cls}'><td>{_e(g.rule)}</td><td>{_e(g.src_zone)} → "
                f"{_e(g.dst_zone)}</td><td>{_e(svc)}</td><td>{g.flows}</td><td>{g.leaks}</td>"
                f"<td>{g.attempts}</td><td>{g.packets}</td><td>{g.bytes}</td><td>{_e(top)}</td>"
                f"<td>{_e(remedy(g.rule, lang))}</td></tr>\n"
            )
        w("</tbody></table>\n")
    forbidden = analysis.forbidden_rows()
    shown = forbidden if rows <= 0 else forbidden[:rows]
    findings = list(analysis.flow_findings(shown))
    findings += [analysis.outer_finding(g) for g in analysis.outer_forbidden().tolist()]
    if findings:
        cols = t("pcap.cols", lang).split("|")
        w("<table id='findings-table'><thead><tr>")
        w("".join(f"<th>{_e(c)}</th>" for c in cols) + "<th>message</th></tr></thead><tbody>\n")
        for k, f in enumerate(findings, 1):
            d = f.data
            port = d["proto"] if d.get("dport") is None else f"{d['proto']}/{d['dport']}"
            w(
                f"<tr class='{_e(f.severity)}'><td>{k}</td><td>{_e(d['src'])} ({_e(d['src_zone'])})"
                f" → {_e(d['dst'])} ({_e(d['dst_zone'])})</td><td>{_e(f.rule)}</td>"
                f"<td>{_e(t('pcap.state_short.' + d['state'], lang))}</td>"
                f"<td>{_e(f.clauses[0] if f.clauses else '-')}</td><td>{_e(port)}</td>"
                f"<td>{d['packets_fwd']}/{d['packets_rev']}</td>"
                f"<td>{_e(d['file'])}#{d['first_frame']}</td>"
                f"<td>{'<br>'.join(_e(x) for x in d['names'])}</td><td>{_e(f.text(lang))}</td></tr>\n"
            )
        w("</tbody></table>\n")
        more = len(forbidden) - len(shown)
        if more > 0:
            w(f"<p>{_e(t('pcap.more', lang, n=more))}</p>\n")
    undeclared = analysis.undeclared_findings()
    if undeclared:
        w("<ul id='undeclared'>\n")
        for f in undeclared:
            w(f"<li class='warning'>{_e(f.text(lang))}<br>{_e(f.remedy_text(lang))}</li>\n")
        w("</ul>\n")
    cov = analysis.coverage
    s = analysis.summary()
    w("<h2>summary</h2><table class='summary'>\n")
    coverage = t("pcap.coverage", lang, **cov.addresses, flows=cov.flows["total"],
                 unclassified=cov.flows["unclassified"])  # fmt: skip
    w(f"<tr><td>coverage</td><td>{_e(coverage)}</td></tr>\n")
    accounting = t("pcap.accounting", lang, records=s["records"], files=s["files"],
                   flows=s["flows"], backend=s["backend"])  # fmt: skip
    w(f"<tr><td>records</td><td>{_e(accounting)}</td></tr>\n")
    for b in BUCKETS:
        w(f"<tr><td>{_e(t('pcap.bucket.' + b, lang))}</td><td>{s[b]}</td></tr>\n")
    w("</table>\n")
    if analysis.incomplete:
        w(f"<h2>{_e(t('pcap.incomplete', lang))}</h2><ul>\n")
        w("".join(f"<li>{_e(text)}</li>\n" for text in analysis.warning_texts(lang)))
        w("</ul>\n")
    w("</body></html>\n")
