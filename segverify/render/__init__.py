"""Renderers: every one takes a ``Report`` and returns text. One module per format.

CSV, SARIF and JUnit also stream (``write``): they take a finding source
(``render.stream``) — a ``Report`` or a capture analysis (``render.pcap_source``) — and
write each finding as it comes."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from segverify.checks.flows import FlowAnalysis
    from segverify.findings.model import Report
    from segverify.render.html_out import RunInfo
    from segverify.render.stream import FindingSource

# format → module (each has ``render(report, lang)``), imported when a run uses it: a
# command pays for the renderers it writes with, not for all of them
FORMATS: dict[str, str] = {
    "text": "text_out",
    "json": "json_out",
    "csv": "csv_out",
    "sarif": "sarif_out",
    "junit": "junit_out",
    "html": "html_out",
}
STREAMED = ("csv", "sarif", "junit")


def _module(fmt: str) -> Any:
    return importlib.import_module(f"segverify.render.{FORMATS[fmt]}")


def render(
    report: Report,
    fmt: str,
    lang: str = "en",
    excel: bool = False,
    run: RunInfo | None = None,
) -> str:
    """Render ``report`` as ``fmt`` (text, json, csv, sarif, junit, html) in ``lang``.
    ``excel`` starts CSV with a UTF-8 byte-order mark (Japanese CSV always has one);
    ``run`` (inputs with SHA-256, time, command line) goes into the HTML page."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    module = _module(fmt)
    if fmt == "csv":
        return module.render(report, lang, bom=module.wants_bom(lang, excel))  # type: ignore[no-any-return]
    if fmt == "html":
        return module.render(report, lang, run=run)  # type: ignore[no-any-return]
    return module.render(report, lang)  # type: ignore[no-any-return]


def write(
    source: FindingSource, fmt: str, out: TextIO, lang: str = "en", excel: bool = False
) -> None:
    """Stream the findings of ``source`` as ``fmt`` (csv, sarif, junit) to ``out``."""
    if fmt not in STREAMED:
        raise ValueError(f"format {fmt!r} does not stream (streamed: {', '.join(STREAMED)})")
    module = _module(fmt)
    if fmt == "csv":
        module.write(source, out, lang, bom=module.wants_bom(lang, excel))
    else:
        module.write(source, out, lang)


def write_analysis(
    analysis: FlowAnalysis, fmt: str, out: TextIO, lang: str = "en", excel: bool = False
) -> None:
    """Stream the findings of a capture analysis as ``fmt`` (csv, sarif, junit) to ``out``."""
    from segverify.render.pcap_source import AnalysisSource

    write(AnalysisSource(analysis), fmt, out, lang, excel)
