"""The one place where log records become flows.

Every reader hands its records to a ``Collector``: one ``LogRecord`` per readable record,
``malformed``/``truncated`` with the line number or byte offset for the rest.
``build_table`` aggregates records as the capture path aggregates packets: one flow per
IP version, protocol and unordered endpoint pair (the capture's flow key), oriented by the
earliest record, so unidirectional NetFlow records pair up and Zeek's inactivity splits
join again; then one ``FlowColumns.from_arrays`` call (the flow constructor every input
shares) makes the table, and the log's own verdicts override the derived ``state`` and
``answered`` columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from segverify.flowlogs.model import FlowLogTable, LogProblem, LogStats
from segverify.flowlogs.records import ICMP_PROTOS, Collector, LogRecord, RecordBlock
from segverify.flows.columns import COLUMNS, FlowColumns, split_address
from segverify.flows.community_id import ICMP4_PAIRS, ICMP6_PAIRS
from segverify.flows.model import Accounting
from segverify.flows.state import CONN_STATES


def _latest_per_session(records: list[LogRecord]) -> tuple[list[LogRecord], int]:
    """Keep the last record of each firewall session (counters are cumulative)."""
    last: dict[tuple[Any, ...], int] = {}
    for i, r in enumerate(records):
        if r.session is not None:
            last[r.session] = i
    kept = [r for i, r in enumerate(records) if r.session is None or last[r.session] == i]
    return kept, len(records) - len(kept)


def _ports(rec: LogRecord) -> tuple[int, int]:
    """(sport, dport) as the flow table holds them: -1 for none, ICMP as Community ID."""
    if rec.proto in ICMP_PROTOS:
        if rec.sport is None:
            return -1, -1
        pairs = ICMP4_PAIRS if rec.proto == 1 else ICMP6_PAIRS
        return rec.sport, pairs.get(rec.sport, rec.dport if rec.dport is not None else 0)
    return (-1 if rec.sport is None else rec.sport), (-1 if rec.dport is None else rec.dport)


def _join(values: list[str]) -> str:
    """Distinct non-empty words in order, joined with ``,``."""
    out: list[str] = []
    for value in values:
        for word in value.split(","):
            if word and word not in out:
                out.append(word)
    return ",".join(out)


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _column(values: list[Any], dtype: Any) -> np.ndarray:
    return np.array(values, dtype=dtype) if values else np.zeros(0, dtype=dtype)


def _record_columns(recs: list[LogRecord], rec_file: list[int]) -> dict[str, np.ndarray]:
    """One array per flow-table column, one row per record (as the log orients it), plus
    the log's own per-record values (``said``, ``blocked``, ``given``, ``ephemeral``)."""
    split: dict[str, tuple[int, int, int]] = {}

    def parts(text: str) -> tuple[int, int, int]:
        got = split.get(text)
        if got is None:
            got = split[text] = split_address(text)
        return got

    src = [parts(r.src) for r in recs]
    dst = [parts(r.dst) for r in recs]
    ports = [_ports(r) for r in recs]
    u64 = np.uint64
    return {
        "ver": _column([a[0] for a in src], np.uint8),
        "src_hi": _column([a[1] for a in src], u64),
        "src_lo": _column([a[2] for a in src], u64),
        "dst_hi": _column([a[1] for a in dst], u64),
        "dst_lo": _column([a[2] for a in dst], u64),
        "proto": _column([r.proto for r in recs], np.uint8),
        "sport": _column([p[0] for p in ports], np.int32),
        "dport": _column([p[1] for p in ports], np.int32),
        "vlan": _column([-1 if r.vlan is None else r.vlan for r in recs], np.int32),
        "pkts_fwd": _column([r.packets_fwd for r in recs], np.int64),
        "pkts_rev": _column([r.packets_rev for r in recs], np.int64),
        "bytes_fwd": _column([r.bytes_fwd for r in recs], np.int64),
        "bytes_rev": _column([r.bytes_rev for r in recs], np.int64),
        "first_ns": _column([r.first_ns for r in recs], np.int64),
        "last_ns": _column([max(r.first_ns, r.last_ns) for r in recs], np.int64),
        "first_frame": _column([r.where for r in recs], np.int64),
        "flags_fwd": _column([r.tcp_flags_fwd & 0xFF for r in recs], np.uint8),
        "flags_rev": _column([r.tcp_flags_rev & 0xFF for r in recs], np.uint8),
        "file": _column(rec_file, np.int32),
        "said": _column([-1 if r.answered is None else int(r.answered) for r in recs], np.int8),
        "blocked": _column([r.blocked for r in recs], bool),
        "given": _column(
            [-1 if r.conn_state is None else CONN_STATES.index(r.conn_state) for r in recs],
            np.int16,
        ),
        "ephemeral": _column([0 if (r.sport or 0) >= (r.dport or 0) else 1 for r in recs], np.int8),
    }


