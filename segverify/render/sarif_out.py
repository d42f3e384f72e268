"""SARIF 2.1.0 output, for code-scanning dashboards and CI annotations."""

from __future__ import annotations

import json
from typing import Any

from segverify import __version__
from segverify.findings.model import Report
from segverify.findings.serialise import jsonable

LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def render(report: Report, lang: str = "en") -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in report.findings:
        rules.setdefault(f.rule, {"id": f.rule, "shortDescription": {"text": f.rule}})
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": LEVELS.get(f.severity, "warning"),
            "message": {"text": f.text(lang)},
            "properties": {
                "kind": f.kind,
                "clauses": list(f.clauses),
                "evidence": list(f.evidence),
                **jsonable(f.data),
            },
        }
        if f.location:
            result["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.location.file},
                        "region": {"startLine": f.location.line, "startColumn": f.location.column},
                    }
                }
            ]
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "segverify",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
                "properties": {
                    "incomplete": report.incomplete,
                    "summary": jsonable(report.summary),
                },
            }
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
