"""Plain-text report for terminals: findings, warnings, unchecked manual items, summary."""

from __future__ import annotations

from segverify.findings.model import Report
from segverify.i18n import t


def render(report: Report, lang: str = "en") -> str:
    lines: list[str] = []
    for i, f in enumerate(report.findings, 1):
        sev = f.severity.upper()
        lines.append(f"{i}. [{sev} {f.rule}] {f.text(lang)}")
        if f.location:
            lines.append(f"   {t('finding.where', lang)}: {f.location}")
        if f.clauses:
            lines.append(f"   {t('finding.clauses', lang)}: {'; '.join(f.clauses)}")
        if f.evidence:
            lines.append(f"   {t('finding.evidence', lang)}: {' -> '.join(f.evidence)}")
        remedy = f.remedy_text(lang)
        if remedy:
            lines.append(f"   {t('finding.remedy', lang)}: {remedy}")
    if report.warnings:
        lines.append("")
        lines.append(
            "incomplete: input not fully understood"
            if lang != "ja"
            else "不完全: 入力の一部を解釈できませんでした"
        )
        lines.extend(f"  warning: {w}" for w in report.warnings)
    if report.manual_items:
        lines.append("")
        lines.append(t("manual.header", lang))
        lines.extend(f"  - {t(item, lang)}" for item in report.manual_items)
    if report.summary:
        lines.append("")
        lines.append(
            "summary: "
            + ", ".join(
                f"{k}={v}" for k, v in report.summary.items() if not isinstance(v, (list, dict))
            )
        )
    return "\n".join(lines) + "\n"