def _block_columns(block: RecordBlock, file_index: int) -> dict[str, np.ndarray]:
    """The same arrays as ``_record_columns`` for a columnar block."""
    n = len(block)
    proto = np.asarray(block.proto, dtype=np.uint8)
    sport = np.asarray(block.sport, dtype=np.int32)
    dport = np.asarray(block.dport, dtype=np.int32)
    icmp = (proto == 1) | (proto == 58)
    mapped = dport.copy()
    for p, pairs in ((1, ICMP4_PAIRS), (58, ICMP6_PAIRS)):
        for request, reply in pairs.items():
            mapped[(proto == p) & (sport == request)] = reply
    mapped[icmp & (sport < 0)] = -1
    first = np.asarray(block.first_ns, dtype=np.int64)
    return {
        "ver": np.asarray(block.ver, dtype=np.uint8),
        "src_hi": np.asarray(block.src_hi, dtype=np.uint64),
        "src_lo": np.asarray(block.src_lo, dtype=np.uint64),
        "dst_hi": np.asarray(block.dst_hi, dtype=np.uint64),
        "dst_lo": np.asarray(block.dst_lo, dtype=np.uint64),
        "proto": proto, "sport": sport, "dport": np.where(icmp, mapped, dport).astype(np.int32),
        "vlan": np.full(n, -1, dtype=np.int32),
        "pkts_fwd": np.asarray(block.packets_fwd, dtype=np.int64),
        "pkts_rev": np.asarray(block.packets_rev, dtype=np.int64),
        "bytes_fwd": np.asarray(block.bytes_fwd, dtype=np.int64),
        "bytes_rev": np.asarray(block.bytes_rev, dtype=np.int64),
        "first_ns": first, "last_ns": np.maximum(first, np.asarray(block.last_ns, dtype=np.int64)),
        "first_frame": np.asarray(block.where, dtype=np.int64),
        "flags_fwd": np.zeros(n, dtype=np.uint8), "flags_rev": np.zeros(n, dtype=np.uint8),
        "file": np.full(n, file_index, dtype=np.int32),
        "said": np.asarray(block.said, dtype=np.int8),
        "blocked": np.zeros(n, dtype=bool),
        "given": np.asarray(block.given, dtype=np.int16),
        "ephemeral": np.where(np.maximum(sport, 0) >= np.maximum(dport, 0), 0, 1).astype(np.int8),
    }  # fmt: skip


FIRST_ROW = ("ver", "src_hi", "src_lo", "dst_hi", "dst_lo", "proto", "sport", "dport", "vlan",
             "first_frame", "file")  # fmt: skip


