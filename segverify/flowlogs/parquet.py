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
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from segverify.errors import InputError
from segverify.flowlogs.model import FlowLogTable, LogProblem, LogStats
from segverify.flows.columns import COLUMNS, TUNNEL_CODES, FlowColumns, address_text, split_address
from segverify.flows.model import Accounting, FlowTable
from segverify.flows.state import CONN_STATES

SCHEMA_ID = "segverify/flows/1"
META_KEY = b"segverify"


def _pa() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise InputError("Parquet needs pyarrow: pip install 'segverify[parquet]'") from None
    return pa


def _texts(ver: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> list[str]:
    """Address text per row, converting each distinct address once."""
    if len(ver) == 0:
        return []
    keys = np.stack([ver.astype(np.uint64), hi, lo], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    cache: dict[tuple[int, int, int], str] = {}
    texts = [address_text(int(v), int(h), int(lo_), cache) for v, h, lo_ in uniq.tolist()]
    return [texts[i] for i in inverse.reshape(-1).tolist()]


def _nullable(values: np.ndarray) -> Any:
    pa = _pa()
    return pa.array(values, type=pa.int32(), mask=values < 0)


def to_arrow(table: FlowTable) -> Any:
    """The flow table as a ``pyarrow.Table`` (schema in the module doc)."""
    pa = _pa()
    cols = table.columns
    n = len(cols)
    log = isinstance(table, FlowLogTable)
    names = [list(cols.names.get(i, ())) for i in range(n)]
    tunnels = [list(cols.tunnels.get(i, ())) for i in range(n)]
    files = list(cols.files) or [""]
    data = {
        "row": pa.array(np.arange(n, dtype=np.int64)),
        "ip_version": pa.array(cols.ver, type=pa.uint8()),
        "src": pa.array(_texts(cols.ver, cols.src_hi, cols.src_lo), type=pa.string()),
        "dst": pa.array(_texts(cols.ver, cols.dst_hi, cols.dst_lo), type=pa.string()),
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
        "names": pa.array(names, type=pa.list_(pa.string())),
        "tunnel": pa.array(tunnels, type=pa.list_(pa.string())),
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
    directory partitioned ``day=YYYY-MM-DD`` (first-seen day, UTC)."""
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
        raise InputError(f"not a readable Parquet flow table: {exc}", path) from None


def read_parquet(path: str) -> FlowTable:
    """A flow table written by :func:`write_parquet` (``FlowLogTable`` for flow logs)."""
    arrow = read_arrow(path)
    raw = (arrow.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise InputError("no segverify metadata: not a flow table written by segverify", path)
    meta = json.loads(raw)
    if meta.get("schema") != SCHEMA_ID:
        raise InputError(f"flow table schema {meta.get('schema')!r}, expected {SCHEMA_ID}", path)
    n = arrow.num_rows
    col = {name: arrow[name].combine_chunks() for name in arrow.column_names}

    def ints(name: str, dtype: Any) -> np.ndarray:
        array = col[name]
        if array.null_count:
            array = array.fill_null(-1)  # the nullable int32 columns: -1 means none
        return np.asarray(array.to_numpy(zero_copy_only=False), dtype=dtype)

    out: dict[str, np.ndarray] = {name: np.zeros(n, dtype=dt) for name, dt in COLUMNS}
    split: dict[str, tuple[int, int, int]] = {}

    def parts(texts: list[str], side: str) -> None:
        for i, text in enumerate(texts):
            got = split.get(text)
            if got is None:
                got = split[text] = split_address(text)
            out["ver"][i], out[f"{side}_hi"][i], out[f"{side}_lo"][i] = got

    parts(col["src"].to_pylist(), "src")
    parts(col["dst"].to_pylist(), "dst")
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
    out["file"] = np.array([index[f] for f in col["file"].to_pylist()], dtype=np.int32)
    out["state"] = np.array(
        [CONN_STATES.index(s) for s in col["conn_state"].to_pylist()], dtype=np.uint8
    )
    out["answered"] = np.asarray(col["answered"].to_numpy(zero_copy_only=False), dtype=bool)
    tunnels = {i: tuple(t) for i, t in enumerate(col["tunnel"].to_pylist()) if t}
    for i, descs in tunnels.items():
        kind, _, ends = descs[0].partition(" ")
        outer_src, _, outer_dst = ends.partition(">")
        tver, tshi, tslo = split_address(outer_src)
        _, tdhi, tdlo = split_address(outer_dst)
        out["tun_type"][i], out["tun_ver"][i] = TUNNEL_CODES.get(kind, 0), tver
        out["tun_src_hi"][i], out["tun_src_lo"][i] = tshi, tslo
        out["tun_dst_hi"][i], out["tun_dst_lo"][i] = tdhi, tdlo
    names = {i: tuple(v) for i, v in enumerate(col["names"].to_pylist()) if v}
    columns = FlowColumns.from_arrays(out, files, names, tunnels)
    columns._cids = col["community_id"].to_pylist()
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
        actions=tuple(a or "" for a in col["action"].to_pylist()),
        log_states=tuple(s or "" for s in col["log_state"].to_pylist()),
        log_formats=tuple(s or "" for s in col["log_format"].to_pylist()),
        problems=[LogProblem(**p) for p in log.get("problems", [])],
        stats=LogStats(**log.get("stats", {})),
        formats=tuple(log.get("formats", ())),
    )
