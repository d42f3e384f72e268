"""Plain-text report for terminals: findings, warnings, unchecked manual items, summary.

Every string that came from an input goes through ``render.safe.terminal``: an escape
sequence or bidi override in a firewall export or capture name is shown, not obeyed."""

from __future__ import annotations

from segverify.findings.model import Report
from segverify.i18n import t
from segverify.render.safe import terminal


def render(report: Report, lang: str = "en") -> str:
    lines: list[str] = []
    for i, f in enumerate(report.findings, 1):
        sev = t(f"severity.{f.severity}", lang)
        lines.append(f"{i}. [{sev} {terminal(rule_label(f.rule, lang))}] {terminal(f.text(lang))}")
        if f.location:
            lines.append(f"   {t('finding.where', lang)}: {terminal(f.location)}")
        if f.clauses:
            lines.append(f"   {t('finding.clauses', lang)}: {terminal('; '.join(f.clauses))}")
        if f.evidence:
            lines.append(f"   {t('finding.evidence', lang)}: {terminal(' -> '.join(f.evidence))}")
        remedy = f.remedy_text(lang)
        if remedy:
            lines.append(f"   {t('finding.remedy', lang)}: {terminal(remedy)}")
    if report.warnings:
        lines.append("")
        lines.append(t("text.incomplete", lang))
        lines.extend(
            f"  {t('text.warning', lang)}: {terminal(w.text(lang))}" for w in report.warnings
        )
    if report.manual_items:
        lines.append("")
        lines.append(t("manual.header", lang))
        lines.extend(f"  - {t(item, lang)}" for item in report.manual_items)
    if report.summary:
        lines.append("")
        lines.append(
            f"{t('text.summary', lang)}: "
            + ", ".join(
                f"{summary_key(k, lang)}={terminal(summary_value(v, lang))}"
                for k, v in report.summary.items()
                if not isinstance(v, (list, dict))
            )
        )
    return "\n".join(lines) + "\n"


def rule_label(rule: str, lang: str) -> str:
    """A finding's rule for people: a check id (``shadowed``…) in ``lang``; R1–R5 as they are."""
    text = t(f"rule.{rule}", lang)
    return rule if text == f"rule.{rule}" else text


def summary_value(value: object, lang: str) -> object:
    """A summary value for people: yes/no and "none" in Japanese; other values, and every
    value in English, as they are (JSON keeps the raw values)."""
    if lang == "en":
        return value
    if isinstance(value, bool):
        return t("summary.value.true" if value else "summary.value.false", lang)
    if value == "none":
        return t("summary.value.none", lang)
    return value


def summary_key(key: str, lang: str) -> str:
    """A summary field's name in ``lang`` (the raw key when the catalogue has none)."""
    text = t(f"summary.{key}", lang)
    return key if text == f"summary.{key}" else text
