"""Flow tables as Parquet (Apache Arrow), for DuckDB, Spark or pandas, and back.

Schema ``segverify/flows/1``, one row per flow, oriented initiator → responder:

==================== ===================== ==============================================
column               Arrow type            meaning
==================== ===================== ==============================================
row                  int64                 position in the run's flow table
ip_version           uint8                 4 or 6
src, dst             string                initiator, responder address (canonical text)
proto                uint8                 IP protocol number
sport, dport         int32, null           ports; ICMP type / code as Community ID maps
                                           them; null when the protocol has none
vlan                 int32, null           outermost VLAN of the first packet
packets_fwd/_rev     int64                 packets initiator→responder / back
bytes_fwd/_rev       int64                 bytes (frame lengths; IP lengths from Zeek)
first_seen/last_seen timestamp[ns, UTC]
first_frame          int64                 capture frame or log line of the first record
file                 dictionary<string>    input file
tcp_flags_fwd/_rev   uint8                 OR of TCP flag bytes per direction
conn_state           dictionary<string>    Zeek conn_state vocabulary
answered             bool                  the responder answered
community_id         string                Community ID v1, seed 0
names                list<string>          DNS / SNI / Host evidence (untrusted text)
tunnel               list<string>          outer tunnel endpoints ("gre A>B")
blocked_by_device    bool, null            flow logs: the device denied / dropped / reset
action               string, null          flow logs: the device's action words
log_state            string, null          flow logs: the log's state words
log_format           string, null          flow logs: the reader (zeek-tsv, netflow…)
day                  date32 (partitions)   only with ``partition_by_day``: hive ``day=…``
==================== ===================== ==============================================

The file's key-value metadata ``segverify`` (JSON) holds the schema id, the accounting of
the run, the list of input files and, for flow logs, the line statistics and every
unreadable record, so a stored table re-evaluates (``read_parquet`` → the verdict stage)
with the same completeness as the run that wrote it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from segverify.errors import InputError
from segverify.flowlogs.model import FlowLogTable, LogProblem, LogStats
from segverify.flows.columns import COLUMNS, TUNNEL_CODES, FlowColumns, address_text, split_address
from segverify.flows.model import Accounting, FlowTable
from segverify.flows.state import CONN_STATES
from segverify.i18n import Msg

SCHEMA_ID = "segverify/flows/1"
META_KEY = b"segverify"


def _pa() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise InputError(Msg("error.flowlogs.parquet.parquet_needs_pyarrow_pip_install")) from None
    return pa


def _texts(ver: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> Any:
    """Address text per row as an Arrow dictionary array, each distinct address converted
    once (IPv4 keys sorted as one uint64, IPv6 as 16-byte keys)."""
    pa = _pa()
    n = len(ver)
    index = np.zeros(n, dtype=np.int32)
    texts: list[str] = []
    cache: dict[tuple[int, int, int], str] = {}
    v4 = ver == 4
    for version, rows, key in (
        (4, np.flatnonzero(v4), lo[v4]),
        (6, np.flatnonzero(~v4), np.stack([hi[~v4], lo[~v4]], axis=1).astype(">u8").view("V16").reshape(-1)),
    ):  # fmt: skip
        if not len(rows):
            continue
        uniq, inverse = np.unique(key, return_inverse=True)
        first = np.zeros(len(uniq), dtype=np.int64)
        first[inverse.reshape(-1)[::-1]] = rows[::-1]  # a row holding each distinct address
        base = len(texts)
        texts.extend(address_text(version, int(hi[r]), int(lo[r]), cache) for r in first.tolist())
        index[rows] = base + inverse.reshape(-1)
    return pa.DictionaryArray.from_arrays(
        pa.array(index, type=pa.int32()), pa.array(texts, type=pa.string())
    )


def _lists(side: dict[int, tuple[str, ...]], n: int) -> Any:
    """list<string> per row from a side table holding only the rows that have values."""
    pa = _pa()
    counts = np.zeros(n, dtype=np.int32)
    rows = sorted(side)
    counts[rows] = [len(side[r]) for r in rows]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    values = pa.array([v for r in rows for v in side[r]], type=pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)


def _nullable(values: np.ndarray) -> Any:
    pa = _pa()
    return pa.array(values, type=pa.int32(), mask=values < 0)


def to_arrow(table: FlowTable) -> Any:
    """The flow table as a ``pyarrow.Table`` (schema in the module doc)."""
    pa = _pa()
    cols = table.columns
    n = len(cols)
    log = isinstance(table, FlowLogTable)
    files = list(cols.files) or [""]
    data = {
        "row": pa.array(np.arange(n, dtype=np.int64)),
        "ip_version": pa.array(cols.ver, type=pa.uint8()),
        "src": _texts(cols.ver, cols.src_hi, cols.src_lo).cast(pa.string()),
        "dst": _texts(cols.ver, cols.dst_hi, cols.dst_lo).cast(pa.string()),
        "proto": pa.array(cols.proto, type=pa.uint8()),
        "sport": _nullable(cols.sport),
        "dport": _nullable(cols.dport),
        "vlan": _nullable(cols.vlan),
        "packets_fwd": pa.array(cols.pkts_fwd, type=pa.int64()),
        "packets_rev": pa.array(cols.pkts_rev, type=pa.int64()),
        "bytes_fwd": pa.array(cols.bytes_fwd, type=pa.int64()),
        "bytes_rev": pa.array(cols.bytes_rev, type=pa.int64()),
        "first_seen": pa.array(cols.first_ns, type=pa.timestamp("ns", tz="UTC")),
        "last_seen": pa.array(cols.last_ns, type=pa.timestamp("ns", tz="UTC")),
        "first_frame": pa.array(cols.first_frame, type=pa.int64()),
        "file": pa.DictionaryArray.from_arrays(
            pa.array(cols.file, type=pa.int32()), pa.array(files, type=pa.string())
        ),
        "tcp_flags_fwd": pa.array(cols.flags_fwd, type=pa.uint8()),
        "tcp_flags_rev": pa.array(cols.flags_rev, type=pa.uint8()),
        "conn_state": pa.DictionaryArray.from_arrays(
            pa.array(cols.state.astype(np.int8)), pa.array(CONN_STATES, type=pa.string())
        ),
        "answered": pa.array(cols.answered, type=pa.bool_()),
        "community_id": pa.array(cols.community_ids(), type=pa.string()),
        "names": _lists(cols.names, n),
        "tunnel": _lists(cols.tunnels, n),
        "blocked_by_device": pa.array(table.blocked if log else [None] * n, type=pa.bool_()),
        "action": pa.array(list(table.actions) if log else [None] * n, type=pa.string()),
        "log_state": pa.array(list(table.log_states) if log else [None] * n, type=pa.string()),
        "log_format": pa.array(list(table.log_formats) if log else [None] * n, type=pa.string()),
    }
    meta: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "accounting": table.accounting.as_dict(),
        "files": list(cols.files),
    }
    if log:
        meta["log"] = {
            "stats": asdict(table.stats),
            "problems": [asdict(p) for p in table.problems],
            "formats": list(table.formats),
        }
    out = pa.table(data)
    return out.replace_schema_metadata({META_KEY: json.dumps(meta, ensure_ascii=False)})


def write_parquet(
    table: FlowTable, path: str, partition_by_day: bool = False, compression: str = "zstd"
) -> None:
    """Write ``table`` to ``path``: one Parquet file, or with ``partition_by_day`` a
    directory partitioned ``day=YYYY-MM-DD`` (first-seen day, UTC). A path that cannot be
    written is an ``InputError`` naming it."""
    try:
        _write(table, path, partition_by_day, compression)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise InputError(
            Msg("error.flowlogs.parquet.cannot_write_parquet_flow_table", reason=reason), path
        ) from None


def _write(table: FlowTable, path: str, partition_by_day: bool, compression: str) -> None:
    pa = _pa()
    import pyarrow.parquet as pq

    arrow = to_arrow(table)
    if not partition_by_day:
        pq.write_table(arrow, path, compression=compression)
        return
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    day = pc.cast(pc.cast(arrow["first_seen"], pa.timestamp("ns")), pa.date32())
    arrow = arrow.append_column("day", day)
    ds.write_dataset(
        arrow,
        path,
        format="parquet",
        partitioning=ds.partitioning(pa.schema([("day", pa.date32())]), flavor="hive"),
        file_options=ds.ParquetFileFormat().make_write_options(compression=compression),
        existing_data_behavior="overwrite_or_ignore",
    )


def read_arrow(path: str) -> Any:
    """The stored flows as a ``pyarrow.Table`` (a file, or a partitioned directory)."""
    _pa()
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    try:
        if Path(path).is_dir():
            dataset = ds.dataset(path, format="parquet", partitioning="hive")
            files = sorted(dataset.files)
            meta = pq.read_schema(files[0]).metadata if files else None
            arrow = dataset.to_table()
            arrow = arrow.replace_schema_metadata(meta)
            return arrow.sort_by("row")
        return pq.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise InputError(
            Msg("error.flowlogs.parquet.not_readable_parquet_flow_table", reason=exc), path
        ) from None


def _recode(array: Any, codes: dict[str, int]) -> np.ndarray:
    """Codes of a string column's values (dictionary-encoded or not) in ``codes``."""
    encoded = array if hasattr(array, "indices") else array.dictionary_encode()
    table = np.array([codes[v] for v in encoded.dictionary.to_pylist()], dtype=np.int64)
    at = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return table[at] if len(table) else at


