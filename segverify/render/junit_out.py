"""JUnit XML: one failing test case per finding, so CI systems show them as test failures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from segverify.findings.model import Report


def render(report: Report, lang: str = "en") -> str:
    errors = [f for f in report.findings if f.severity == "error"]
    suite = ET.Element(
        "testsuite",
        name=f"segverify.{report.command}",
        tests=str(max(1, len(report.findings))),
        failures=str(len(errors)),
        errors="1" if report.incomplete else "0",
    )
    if not report.findings:
        ET.SubElement(
            suite, "testcase", classname=f"segverify.{report.command}", name="no findings"
        )
    for i, f in enumerate(report.findings, 1):
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"segverify.{report.command}.{f.kind}",
            name=f"{i} {f.rule}",
        )
        body = "\n".join(
            filter(
                None,
                [f.text(lang), "; ".join(f.clauses), " -> ".join(f.evidence), f.remedy_text(lang)],
            )
        )
        tag = "failure" if f.severity == "error" else "skipped"
        el = ET.SubElement(case, tag, message=f.text(lang), type=f.rule)
        el.text = body
    if report.incomplete:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"segverify.{report.command}",
            name="input fully understood",
        )
        err = ET.SubElement(case, "error", message="analysis incomplete")
        err.text = "\n".join(str(w) for w in report.warnings)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
