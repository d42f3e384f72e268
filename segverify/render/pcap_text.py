"""Terminal report of ``segverify pcap``: groups of forbidden flows, then the flows one by
one (up to a limit), coverage and the accounting of every record. Bilingual through the
message catalogue; strings from the capture are shown with control characters escaped.
Written line by line to a stream; no whole-report string."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from segverify.flows.model import BUCKETS
from segverify.i18n import t

if TYPE_CHECKING:
    from segverify.checks.flows import FlowAnalysis

DEFAULT_ROWS = 100


def safe(text: str) -> str:
    """Capture strings for a terminal: control characters escaped, nothing interpreted."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def width(text: str) -> int:
    """Terminal columns of ``text`` (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(rows: list[tuple[str, ...]]) -> Iterable[str]:
    """Aligned columns (the last one is not padded)."""
    widths = [max(width(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    for r in rows:
        cells = [r[c] + " " * (widths[c] - width(r[c])) for c in range(len(widths))]
        yield "  ".join(cells) + "  " + r[-1]


def _svc(proto: int, dport: int | None) -> str:
    from segverify.checks.flows import proto_name

    return proto_name(proto) if dport is None else f"{proto_name(proto)}/{dport}"


def write(analysis: FlowAnalysis, out: TextIO, lang: str = "en", rows: int = DEFAULT_ROWS) -> None:
    """The report of ``analysis`` to ``out``; ``rows`` limits the flows listed one by one
    (0: all)."""
    from segverify.checks.flows import remedy

    counts = analysis.counts()
    forbidden = analysis.forbidden_rows()
    n_forbidden = counts["forbidden_flows"] + counts["tunnel_outer_forbidden"]
    leaks = counts["leaks"] + counts["tunnel_outer_leaks"]
    w = out.write
    if n_forbidden:
        w(t("pcap.title", lang, n=n_forbidden, leaks=leaks, attempts=n_forbidden - leaks) + "\n")
        groups = analysis.groups()
        if groups:
            w("\n" + t("pcap.groups", lang) + "\n")
        last_rule = None
        for g in groups:
            if g.rule != last_rule:
                w(f"  {g.rule}  → {remedy(g.rule, lang)}\n")
                last_rule = g.rule
            head = f"    {g.src_zone} → {g.dst_zone}  {_svc(g.proto, g.dport)}  "
            w(
                head
                + t(
                    "pcap.group.counts",
                    lang,
                    flows=g.flows,
                    leaks=g.leaks,
                    attempts=g.attempts,
                    packets=g.packets,
                    bytes=g.bytes,
                )
                + "\n"
            )
            src = ", ".join(f"{a} ({n})" for a, n in g.top_sources)
            dst = ", ".join(f"{a} ({n})" for a, n in g.top_destinations)
            w("      " + t("pcap.group.top", lang, src=src, dst=dst) + "\n")
        shown = forbidden if rows <= 0 else forbidden[:rows]
        findings = list(analysis.flow_findings(shown))
        findings += [analysis.outer_finding(g) for g in analysis.outer_forbidden().tolist()]
        if findings:
            w("\n")
            header = tuple(t("pcap.cols", lang).split("|"))
            body = [header] + [_row(k, f, lang) for k, f in enumerate(findings, 1)]
            for line in table(body):
                w(line.rstrip() + "\n")
            w("\n")
            for k, f in enumerate(findings, 1):
                w(f"{k}. {safe(f.text(lang))}\n")
            more = len(forbidden) - len(shown)
            if more > 0:
                w(t("pcap.more", lang, n=more) + "\n")
    else:
        w(t("pcap.none", lang) + "\n")
    undeclared = analysis.undeclared_findings()
    if undeclared:
        w("\n")
        for f in undeclared:
            w(f"! {safe(f.text(lang))}\n  → {f.remedy_text(lang)}\n")
    cov = analysis.coverage
    s = analysis.summary()
    w("\n")
    w(t("pcap.coverage", lang, **cov.addresses, flows=cov.flows["total"],
        unclassified=cov.flows["unclassified"]) + "\n")  # fmt: skip
    w(
        t(
            "pcap.accounting",
            lang,
            records=s["records"],
            files=s["files"],
            flows=s["flows"],
            backend=s["backend"],
        )
        + "\n"
    )
    w("  " + ", ".join(f"{t('pcap.bucket.' + b, lang)} {s[b]}" for b in BUCKETS) + "\n")
    if analysis.incomplete:
        w(t("pcap.incomplete", lang) + "\n")
        for text in analysis.warning_texts(lang):
            w(f"  - {safe(text)}\n")


def _row(k: int, f: object, lang: str) -> tuple[str, ...]:
    d = f.data  # type: ignore[attr-defined]
    src = f"{d['src']} ({d['src_zone']}{'/' + d['src_node'] if d.get('src_node') else ''})"
    dst = f"{d['dst']} ({d['dst_zone']}{'/' + d['dst_node'] if d.get('dst_node') else ''})"
    port = d["proto"] if d.get("dport") is None else f"{d['proto']}/{d['dport']}"
    if d.get("tunnel_outer"):
        port = f"{port} ({', '.join(d['tunnel'])})"
    names = ", ".join(safe(n) for n in d.get("names", []))
    clauses = f.clauses  # type: ignore[attr-defined]
    return (
        str(k),
        f"{src} → {dst}",
        f.rule,  # type: ignore[attr-defined]
        t(f"pcap.state_short.{d['state']}", lang),
        clauses[0] if clauses else "-",
        port,
        f"{d['packets_fwd']}/{d['packets_rev']}",
        f"{d['file'].rsplit('/', 1)[-1]}#{d['first_frame']}",
        names or "-",
    )
