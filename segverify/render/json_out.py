"""JSON output: the versioned contract documented in docs/output.md."""

from __future__ import annotations

import json

from segverify.findings.model import Report
from segverify.findings.serialise import report_dict


def render(report: Report, lang: str = "en") -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"
