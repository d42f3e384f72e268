"""Findings → plain JSON-able dicts (the shared shape behind JSON, CSV, SARIF and JUnit)."""

from __future__ import annotations

import ipaddress
from typing import Any

from segverify import __version__
from segverify.findings.model import Finding, Report
from segverify.topology.model import Location

RESERVED = (
    "kind",
    "rule",
    "severity",
    "message",
    "message_ja",
    "clauses",
    "evidence",
    "remedy",
    "remedy_ja",
    "location",
)


def jsonable(value: Any) -> Any:
    """Convert tuples, addresses, sets and dataclass-like values into JSON types."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(
        value,
        (
            ipaddress.IPv4Address,
            ipaddress.IPv6Address,
            ipaddress.IPv4Network,
            ipaddress.IPv6Network,
        ),
    ):
        return str(value)
    if isinstance(value, Location):
        return location_dict(value)
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return str(value)


def location_dict(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"file": loc.file, "line": loc.line, "column": loc.column}


def finding_dict(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": f.kind,
        "rule": f.rule,
        "severity": f.severity,
        "message": f.message,
        "message_ja": f.message_ja or f.message,
        "clauses": list(f.clauses),
        "evidence": list(f.evidence),
        "remedy": f.remedy,
        "remedy_ja": f.remedy_ja or f.remedy,
        "location": location_dict(f.location),
    }
    for key, value in f.data.items():
        if key in RESERVED:
            raise ValueError(f"finding data key {key!r} clashes with a reserved field")
        out[key] = jsonable(value)
    return out


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "schema": f"segverify/{report.command}/1",
        "tool": {"name": "segverify", "version": __version__},
        "command": report.command,
        "inputs": list(report.inputs),
        "incomplete": report.incomplete,
        "exit_code": report.exit_code(),
        "findings": [finding_dict(f) for f in report.findings],
        "summary": jsonable(report.summary),
        "warnings": [
            {
                "message": w.message,
                "message_ja": w.message_ja or w.message,
                **(location_dict(w.location) or {"file": None, "line": None, "column": None}),
            }
            for w in report.warnings
        ],
        "manual_items": list(report.manual_items),
    }
