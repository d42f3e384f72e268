"""JUnit XML: one test case per rule per zone pair, failing when that pair has findings of
that rule, so CI systems show each broken separation once with every finding behind it.

Rules a topology check enforced with no finding appear as passing cases. An incomplete
analysis is an error case. Strings pass through ``render.safe.xml_text``: control
characters (ESC, OSC 8, NUL…) that XML 1.0 forbids become visible escapes.

Written as it goes (``write``): the suite's counts come from the source's cases, then
each case's findings are written one at a time into its failure text."""

from __future__ import annotations

import io
from typing import Any, TextIO

from segverify.findings.model import Finding, Report
from segverify.i18n import t
from segverify.render.safe import xml_text
from segverify.render.stream import Case, FindingSource, ReportSource
from segverify.render.stream import zone_pair as _zone_pair

__all__ = ["render", "write", "zone_pair"]


def zone_pair(f: Finding) -> str:
    """``src→dst`` for a finding, or ``-`` when it concerns no zone pair."""
    return _zone_pair(f.data)


def _cdata(text: str) -> str:
    """Character data as ElementTree writes it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: Any) -> str:
    """An attribute value (visible escapes for forbidden characters, then XML escaping)."""
    text = _cdata(xml_text(value)).replace('"', "&quot;")
    return text.replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#09;")


def _element(tag: str, attrs: dict[str, Any], close: bool = True) -> str:
    body = "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items())
    return f"<{tag}{body} />" if close else f"<{tag}{body}>"


def finding_text(index: int, record: dict[str, Any], lang: str) -> str:
    """The lines of one finding inside its case's failure text."""
    ja = lang == "ja"
    parts = [f"{index}. {record['message_ja'] if ja else record['message']}"]
    loc = record.get("location")
    if loc:
        where = f"{loc['file']}:{loc['line']}:{loc['column']}"
        parts.append(f"   {t('finding.where', lang)}: {where}")
    if record["clauses"]:
        parts.append(f"   {t('finding.clauses', lang)}: {'; '.join(record['clauses'])}")
    if record["evidence"]:
        parts.append(f"   {t('finding.evidence', lang)}: {' -> '.join(record['evidence'])}")
    remedy = record["remedy_ja"] if ja else record["remedy"]
    if remedy:
        parts.append(f"   {t('finding.remedy', lang)}: {remedy}")
    return "\n".join(parts)


def _write_case(source: FindingSource, case: Case, out: TextIO, lang: str) -> None:
    command = source.command
    out.write(
        _element(
            "testcase",
            {"classname": f"segverify.{command}.{case.kind}", "name": f"{case.rule} {case.pair}"},
            close=False,
        )
    )
    tag = "failure" if case.failing else "skipped"
    message = t("junit.count", lang, count=case.count, rule=case.rule, pair=case.pair)
    out.write(_element(tag, {"message": message, "type": case.rule}, close=False))
    for i, record in enumerate(source.case_records(case), 1):
        text = finding_text(i, record, lang)
        out.write(_cdata(xml_text(text if i == 1 else "\n" + text, keep_newlines=True)))
    out.write(f"</{tag}></testcase>")


def write(source: FindingSource, out: TextIO, lang: str = "en") -> None:
    """The JUnit XML of ``source`` to ``out``, one finding at a time."""
    command = source.command
    cases = source.cases()
    summary = source.summary()
    enforced = [r for r in summary.get("enforced", []) if isinstance(r, str)]
    rules = {c.rule for c in cases}
    passing = [r for r in enforced if r not in rules]
    failing = sum(1 for c in cases if c.failing)
    total = len(cases) + len(passing) + (1 if source.incomplete else 0)
    out.write("<?xml version='1.0' encoding='utf-8'?>\n")
    suite = {
        "name": f"segverify.{command}",
        "tests": str(max(1, total)),
        "failures": str(failing),
        "errors": "1" if source.incomplete else "0",
        "skipped": str(len(cases) - failing),
    }
    out.write(_element("testsuite", suite, close=False))
    plain = f"segverify.{command}"
    if not total:
        out.write(_element("testcase", {"classname": plain, "name": t("junit.none", lang)}))
    for case in cases:
        _write_case(source, case, out, lang)
    for rule in passing:
        out.write(_element("testcase", {"classname": plain, "name": rule}))
    if source.incomplete:
        out.write(
            _element("testcase", {"classname": plain, "name": t("junit.complete", lang)}, False)
        )
        text = xml_text("\n".join(w.text(lang) for w in source.warnings()), keep_newlines=True)
        error = {"message": t("text.incomplete", lang)}
        if text:
            out.write(_element("error", error, close=False) + _cdata(text) + "</error>")
        else:
            out.write(_element("error", error))
        out.write("</testcase>")
    out.write("</testsuite>\n")


def render(report: Report, lang: str = "en") -> str:
    buf = io.StringIO()
    write(ReportSource(report), buf, lang)
    return buf.getvalue()
