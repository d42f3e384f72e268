"""Merging the flow tables of several files as if they were one capture (vectorised).

Flows with the same key (IP version, protocol, the two (address, port) endpoints in
either order) merge. A merged flow keeps the orientation, first frame, file, VLAN and
tunnel of its row in the first table (in the order given) that holds it; packets and
bytes add up per direction, TCP flags OR per direction, timestamps take min and max;
names and tunnel descriptions are united in order. State and ``answered`` are recomputed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segverify.flows.columns import COLUMN_NAMES, FlowColumns

KEEP_FIRST = (
    "ver", "src_hi", "src_lo", "dst_hi", "dst_lo", "proto", "sport", "dport", "vlan",
    "first_frame", "file",
)  # fmt: skip
TUNNEL = ("tun_type", "tun_ver", "tun_src_hi", "tun_src_lo", "tun_dst_hi", "tun_dst_lo")


def _concat(tables: Sequence[FlowColumns]) -> tuple[dict[str, np.ndarray], list[str], dict, dict]:
    files: list[str] = []
    names: dict[int, tuple[str, ...]] = {}
    tunnels: dict[int, tuple[str, ...]] = {}
    parts: dict[str, list[np.ndarray]] = {name: [] for name in COLUMN_NAMES}
    base = 0
    for t in tables:
        for name in COLUMN_NAMES:
            col = getattr(t, name)
            parts[name].append(col + len(files) if name == "file" else col)
        names.update({base + k: v for k, v in t.names.items()})
        tunnels.update({base + k: v for k, v in t.tunnels.items()})
        files.extend(t.files)
        base += len(t)
    arrays = {name: np.concatenate(p) for name, p in parts.items()}
    arrays["file"] = arrays["file"].astype(np.int32)
    return arrays, files, names, tunnels


def merge_columns(tables: Sequence[FlowColumns]) -> FlowColumns:
    """One table of the given tables' flows, same-key flows merged (see module doc)."""
    if len(tables) == 1:
        return tables[0]
    if not tables:
        return FlowColumns.empty()
    return merge_groups(tables)[0]


def merge_groups(tables: Sequence[FlowColumns]) -> tuple[FlowColumns, np.ndarray, np.ndarray]:
    """``merge_columns`` plus, for every input row (tables concatenated in order), the row
    of the merged table it went into and whether it has that row's orientation (its
    source is the merged source)."""
    c, files, names, tunnels = _concat(tables)
    n = len(c["proto"])
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return FlowColumns.from_arrays(c, files), empty, empty.astype(bool)
    idx = np.arange(n)
    sh, sl, dh, dl = c["src_hi"], c["src_lo"], c["dst_hi"], c["dst_lo"]
    sp, dp = c["sport"], c["dport"]
    s_first = (sh < dh) | ((sh == dh) & ((sl < dl) | ((sl == dl) & (sp <= dp))))
    a_hi, a_lo, a_p = (
        np.where(s_first, sh, dh),
        np.where(s_first, sl, dl),
        np.where(s_first, sp, dp),
    )
    b_hi, b_lo, b_p = (
        np.where(s_first, dh, sh),
        np.where(s_first, dl, sl),
        np.where(s_first, dp, sp),
    )
    keys = (c["ver"], c["proto"], a_hi, a_lo, a_p, b_hi, b_lo, b_p)
    order = np.lexsort((idx, *reversed(keys)))
    new = np.ones(n, dtype=bool)
    new[1:] = np.zeros(n - 1, dtype=bool)
    for k in keys:
        ks = k[order]
        new[1:] |= ks[1:] != ks[:-1]
    starts = np.flatnonzero(new)
    gid_sorted = np.cumsum(new) - 1
    gid = np.empty(n, dtype=np.int64)
    gid[order] = gid_sorted
    first = order[starts]  # smallest row index of each group: the first table's row
    f = first[gid]
    same = (sh == sh[f]) & (sl == sl[f]) & (sp == sp[f]) & (dh == dh[f]) & (dl == dl[f])
    same &= dp == dp[f]

    def oriented(fwd: str, rev: str) -> tuple[np.ndarray, np.ndarray]:
        a = np.where(same, c[fwd], c[rev])[order]
        b = np.where(same, c[rev], c[fwd])[order]
        return a, b

    out: dict[str, np.ndarray] = {name: c[name][first] for name in KEEP_FIRST}
    for fwd, rev in (("pkts_fwd", "pkts_rev"), ("bytes_fwd", "bytes_rev")):
        a, b = oriented(fwd, rev)
        out[fwd] = np.add.reduceat(a, starts)
        out[rev] = np.add.reduceat(b, starts)
    a, b = oriented("flags_fwd", "flags_rev")
    out["flags_fwd"] = np.bitwise_or.reduceat(a, starts)
    out["flags_rev"] = np.bitwise_or.reduceat(b, starts)
    out["first_ns"] = np.minimum.reduceat(c["first_ns"][order], starts)
    out["last_ns"] = np.maximum.reduceat(c["last_ns"][order], starts)
    tun_row = np.minimum.reduceat(np.where(c["tun_type"] > 0, idx, n)[order], starts)
    tun_src = np.where(tun_row < n, tun_row, first)
    for name in TUNNEL:
        out[name] = c[name][tun_src]
    # groups in the order of their first row
    gorder = np.argsort(first, kind="stable")
    out = {name: col[gorder] for name, col in out.items()}
    new_pos = np.empty(len(first), dtype=np.int64)
    new_pos[gorder] = np.arange(len(first))
    row_group = new_pos[gid]
    merged_names = _unite(names, row_group)
    merged_tunnels = _unite(tunnels, row_group)
    cols = FlowColumns.from_arrays(out, files, merged_names, merged_tunnels)
    if all(t._cids is not None for t in tables):
        cids = [cid for t in tables for cid in (t._cids or [])]
        cols._cids = [cids[i] for i in first[gorder].tolist()]
    return cols, row_group, same


def _unite(side: dict[int, tuple[str, ...]], row_group: np.ndarray) -> dict[int, tuple[str, ...]]:
    merged: dict[int, list[str]] = {}
    for row in sorted(side):
        have = merged.setdefault(int(row_group[row]), [])
        have.extend(v for v in side[row] if v not in have)
    return {g: tuple(v) for g, v in merged.items()}
