"""Every flow, one line each (``segverify flows``): TSV in the manner of Zeek's conn.log
(``#fields``/``#types`` header, ``-`` for unset, ``(empty)`` for an empty set), JSON
lines, or CSV (formulas neutralised by :func:`segverify.render.csv_out.neutralise`).

Rows stream from the columnar analysis; no ``Flow`` object and no whole-output string.
Strings from the capture (names) are escaped in TSV (``\\xNN`` for control characters,
tab and backslash), neutralised in CSV, and plain JSON strings in JSON lines.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

import numpy as np

if TYPE_CHECKING:
    from segverify.checks.flows import FlowAnalysis

# (name, Zeek-style type) in output order
FIELDS: tuple[tuple[str, str], ...] = (
    ("ts", "time"),
    ("duration", "interval"),
    ("community_id", "string"),
    ("src", "addr"),
    ("sport", "port"),
    ("src_zone", "string"),
    ("src_node", "string"),
    ("src_role", "string"),
    ("src_match", "string"),
    ("dst", "addr"),
    ("dport", "port"),
    ("dst_zone", "string"),
    ("dst_node", "string"),
    ("dst_role", "string"),
    ("dst_match", "string"),
    ("proto", "enum"),
    ("vlan", "int"),
    ("orig_pkts", "count"),
    ("orig_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("names", "set[string]"),
    ("tunnel", "set[string]"),
    ("verdict", "string"),
    ("state", "string"),
    ("rule", "string"),
    ("reason", "string"),
    ("file", "string"),
    ("first_frame", "count"),
)
FIELD_NAMES = tuple(name for name, _ in FIELDS)
FORMATS = ("tsv", "jsonl", "csv")


def select_rows(
    analysis: FlowAnalysis,
    forbidden: bool = False,
    zones: tuple[str, ...] = (),
    unclassified: bool = False,
) -> np.ndarray:
    """Rows to list, in capture order (file, first frame), after the filters."""
    cols = analysis.cols
    keep = np.ones(len(cols), dtype=bool)
    if forbidden:
        keep &= analysis.verdicts.forbidden
    if zones:
        in_zone = np.array([c.zone in zones for c in analysis.classes] or [False], dtype=bool)
        keep &= in_zone[analysis.src_cls] | in_zone[analysis.dst_cls]
    if unclassified:
        none = np.array([c.match == "none" for c in analysis.classes] or [False], dtype=bool)
        keep &= none[analysis.src_cls] | none[analysis.dst_cls]
    rows = np.nonzero(keep)[0]
    order = np.lexsort((cols.first_frame[rows], cols.file[rows]))
    return rows[order]


def iter_records(
    analysis: FlowAnalysis, rows: np.ndarray, chunk: int = 65536
) -> Iterator[list[Any]]:
    """One list of values (in :data:`FIELDS` order, ``None`` for unset) per row."""
    from segverify.checks.flows import proto_name

    cols = analysis.cols
    classes = analysis.classes
    verdict_rows = analysis.verdicts.rows
    files = cols.files
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        first = cols.first_ns[part].tolist()
        last = cols.last_ns[part].tolist()
        sport = cols.sport[part].tolist()
        dport = cols.dport[part].tolist()
        proto = cols.proto[part].tolist()
        vlan = cols.vlan[part].tolist()
        pf, pr = cols.pkts_fwd[part].tolist(), cols.pkts_rev[part].tolist()
        bf, br = cols.bytes_fwd[part].tolist(), cols.bytes_rev[part].tolist()
        answered = np.asarray(cols.answered)[part].tolist()
        sc, dc = analysis.src_cls[part].tolist(), analysis.dst_cls[part].tolist()
        vid = analysis.verdicts.verdict[part].tolist()
        fidx, frame = cols.file[part].tolist(), cols.first_frame[part].tolist()
        for j, i in enumerate(part.tolist()):
            s, d = classes[sc[j]], classes[dc[j]]
            v = verdict_rows[vid[j]]
            forbidden = not v.allowed
            yield [
                round(first[j] / 1e9, 6),
                round((last[j] - first[j]) / 1e9, 6),
                cols.community_id(i),
                cols.src_text(i),
                None if sport[j] < 0 else sport[j],
                s.zone,
                s.node,
                s.role,
                s.match,
                cols.dst_text(i),
                None if dport[j] < 0 else dport[j],
                d.zone,
                d.node,
                d.role,
                d.match,
                proto_name(proto[j]),
                None if vlan[j] < 0 else vlan[j],
                pf[j],
                bf[j],
                pr[j],
                br[j],
                cols.state_name(i),
                list(cols.names.get(i, ())),
                list(cols.tunnels.get(i, ())),
                "forbidden" if forbidden else "allowed",
                ("leak" if answered[j] else "attempt") if forbidden else None,
                v.decided_by,
                v.reason,
                files[fidx[j]] if files else "",
                frame[j],
            ]


def tsv_escape(text: str) -> str:
    """Zeek's log escaping: backslash, tab, comma (inside sets) and non-printables as \\xNN."""
    if text.isprintable() and "\\" not in text and "\t" not in text and "," not in text:
        return text
    out = []
    for ch in text:
        if ch == "\\" or ch == "," or not ch.isprintable() or ch == "\t":
            out.append("".join(f"\\x{b:02x}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def _tsv_value(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(tsv_escape(v) for v in value) if value else "(empty)"
    if kind == "time" or kind == "interval":
        return f"{value:.6f}"
    if isinstance(value, str):
        return tsv_escape(value) if value else "(empty)"
    return str(value)


def write_tsv(analysis: FlowAnalysis, rows: np.ndarray, out: TextIO) -> None:
    out.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n")
    out.write("#path\tflows\n")
    out.write("#fields\t" + "\t".join(FIELD_NAMES) + "\n")
    out.write("#types\t" + "\t".join(kind for _, kind in FIELDS) + "\n")
    kinds = [kind for _, kind in FIELDS]
    for rec in iter_records(analysis, rows):
        out.write("\t".join(_tsv_value(v, k) for v, k in zip(rec, kinds, strict=True)) + "\n")


def write_jsonl(analysis: FlowAnalysis, rows: np.ndarray, out: BinaryIO) -> None:
    from segverify.render.pcap_json import dumps_function

    dumps = dumps_function()
    for rec in iter_records(analysis, rows):
        out.write(dumps(dict(zip(FIELD_NAMES, rec, strict=True))) + b"\n")


def write_csv(analysis: FlowAnalysis, rows: np.ndarray, out: TextIO) -> None:
    """CSV (RFC 4180 CRLF rows, so a CR or LF inside a cell is always quoted)."""
    from segverify.render.csv_out import neutralise

    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELD_NAMES)
    for rec in iter_records(analysis, rows):
        writer.writerow([neutralise(v) for v in rec])
