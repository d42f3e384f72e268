"""CSV output: one row per finding, RFC 4180. Captures carry attacker strings, so every
cell goes through ``render.safe.csv_cell`` (formulas neutralised on every line of a cell)
and every cell holding CR or LF is quoted. ``bom`` (``--excel``, or Japanese output) starts
the file with a UTF-8 byte-order mark so Excel on a Japanese desktop reads it as UTF-8."""

from __future__ import annotations

from segverify.findings.model import Report
from segverify.findings.serialise import finding_dict
from segverify.render.safe import FORMULA_START, csv_cell, csv_row

FIXED = ("kind", "rule", "severity", "message", "clauses", "evidence", "remedy", "file", "line")
BOM = "\ufeff"
neutralise = csv_cell  # the name other modules and tests know
__all__ = ["BOM", "FIXED", "FORMULA_START", "neutralise", "render", "wants_bom"]


def wants_bom(lang: str, excel: bool = False) -> bool:
    """A byte-order mark for ``--excel`` and for Japanese output."""
    return excel or lang == "ja"


def render(report: Report, lang: str = "en", bom: bool | None = None) -> str:
    rows = []
    extra: list[str] = []
    for f in report.findings:
        d = finding_dict(f)
        loc = d.pop("location") or {}
        message = d["message_ja"] if lang == "ja" else d["message"]
        remedy = d["remedy_ja"] if lang == "ja" else d["remedy"]
        for key in ("message", "message_ja", "remedy", "remedy_ja"):
            del d[key]
        row = {
            "message": message,
            "remedy": remedy,
            "file": loc.get("file"),
            "line": loc.get("line"),
            **d,
        }
        for key in d:
            if key not in FIXED and key not in extra:
                extra.append(key)
        rows.append(row)
    header = list(FIXED) + extra
    out = [csv_row(header)]
    out.extend(csv_row([row.get(col) for col in header]) for row in rows)
    text = "".join(out)
    return (BOM + text) if (wants_bom(lang) if bom is None else bom) else text
