"""Renderers: every one takes a ``Report`` and returns text. One module per format.

CSV, SARIF and JUnit also stream (``write``): they take a finding source
(``render.stream``) — a ``Report`` or a capture analysis (``render.pcap_source``) — and
write each finding as it comes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from segverify.findings.model import Report
from segverify.render import csv_out, html_out, json_out, junit_out, sarif_out, text_out
from segverify.render.stream import FindingSource

if TYPE_CHECKING:
    from segverify.checks.flows import FlowAnalysis

FORMATS: dict[str, Callable[[Report, str], str]] = {
    "text": text_out.render,
    "json": json_out.render,
    "csv": csv_out.render,
    "sarif": sarif_out.render,
    "junit": junit_out.render,
    "html": html_out.render,
}
STREAMED = ("csv", "sarif", "junit")


def render(
    report: Report,
    fmt: str,
    lang: str = "en",
    excel: bool = False,
    run: html_out.RunInfo | None = None,
) -> str:
    """Render ``report`` as ``fmt`` (text, json, csv, sarif, junit, html) in ``lang``.
    ``excel`` starts CSV with a UTF-8 byte-order mark (Japanese CSV always has one);
    ``run`` (inputs with SHA-256, time, command line) goes into the HTML page."""
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})") from None
    if fmt == "csv":
        return csv_out.render(report, lang, bom=csv_out.wants_bom(lang, excel))
    if fmt == "html":
        return html_out.render(report, lang, run=run)
    return renderer(report, lang)


def write(
    source: FindingSource, fmt: str, out: TextIO, lang: str = "en", excel: bool = False
) -> None:
    """Stream the findings of ``source`` as ``fmt`` (csv, sarif, junit) to ``out``."""
    if fmt == "csv":
        csv_out.write(source, out, lang, bom=csv_out.wants_bom(lang, excel))
    elif fmt == "sarif":
        sarif_out.write(source, out, lang)
    elif fmt == "junit":
        junit_out.write(source, out, lang)
    else:
        raise ValueError(f"format {fmt!r} does not stream (streamed: {', '.join(STREAMED)})")


def write_analysis(
    analysis: FlowAnalysis, fmt: str, out: TextIO, lang: str = "en", excel: bool = False
) -> None:
    """Stream the findings of a capture analysis as ``fmt`` (csv, sarif, junit) to ``out``."""
    from segverify.render.pcap_source import AnalysisSource

    write(AnalysisSource(analysis), fmt, out, lang, excel)
