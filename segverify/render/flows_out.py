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
from functools import lru_cache
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


def _opt_list(values: list[int]) -> list[int | None]:
    return [None if v < 0 else v for v in values]


def iter_columns(
    analysis: FlowAnalysis, rows: np.ndarray, chunk: int = 65536
) -> Iterator[list[list[Any]]]:
    """Per chunk of ``rows``: one list of values per field (in :data:`FIELDS` order,
    ``None`` for unset), built column by column."""
    from segverify.checks.flow_records import community_ids
    from segverify.checks.flows import proto_name
    from segverify.flows.state import CONN_STATES

    cols = analysis.cols
    classes = analysis.classes
    verdicts = analysis.verdicts.rows
    files = list(cols.files) or [""]
    zone = np.array([c.zone for c in classes] or [""], dtype=object)
    node = np.array([c.node for c in classes] or [None], dtype=object)
    role = np.array([c.role for c in classes] or [None], dtype=object)
    match = np.array([c.match for c in classes] or [""], dtype=object)
    v_forbidden = np.array([not v.allowed for v in verdicts] or [False], dtype=bool)
    v_rule = np.array([v.decided_by for v in verdicts] or [""], dtype=object)
    v_reason = np.array([v.reason for v in verdicts] or [""], dtype=object)
    proto_names = np.array([proto_name(p) for p in range(256)], dtype=object)
    state_names = np.array(CONN_STATES, dtype=object)
    for start in range(0, len(rows), chunk):
        part = np.asarray(rows[start : start + chunk])
        idx = part.tolist()
        first = cols.first_ns[part]
        sc, dc = analysis.src_cls[part], analysis.dst_cls[part]
        vid = analysis.verdicts.verdict[part]
        forbidden = v_forbidden[vid]
        answered = np.asarray(cols.answered)[part]
        state = np.where(forbidden, np.where(answered, "leak", "attempt"), None).tolist()
        names, tunnels = cols.names, cols.tunnels
        yield [
            np.round(first / 1e9, 6).tolist(),
            np.round((cols.last_ns[part] - first) / 1e9, 6).tolist(),
            community_ids(cols, part),
            [cols.src_text(i) for i in idx],
            _opt_list(cols.sport[part].tolist()),
            zone[sc].tolist(),
            node[sc].tolist(),
            role[sc].tolist(),
            match[sc].tolist(),
            [cols.dst_text(i) for i in idx],
            _opt_list(cols.dport[part].tolist()),
            zone[dc].tolist(),
            node[dc].tolist(),
            role[dc].tolist(),
            match[dc].tolist(),
            proto_names[cols.proto[part]].tolist(),
            _opt_list(cols.vlan[part].tolist()),
            cols.pkts_fwd[part].tolist(),
            cols.bytes_fwd[part].tolist(),
            cols.pkts_rev[part].tolist(),
            cols.bytes_rev[part].tolist(),
            state_names[cols.state[part]].tolist(),
            [list(names.get(i, ())) for i in idx] if names else [[]] * len(idx),
            [list(tunnels.get(i, ())) for i in idx] if tunnels else [[]] * len(idx),
            np.where(forbidden, "forbidden", "allowed").tolist(),
            state,
            v_rule[vid].tolist(),
            v_reason[vid].tolist(),
            [files[f] for f in cols.file[part].tolist()],
            cols.first_frame[part].tolist(),
        ]


def iter_records(analysis: FlowAnalysis, rows: np.ndarray) -> Iterator[list[Any]]:
    """One list of values (in :data:`FIELDS` order, ``None`` for unset) per row."""
    for columns in iter_columns(analysis, rows):
        for rec in zip(*columns, strict=True):
            yield list(rec)


@lru_cache(maxsize=1 << 16)
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


def _tsv_column(values: list[Any], kind: str) -> list[str]:
    """One column as TSV cells."""
    if kind in ("time", "interval"):
        return [f"{v:.6f}" for v in values]
    if kind.startswith("set"):
        return [",".join(tsv_escape(x) for x in v) if v else "(empty)" for v in values]
    if kind in ("count", "port", "int"):
        return ["-" if v is None else str(v) for v in values]
    return ["-" if v is None else (tsv_escape(v) if v else "(empty)") for v in values]


def write_tsv(analysis: FlowAnalysis, rows: np.ndarray, out: TextIO) -> None:
    out.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n")
    out.write("#path\tflows\n")
    out.write("#fields\t" + "\t".join(FIELD_NAMES) + "\n")
    out.write("#types\t" + "\t".join(kind for _, kind in FIELDS) + "\n")
    kinds = [kind for _, kind in FIELDS]
    for columns in iter_columns(analysis, rows):
        cells = [_tsv_column(c, k) for c, k in zip(columns, kinds, strict=True)]
        out.write("".join("\t".join(row) + "\n" for row in zip(*cells, strict=True)))


def write_jsonl(analysis: FlowAnalysis, rows: np.ndarray, out: BinaryIO) -> None:
    from segverify.render.pcap_json import dumps_function

    dumps = dumps_function()
    for columns in iter_columns(analysis, rows):
        out.write(
            b"".join(
                dumps(dict(zip(FIELD_NAMES, rec, strict=True))) + b"\n"
                for rec in zip(*columns, strict=True)
            )
        )


def write_csv(analysis: FlowAnalysis, rows: np.ndarray, out: TextIO, bom: bool = False) -> None:
    """CSV (RFC 4180 CRLF rows, so a CR or LF inside a cell is always quoted); ``bom``
    (``--excel`` or Japanese output) starts it with a UTF-8 byte-order mark for Excel."""
    from segverify.render.csv_out import BOM, neutralise

    if bom:
        out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELD_NAMES)
    cached = lru_cache(maxsize=1 << 16)(neutralise)  # columns repeat their values
    for columns in iter_columns(analysis, rows):
        cells = [
            [neutralise(v) for v in c] if c and isinstance(c[0], list) else list(map(cached, c))
            for c in columns
        ]
        writer.writerows(zip(*cells, strict=True))
