"""CSV output: one row per finding. Cells that a spreadsheet would run as a formula are
neutralised (OWASP: prefix with a single quote), since captures carry attacker strings."""

from __future__ import annotations

import csv
import io
from typing import Any

from segverify.findings.model import Report
from segverify.findings.serialise import finding_dict

FIXED = ("kind", "rule", "severity", "message", "clauses", "evidence", "remedy", "file", "line")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: Any) -> str:
    """Text safe to open in a spreadsheet: formula-like strings get a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        value = "; ".join("" if v is None else str(v) for v in value)
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def render(report: Report, lang: str = "en") -> str:
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
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = list(FIXED) + extra
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(row.get(col)) for col in header])
    return out.getvalue()
