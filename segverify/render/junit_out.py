"""JUnit XML: one test case per rule per zone pair, failing when that pair has findings of
that rule, so CI systems show each broken separation once with every finding behind it.

Rules a topology check enforced with no finding appear as passing cases. An incomplete
analysis is an error case. Strings pass through ``render.safe.xml_text``: control
characters (ESC, OSC 8, NUL…) that XML 1.0 forbids become visible escapes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from segverify.findings.model import Finding, Report
from segverify.i18n import t
from segverify.render.safe import xml_text


def zone_pair(f: Finding) -> str:
    """``src→dst`` for a finding, or ``-`` when it concerns no zone pair."""
    d: dict[str, Any] = f.data
    if d.get("src_zone") is not None and d.get("dst_zone") is not None:
        return f"{d['src_zone']}→{d['dst_zone']}"
    zones = d.get("zones")
    if isinstance(zones, (list, tuple)) and len(zones) == 2:
        return f"{zones[0]}→{zones[1]}"
    return "-"


def render(report: Report, lang: str = "en") -> str:
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in report.findings:
        groups.setdefault((f.rule, zone_pair(f)), []).append(f)
    enforced = [r for r in report.summary.get("enforced", []) if isinstance(r, str)]
    passing = [r for r in enforced if not any(rule == r for rule, _ in groups)]
    failing = sum(1 for fs in groups.values() if any(f.severity == "error" for f in fs))
    cases = len(groups) + len(passing) + (1 if report.incomplete else 0)
    suite = ET.Element(
        "testsuite",
        name=f"segverify.{report.command}",
        tests=str(max(1, cases)),
        failures=str(failing),
        errors="1" if report.incomplete else "0",
        skipped=str(len(groups) - failing),
    )
    if not cases:
        ET.SubElement(
            suite,
            "testcase",
            classname=f"segverify.{report.command}",
            name=xml_text(t("junit.none", lang)),
        )
    for (rule, pair), fs in sorted(groups.items()):
        case = ET.SubElement(
            suite,
            "testcase",
            classname=xml_text(f"segverify.{report.command}.{fs[0].kind}"),
            name=xml_text(f"{rule} {pair}"),
        )
        body = []
        for i, f in enumerate(fs, 1):
            parts = [f"{i}. {f.text(lang)}"]
            if f.location:
                parts.append(f"   {t('finding.where', lang)}: {f.location}")
            if f.clauses:
                parts.append(f"   {t('finding.clauses', lang)}: {'; '.join(f.clauses)}")
            if f.evidence:
                parts.append(f"   {t('finding.evidence', lang)}: {' -> '.join(f.evidence)}")
            remedy = f.remedy_text(lang)
            if remedy:
                parts.append(f"   {t('finding.remedy', lang)}: {remedy}")
            body.append("\n".join(parts))
        tag = "failure" if any(f.severity == "error" for f in fs) else "skipped"
        message = t("junit.count", lang, count=len(fs), rule=rule, pair=pair)
        el = ET.SubElement(case, tag, message=xml_text(message), type=xml_text(rule))
        el.text = xml_text("\n".join(body), keep_newlines=True)
    for rule in passing:
        ET.SubElement(
            suite, "testcase", classname=f"segverify.{report.command}", name=xml_text(rule)
        )
    if report.incomplete:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"segverify.{report.command}",
            name=xml_text(t("junit.complete", lang)),
        )
        err = ET.SubElement(case, "error", message=xml_text(t("text.incomplete", lang)))
        err.text = xml_text("\n".join(w.text(lang) for w in report.warnings), keep_newlines=True)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
