"""JSON report of ``segverify pcap`` (schema ``segverify/pcap/1``, docs/pcap.md), streamed.

The shape is the shared report contract (docs/output.md) plus ``groups`` (forbidden flows
by rule → zone pair → service) and ``summary.coverage``. Findings are made and written one
at a time (``orjson`` when installed), so memory follows the flow table, not the output:
a million forbidden flows stay well under a gigabyte.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from segverify import __version__
from segverify.findings.serialise import jsonable

if TYPE_CHECKING:
    from segverify.checks.flow_groups import FlowGroup
    from segverify.checks.flows import FlowAnalysis

SCHEMA = "segverify/pcap/1"
WRITE_BATCH = 512  # findings encoded, then written in one call


def dumps_function() -> Callable[[Any], bytes]:
    """A fast JSON encoder to bytes (orjson), or the standard library's."""
    try:
        import orjson

        return orjson.dumps  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - orjson is a dependency
        return lambda obj: json.dumps(obj, ensure_ascii=False).encode("utf-8")


def group_dict(g: FlowGroup, analysis: FlowAnalysis) -> dict[str, Any]:
    from segverify.checks.flows import proto_name

    cols = analysis.cols
    row = g.first_row
    src, dst = g.example or (cols.src_text(row), cols.dst_text(row))
    return {
        "rule": g.rule,
        "src_zone": g.src_zone,
        "dst_zone": g.dst_zone,
        "proto": proto_name(g.proto),
        "proto_number": g.proto,
        "dport": g.dport,
        "flows": g.flows,
        "leaks": g.leaks,
        "attempts": g.attempts,
        "packets": g.packets,
        "bytes": g.bytes,
        "example": {
            "file": cols.files[int(cols.file[row])] if len(cols.files) else "",
            "frame": int(cols.first_frame[row]),
            "src": src,
            "dst": dst,
        },
        "tunnel_outer": g.tunnel_outer,
        "top_sources": [{"address": a, "flows": n} for a, n in g.top_sources],
        "top_destinations": [{"address": a, "flows": n} for a, n in g.top_destinations],
    }


def write(analysis: FlowAnalysis, out: BinaryIO, lang: str = "en") -> None:
    """The whole report to ``out``; findings last, one per line."""
    dumps = dumps_function()
    head = {
        "schema": SCHEMA,
        "tool": {"name": "segverify", "version": __version__},
        "command": "pcap",
        "inputs": list(analysis.inputs),
        "incomplete": analysis.incomplete,
        "exit_code": analysis.exit_code(),
        "summary": jsonable(analysis.summary()),
        "groups": [group_dict(g, analysis) for g in analysis.groups()],
        "warnings": [
            {"message": en, "message_ja": ja, "file": None, "line": None, "column": None}
            for en, ja in zip(
                analysis.warning_texts("en"), analysis.warning_texts("ja"), strict=True
            )
        ],
        "manual_items": [],
    }
    body = dumps(head)
    out.write(body[:-1] + b',"findings":[')
    lines: list[bytes] = []
    lead = b"\n"  # before the first finding of a batch: a newline, after the first batch ",\n"
    for record in analysis.iter_finding_dicts():
        lines.append(dumps(record))
        if len(lines) == WRITE_BATCH:
            out.write(lead + b",\n".join(lines))
            lines, lead = [], b",\n"
    if lines:
        out.write(lead + b",\n".join(lines))
    out.write(b"\n]}\n")