def _side(array: Any) -> dict[int, tuple[str, ...]]:
    """Row → values of a list<string> column, for the rows whose list is not empty."""
    import pyarrow.compute as pc

    rows = np.flatnonzero(
        np.asarray(pc.list_value_length(array).fill_null(0).to_numpy(zero_copy_only=False)) > 0
    )
    values = array.take(_pa().array(rows)).to_pylist() if len(rows) else []
    return {int(r): tuple(v) for r, v in zip(rows.tolist(), values, strict=True)}


def _strings(array: Any) -> tuple[str, ...]:
    """A string column as text per row (null → ""), each distinct value decoded once."""
    encoded = array.fill_null("").dictionary_encode()
    uniq = encoded.dictionary.to_pylist()
    return tuple(uniq[i] for i in encoded.indices.to_numpy(zero_copy_only=False).tolist())


def read_parquet(path: str) -> FlowTable:
    """A flow table written by :func:`write_parquet` (``FlowLogTable`` for flow logs)."""
    arrow = read_arrow(path)
    raw = (arrow.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise InputError(Msg("error.flowlogs.parquet.no_segverify_metadata_not_flow"), path)
    meta = json.loads(raw)
    if meta.get("schema") != SCHEMA_ID:
        raise InputError(
            Msg(
                "error.flowlogs.parquet.flow_table_schema_expected",
                schema=meta.get("schema"),
                expected=SCHEMA_ID,
            ),
            path,
        )
    n = arrow.num_rows
    col = {name: arrow[name].combine_chunks() for name in arrow.column_names}

    def ints(name: str, dtype: Any) -> np.ndarray:
        array = col[name]
        if array.null_count:
            array = array.fill_null(-1)  # the nullable int32 columns: -1 means none
        return np.asarray(array.to_numpy(zero_copy_only=False), dtype=dtype)

    out: dict[str, np.ndarray] = {name: np.zeros(n, dtype=dt) for name, dt in COLUMNS}
    for side in ("src", "dst"):
        encoded = col[side].dictionary_encode()
        parts = np.array([split_address(t) for t in encoded.dictionary.to_pylist()], dtype=object)
        at = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        for k, name in enumerate(("ver", f"{side}_hi", f"{side}_lo")):
            values = (
                np.array([p[k] for p in parts], dtype=out[name].dtype) if len(parts) else out[name]
            )
            out[name] = values[at] if len(parts) else out[name]
    for name, source in (
        ("proto", "proto"), ("sport", "sport"), ("dport", "dport"), ("vlan", "vlan"),
        ("pkts_fwd", "packets_fwd"), ("pkts_rev", "packets_rev"), ("bytes_fwd", "bytes_fwd"),
        ("bytes_rev", "bytes_rev"), ("first_frame", "first_frame"),
        ("flags_fwd", "tcp_flags_fwd"), ("flags_rev", "tcp_flags_rev"),
    ):  # fmt: skip
        out[name] = ints(source, out[name].dtype)
    for name in ("first_seen", "last_seen"):
        out["first_ns" if name == "first_seen" else "last_ns"] = np.asarray(
            col[name].cast(_pa().int64()).to_numpy(zero_copy_only=False), dtype=np.int64
        )
    files = [str(f) for f in meta.get("files", [])]
    index = {f: i for i, f in enumerate(files)}
    out["file"] = _recode(col["file"], index).astype(np.int32)
    out["state"] = _recode(col["conn_state"], {s: i for i, s in enumerate(CONN_STATES)}).astype(
        np.uint8
    )
    out["answered"] = np.asarray(col["answered"].to_numpy(zero_copy_only=False), dtype=bool)
    tunnels = _side(col["tunnel"])
    for i, descs in tunnels.items():
        kind, _, ends = descs[0].partition(" ")
        outer_src, _, outer_dst = ends.partition(">")
        tver, tshi, tslo = split_address(outer_src)
        _, tdhi, tdlo = split_address(outer_dst)
        out["tun_type"][i], out["tun_ver"][i] = TUNNEL_CODES.get(kind, 0), tver
        out["tun_src_hi"][i], out["tun_src_lo"][i] = tshi, tslo
        out["tun_dst_hi"][i], out["tun_dst_lo"][i] = tdhi, tdlo
    columns = FlowColumns.from_arrays(out, files, _side(col["names"]), tunnels)
    acct_meta = meta["accounting"]
    accounting = Accounting(**{k: v for k, v in acct_meta.items() if k != "cut_short"})
    accounting.cut_short = list(acct_meta.get("cut_short", []))
    log = meta.get("log")
    if log is None:
        return FlowTable(None, accounting, columns=columns)
    return FlowLogTable(
        columns,
        accounting,
        blocked=np.asarray(
            col["blocked_by_device"].fill_null(False).to_numpy(zero_copy_only=False), dtype=bool
        ),
        actions=_strings(col["action"]),
        log_states=_strings(col["log_state"]),
        log_formats=_strings(col["log_format"]),
        problems=[LogProblem(**p) for p in log.get("problems", [])],
        stats=LogStats(**log.get("stats", {})),
        formats=tuple(log.get("formats", ())),
    )
