"""SARIF 2.1.0 output, for code-scanning dashboards and CI annotations.

Written as it goes (``write``): the document up to the results array (the rules are known
from the source beforehand), then one result per line as the findings come, then the end.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any, TextIO

from segverify import __version__
from segverify.findings.model import Report
from segverify.findings.serialise import RESERVED, jsonable
from segverify.render.stream import FindingSource, ReportSource

LEVELS = {"error": "error", "warning": "warning", "info": "note"}
MARK = "\x00results\x00"  # stands for the results array in the document's head


def result(record: dict[str, Any], lang: str) -> dict[str, Any]:
    """The SARIF result of one finding record."""
    out: dict[str, Any] = {
        "ruleId": record["rule"],
        "level": LEVELS.get(record["severity"], "warning"),
        "message": {"text": record["message_ja"] if lang == "ja" else record["message"]},
        "properties": {
            "kind": record["kind"],
            "clauses": record["clauses"],
            "evidence": record["evidence"],
            **{k: v for k, v in record.items() if k not in RESERVED},
        },
    }
    loc = record.get("location")
    if loc:
        out["locations"] = [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": loc["file"]},
                    "region": {"startLine": loc["line"], "startColumn": loc["column"]},
                }
            }
        ]
    return out


def _encoder() -> Callable[[Any], str]:
    """Compact JSON text of one result: orjson when installed, the standard library when
    orjson cannot take a value (an integer wider than 64 bits)."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency
        orjson = None

    def encode(obj: Any) -> str:
        if orjson is not None:
            try:
                return orjson.dumps(obj).decode("utf-8")  # type: ignore[no-any-return]
            except TypeError:
                pass
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    return encode


def write(source: FindingSource, out: TextIO, lang: str = "en") -> None:
    """The SARIF log of ``source`` to ``out``, one result per line."""
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "segverify",
                        "version": __version__,
                        "rules": [
                            {"id": rule, "shortDescription": {"text": rule}}
                            for rule in source.rules()
                        ],
                    }
                },
                "results": MARK,
                "properties": {
                    "incomplete": source.incomplete,
                    "summary": jsonable(source.summary()),
                },
            }
        ],
    }
    head, tail = json.dumps(doc, ensure_ascii=False, indent=2).split(json.dumps(MARK), 1)
    last = head.rsplit("\n", 1)[1]
    pad = "\n" + last[: len(last) - len(last.lstrip(" "))]  # the indent of "results"
    encode = _encoder()
    out.write(head + "[")
    sep = pad + "  "
    first = True
    for record in source.records():
        out.write(sep + encode(result(record, lang)))
        if first:
            sep, first = "," + sep, False
    out.write((pad if not first else "") + "]" + tail + "\n")


def render(report: Report, lang: str = "en") -> str:
    buf = io.StringIO()
    write(ReportSource(report), buf, lang)
    return buf.getvalue()
