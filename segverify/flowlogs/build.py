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

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from segverify.flowlogs.model import FlowLogTable, LogProblem, LogStats
from segverify.flows.columns import COLUMNS, FlowColumns, split_address
from segverify.flows.community_id import ICMP4_PAIRS, ICMP6_PAIRS
from segverify.flows.model import Accounting
from segverify.flows.state import CONN_STATES

ICMP_PROTOS = (1, 58)


class RecordError(ValueError):
    """A record that cannot be read; the message says which field and why."""


@dataclass(slots=True)
class LogRecord:
    """One readable record, oriented as the log orients it (originator first).

    For ICMP/ICMPv6, ``sport`` is the type and ``dport`` the code (the builder maps them as
    the Community ID spec does). ``where`` is the 1-based line number (text logs) or record
    number (binary exports). ``answered`` None means "unknown: judge by reverse packets".
    ``session`` (when the log has one) lets a later record of the same firewall session
    replace an earlier one.
    """

    src: str
    dst: str
    proto: int
    sport: int | None
    dport: int | None
    packets_fwd: int
    bytes_fwd: int
    packets_rev: int
    bytes_rev: int
    first_ns: int
    last_ns: int
    where: int
    vlan: int | None = None
    tcp_flags_fwd: int = 0
    tcp_flags_rev: int = 0
    state: str = ""  # the log's words for the connection (Zeek conn_state, end reason)
    conn_state: str | None = None  # a Zeek conn_state the log gives (overrides the derived one)
    action: str = ""
    blocked: bool = False
    answered: bool | None = None
    names: tuple[str, ...] = ()
    session: tuple[Any, ...] | None = None


@lru_cache(maxsize=1 << 16)
def _canonical(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return None


def address(text: str, field: str) -> str:
    """Canonical text of an IP address (as the capture path writes it); logs repeat their
    addresses, so each distinct text is parsed once (a bounded, pure cache)."""
    canonical = _canonical(text)
    if canonical is None:
        raise RecordError(f"{field} {text!r} is not an IP address")
    return canonical


def number(text: str, field: str, limit: int = 1 << 64) -> int:
    """A non-negative decimal integer field."""
    t = text.strip()
    if not t.isdigit() or int(t) >= limit:
        raise RecordError(f"{field} {text!r} is not a count")
    return int(t)


def port(text: str, field: str) -> int:
    return number(text, field, 1 << 16)


class Collector:
    """Accounting and records of one input file, in the order read."""

    def __init__(self, path: str, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.records: list[LogRecord] = []
        self.problems: list[LogProblem] = []
        self.stats = LogStats()
        self.accounting = Accounting(files=1)

    def record(self, rec: LogRecord) -> None:
        self.records.append(rec)

    def malformed(self, message: str, line: int | None = None, offset: int | None = None) -> None:
        self.accounting.malformed += 1
        self.problems.append(LogProblem(self.path, message, line, offset))

    def truncated(self, message: str, offset: int) -> None:
        self.accounting.truncated += 1
        self.problems.append(LogProblem(self.path, message, None, offset))

    def cut_short(self, offset: int, reason: str) -> None:
        self.accounting.cut_short.append(f"{self.path}: stopped at byte {offset} ({reason})")

    def table(self) -> FlowLogTable:
        return build_table([self])


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
    for index, col in enumerate(cols):
        records, superseded = _latest_per_session(col.records)
        col.stats.superseded = superseded
        col.accounting.analysed = len(col.records)
        col.accounting.records = (
            col.accounting.analysed + col.accounting.malformed + col.accounting.truncated
        )
        acct.add(col.accounting)
        stats.add(col.stats)
        problems.extend(col.problems)
        recs.extend(records)
        rec_file.extend([index] * len(records))
    n = len(recs)
    raw = _record_columns(recs, rec_file)
    # time order: earliest first; at equal times the ephemeral (higher) port's side first
    t = np.lexsort((np.arange(n), raw["first_frame"], raw["ephemeral"], raw["first_ns"]))
    c = {name: col[t] for name, col in raw.items()}
    recs = [recs[i] for i in t.tolist()]
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
    sizes = np.diff(np.append(starts, n))[gorder]
    members = [
        order[s : s + z] for s, z in zip(starts[gorder].tolist(), sizes.tolist(), strict=True)
    ]
    names: dict[int, tuple[str, ...]] = {}
    actions, log_states, formats = [], [], []
    for g, rows in enumerate(members):
        group = [recs[i] for i in rows.tolist()]
        if len(group) == 1:
            rec = group[0]
            actions.append(rec.action)
            log_states.append(rec.state)
            if rec.names:
                names[g] = rec.names
        else:
            actions.append(_join([r.action for r in group]))
            log_states.append(_join([r.state for r in group]))
            united = list(dict.fromkeys(nm for r in group for nm in r.names))
            if united:
                names[g] = tuple(united)
        formats.append(cols[int(out["file"][g])].fmt)
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
        actions=tuple(actions),
        log_states=tuple(log_states),
        log_formats=tuple(formats),
        problems=problems,
        stats=stats,
        formats=tuple(dict.fromkeys(col.fmt for col in cols)),
    )
