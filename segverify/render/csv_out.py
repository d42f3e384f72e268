"""CSV output: one row per finding, RFC 4180. Captures carry attacker strings, so every
cell goes through ``render.safe.csv_cell`` (formulas neutralised on every line of a cell)
and every cell holding CR or LF is quoted. ``bom`` (``--excel``, or Japanese output) starts
the file with a UTF-8 byte-order mark so Excel on a Japanese desktop reads it as UTF-8.

Rows are written as the findings come (``write``): the columns are known before the first
row, so a million findings never sit in memory as one string."""

from __future__ import annotations

import io
from typing import Any, TextIO

from segverify.findings.model import Report
from segverify.render.safe import FORMULA_START, csv_cell, csv_row
from segverify.render.stream import FindingSource, ReportSource

FIXED = ("kind", "rule", "severity", "message", "clauses", "evidence", "remedy", "file", "line")
BOM = "\ufeff"
BATCH = 1024  # rows joined per write
neutralise = csv_cell  # the name other modules and tests know
__all__ = ["BOM", "FIXED", "FORMULA_START", "neutralise", "render", "wants_bom", "write"]


def wants_bom(lang: str, excel: bool = False) -> bool:
    """A byte-order mark for ``--excel`` and for Japanese output."""
    return excel or lang == "ja"


def header(source: FindingSource) -> list[str]:
    """The fixed columns, then every other data key of the findings, first seen first."""
    return list(FIXED) + [k for k in source.data_keys() if k not in FIXED]


def row_cells(record: dict[str, Any], columns: list[str], lang: str) -> list[Any]:
    """The cells of one finding record under ``columns``: message and remedy in ``lang``,
    the location's file and line (a finding's own ``file`` datum wins)."""
    loc = record.get("location") or {}
    ja = lang == "ja"
    row = {
        "message": record["message_ja"] if ja else record["message"],
        "remedy": record["remedy_ja"] if ja else record["remedy"],
        "file": loc.get("file"),
        "line": loc.get("line"),
    }
    for key, value in record.items():
        if key not in ("location", "message", "message_ja", "remedy", "remedy_ja"):
            row[key] = value
    return [row.get(col) for col in columns]


def write(source: FindingSource, out: TextIO, lang: str = "en", bom: bool | None = None) -> None:
    """The CSV of ``source`` to ``out``, one finding at a time."""
    columns = header(source)
    if wants_bom(lang) if bom is None else bom:
        out.write(BOM)
    out.write(csv_row(columns))
    batch: list[str] = []
    for record in source.records():
        batch.append(csv_row(row_cells(record, columns, lang)))
        if len(batch) >= BATCH:
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))


def render(report: Report, lang: str = "en", bom: bool | None = None) -> str:
    buf = io.StringIO()
    write(ReportSource(report), buf, lang, bom)
    return buf.getvalue()
