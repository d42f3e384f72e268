"""Renderers: every one takes a ``Report`` and returns text. One module per format."""

from __future__ import annotations

from collections.abc import Callable

from segverify.findings.model import Report
from segverify.render import csv_out, html_out, json_out, junit_out, sarif_out, text_out

FORMATS: dict[str, Callable[[Report, str], str]] = {
    "text": text_out.render,
    "json": json_out.render,
    "csv": csv_out.render,
    "sarif": sarif_out.render,
    "junit": junit_out.render,
    "html": html_out.render,
}


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