def build_table(cols: Sequence[Collector]) -> FlowLogTable:
    """Records of every collector → one flow table (see the module doc).

    Vectorised: records sorted by time, grouped by flow key (``np.lexsort``), counters
    summed per direction (``reduceat``); Python touches each record once for its row and
    only merged groups again for their words."""
    acct = Accounting()
    stats = LogStats()
    problems: list[LogProblem] = []
    recs: list[LogRecord] = []
    rec_file: list[int] = []
    parts: list[dict[str, np.ndarray]] = []
    block_states: list[np.ndarray] = []
    for index, col in enumerate(cols):
        records, superseded = _latest_per_session(col.records)
        col.stats.superseded = superseded
        col.accounting.analysed = len(col.records) + sum(len(b) for b in col.blocks)
        col.accounting.records = (
            col.accounting.analysed + col.accounting.malformed + col.accounting.truncated
        )
        acct.add(col.accounting)
        stats.add(col.stats)
        problems.extend(col.problems)
        recs.extend(records)
        rec_file.extend([index] * len(records))
        for block in col.blocks:
            parts.append(_block_columns(block, index))
            block_states.append(np.asarray(block.state, dtype=object))
    blocks = [_record_columns(recs, rec_file), *parts]
    raw = {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}
    n = len(raw["proto"])
    # the log's words per row (object arrays); names only for the records that have some
    nb = n - len(recs)
    raw_actions = np.concatenate(
        [_objects([r.action for r in recs]), np.full(nb, "", dtype=object)]
    )
    raw_states = np.concatenate([_objects([r.state for r in recs]), *block_states])
    raw_names = {i: r.names for i, r in enumerate(recs) if r.names}
    # time order: earliest first; at equal times the ephemeral (higher) port's side first,
    # then by file and line (unique), whichever reader made the row
    t = np.lexsort((raw["first_frame"], raw["file"], raw["ephemeral"], raw["first_ns"]))
    c = {name: col[t] for name, col in raw.items()}
    actions_t, states_t = raw_actions[t], raw_states[t]
    rank = np.empty(n, dtype=np.int64)
    rank[t] = np.arange(n)  # original row → time position
    sh, sl, sp, dh, dl, dp = (
        c[k] for k in ("src_hi", "src_lo", "sport", "dst_hi", "dst_lo", "dport")
    )
    s_first = (sh < dh) | ((sh == dh) & ((sl < dl) | ((sl == dl) & (sp <= dp))))
    keys = (
        c["ver"], c["proto"],
        np.where(s_first, sh, dh), np.where(s_first, sl, dl), np.where(s_first, sp, dp),
        np.where(s_first, dh, sh), np.where(s_first, dl, sl), np.where(s_first, dp, sp),
    )  # fmt: skip
    order = np.lexsort((np.arange(n), *reversed(keys)))  # by key, time order within a key
    new = np.zeros(n, dtype=bool)
    new[:1] = True
    for k in keys:
        ks = k[order]
        new[1:] |= ks[1:] != ks[:-1]
    starts = np.flatnonzero(new)
    gid = np.empty(n, dtype=np.int64)
    gid[order] = np.cumsum(new) - 1
    first = order[starts]  # the earliest record of each group: it orients the flow
    f = first[gid]
    same = (sh == sh[f]) & (sl == sl[f]) & (sp == sp[f]) & (dh == dh[f]) & (dl == dl[f])
    same &= dp == dp[f]
    out: dict[str, np.ndarray] = {name: c[name][first] for name in FIRST_ROW}
    for fwd, rev, op in (("pkts_fwd", "pkts_rev", np.add), ("bytes_fwd", "bytes_rev", np.add),
                         ("flags_fwd", "flags_rev", np.bitwise_or)):  # fmt: skip
        out[fwd] = op.reduceat(np.where(same, c[fwd], c[rev])[order], starts) if n else c[fwd]
        out[rev] = op.reduceat(np.where(same, c[rev], c[fwd])[order], starts) if n else c[rev]
    out["first_ns"] = np.minimum.reduceat(c["first_ns"][order], starts) if n else c["first_ns"]
    out["last_ns"] = np.maximum.reduceat(c["last_ns"][order], starts) if n else c["last_ns"]
    # the log's verdicts per group
    said, given = c["said"][order], c["given"][order]
    blocked = np.logical_and.reduceat(c["blocked"][order], starts) if n else c["blocked"]
    any_yes = (np.maximum.reduceat(said, starts) == 1) if n else said == 1
    all_said = (np.minimum.reduceat(said, starts) >= 0) if n else said >= 0
    pos = np.arange(n)
    pick_yes = (
        np.minimum.reduceat(np.where((given >= 0) & (said == 1), pos, n), starts) if n else pos
    )
    pick_any = np.minimum.reduceat(np.where(given >= 0, pos, n), starts) if n else pos
    pick = np.where(pick_yes < n, pick_yes, pick_any)
    state_given = np.where(pick < n, given[np.minimum(pick, max(n - 1, 0))], -1) if n else given
    # flows in the order of their first record's file and line
    gorder = np.lexsort((out["first_frame"], out["file"]))
    out = {name: col[gorder] for name, col in out.items()}
    blocked, any_yes, all_said, state_given = (
        a[gorder] for a in (blocked, any_yes, all_said, state_given)
    )
    final = np.empty(len(gorder), dtype=np.int64)
    final[gorder] = np.arange(len(gorder))  # group (key order) → flow index
    actions = actions_t[first][gorder]
    log_states = states_t[first][gorder]
    sizes = np.diff(np.append(starts, n))
    for g in np.flatnonzero(sizes > 1).tolist():  # merged flows: join their words
        rows = order[starts[g] : starts[g] + sizes[g]]
        actions[final[g]] = _join(actions_t[rows].tolist())
        log_states[final[g]] = _join(states_t[rows].tolist())
    names: dict[int, tuple[str, ...]] = {}
    for pos_t in sorted(rank[r] for r in raw_names):  # in time order
        flow = int(final[gid[pos_t]])
        got = raw_names[int(t[pos_t])]
        have = names.get(flow, ())
        names[flow] = have + tuple(nm for nm in got if nm not in have)
    formats = [cols[i].fmt for i in out["file"].tolist()]
    for name, dt in COLUMNS:  # no tunnels in logs
        if name.startswith("tun_"):
            out[name] = np.zeros(len(gorder), dtype=dt)
    columns = FlowColumns.from_arrays(out, [col.path for col in cols], names)
    # the log's word over the derived one: blocked → not answered; Zeek's conn_state
    columns.answered[any_yes] = True
    columns.answered[all_said & ~any_yes] = False
    columns.answered[blocked] = False
    has_state = state_given >= 0
    columns.state[has_state] = state_given[has_state]
    return FlowLogTable(
        columns,
        acct,
        blocked=np.asarray(blocked, dtype=bool),
        actions=tuple(actions.tolist()),
        log_states=tuple(log_states.tolist()),
        log_formats=tuple(formats),
        problems=problems,
        stats=stats,
        formats=tuple(dict.fromkeys(col.fmt for col in cols)),
    )
