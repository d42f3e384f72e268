"""Self-contained HTML report. Every string from the input is escaped: capture evidence
(DNS names, SNI, Host) is attacker-controlled. No scripts, no external resources."""

from __future__ import annotations

from typing import Any

from segverify.findings.model import Report
from segverify.findings.serialise import finding_dict
from segverify.i18n import t
from segverify.render.safe import html as escape

STYLE = """
body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#f0f0f0}.error{background:#fde8e8}.warning{background:#fff6d6}.info{background:#eef5ff}
code{font-size:.9em}.summary td:first-child{font-weight:bold}
"""

SKIP_DATA = ("message_ja", "remedy_ja")


def _inline(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return escape(", ".join(str(v) for v in value))
    return escape("" if value is None else str(value))


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "<br>".join(escape(str(v)) for v in value)
    if isinstance(value, dict):
        return "<br>".join(f"{escape(str(k))}: {_inline(v)}" for k, v in value.items())
    return escape("" if value is None else str(value))


def render(report: Report, lang: str = "en") -> str:
    title = f"segverify {report.command}"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(lang)}"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{escape(', '.join(report.inputs))}</p>",
    ]
    findings = [finding_dict(f) for f in report.findings]
    parts.append(
        f"<h2 id='findings'>{'指摘事項' if lang == 'ja' else 'Findings'} ({len(findings)})</h2>"
    )
    if findings:
        parts.append(
            "<table id='findings-table'><thead><tr><th>#</th><th>rule</th><th>message</th>"
            f"<th>{escape(t('finding.clauses', lang))}</th><th>{escape(t('finding.evidence', lang))}</th>"
            f"<th>{escape(t('finding.remedy', lang))}</th><th>details</th></tr></thead><tbody>"
        )
        for i, (f, d) in enumerate(zip(report.findings, findings, strict=True), 1):
            details = {
                k: v
                for k, v in d.items()
                if k
                not in (
                    "kind",
                    "rule",
                    "severity",
                    "message",
                    "clauses",
                    "evidence",
                    "remedy",
                    *SKIP_DATA,
                )
            }
            loc = details.pop("location", None)
            if loc:
                details["location"] = f"{loc['file']}:{loc['line']}"
            parts.append(
                f"<tr class='{escape(f.severity)}'><td>{i}</td><td>{escape(f.rule)}</td>"
                f"<td>{escape(f.text(lang))}</td><td>{_cell(f.clauses)}</td>"
                f"<td>{_cell(' → '.join(f.evidence))}</td><td>{escape(f.remedy_text(lang))}</td>"
                f"<td>{_cell(details)}</td></tr>"
            )
        parts.append("</tbody></table>")
    if report.warnings:
        parts.append(
            "<h2>warnings</h2><ul>"
            + "".join(f"<li>{escape(str(w))}</li>" for w in report.warnings)
            + "</ul>"
        )
    if report.manual_items:
        parts.append(f"<h2>{escape(t('manual.header', lang))}</h2><ul>")
        parts.extend(f"<li>{escape(t(item, lang))}</li>" for item in report.manual_items)
        parts.append("</ul>")
    if report.summary:
        parts.append("<h2>summary</h2><table class='summary'>")
        parts.extend(
            f"<tr><td>{escape(str(k))}</td><td>{_cell(v)}</td></tr>"
            for k, v in report.summary.items()
        )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
