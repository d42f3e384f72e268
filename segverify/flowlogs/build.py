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


def _order(rec: LogRecord) -> tuple[int, int, int]:
    # earliest first; at equal times the side with the ephemeral (higher) port first
    ephemeral = 0 if (rec.sport or 0) >= (rec.dport or 0) else 1
    return (rec.first_ns, ephemeral, rec.where)


def _join(a: str, b: str) -> str:
    if not b or b in a.split(","):
        return a
    return f"{a},{b}" if a else b


@dataclass(slots=True)
class _Group:
    """One flow being aggregated; ``row`` holds the column values."""

    row: dict[str, int]
    names: list[str]
    states: list[str | None]  # Zeek conn_state per record (None: not given)
    said: list[bool | None]  # answered per record as the log says
    blocked: bool
    action: str
    log_state: str
    fmt: str


def build_table(cols: Sequence[Collector]) -> FlowLogTable:
    """Records of every collector → one flow table (see the module doc)."""
    acct = Accounting()
    stats = LogStats()
    problems: list[LogProblem] = []
    tagged: list[tuple[LogRecord, int]] = []
    files = [c.path for c in cols]
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
        tagged.extend((r, index) for r in records)
    split: dict[str, tuple[int, int, int]] = {}

    def parts(text: str) -> tuple[int, int, int]:
        got = split.get(text)
        if got is None:
            got = split[text] = split_address(text)
        return got

    groups: dict[tuple[Any, ...], _Group] = {}
    for rec, index in sorted(tagged, key=lambda rc: _order(rc[0])):
        sport, dport = _ports(rec)
        ver, shi, slo = parts(rec.src)
        _, dhi, dlo = parts(rec.dst)
        a, b = (shi, slo, sport), (dhi, dlo, dport)
        key = (ver, rec.proto, *sorted((a, b)))
        g = groups.get(key)
        flags_fwd, flags_rev = rec.tcp_flags_fwd & 0xFF, rec.tcp_flags_rev & 0xFF
        if g is None:
            groups[key] = _Group(
                row={
                    "ver": ver,
                    "src_hi": shi,
                    "src_lo": slo,
                    "dst_hi": dhi,
                    "dst_lo": dlo,
                    "proto": rec.proto,
                    "sport": sport,
                    "dport": dport,
                    "vlan": -1 if rec.vlan is None else rec.vlan,
                    "pkts_fwd": rec.packets_fwd,
                    "pkts_rev": rec.packets_rev,
                    "bytes_fwd": rec.bytes_fwd,
                    "bytes_rev": rec.bytes_rev,
                    "first_ns": rec.first_ns,
                    "last_ns": max(rec.first_ns, rec.last_ns),
                    "first_frame": rec.where,
                    "flags_fwd": flags_fwd,
                    "flags_rev": flags_rev,
                    "file": index,
                },  # fmt: skip
                names=list(rec.names),
                states=[rec.conn_state],
                said=[rec.answered],
                blocked=rec.blocked,
                action=rec.action,
                log_state=rec.state,
                fmt=cols[index].fmt,
            )
            continue
        r = g.row
        same = (shi, slo, sport) == (r["src_hi"], r["src_lo"], r["sport"])
        fwd, rev = ("fwd", "rev") if same else ("rev", "fwd")
        r[f"pkts_{fwd}"] += rec.packets_fwd
        r[f"pkts_{rev}"] += rec.packets_rev
        r[f"bytes_{fwd}"] += rec.bytes_fwd
        r[f"bytes_{rev}"] += rec.bytes_rev
        r[f"flags_{fwd}"] |= flags_fwd
        r[f"flags_{rev}"] |= flags_rev
        r["last_ns"] = max(r["last_ns"], rec.last_ns, rec.first_ns)
        g.names.extend(n for n in rec.names if n not in g.names)
        g.states.append(rec.conn_state)
        g.said.append(rec.answered)
        g.blocked = g.blocked and rec.blocked
        g.action = _join(g.action, rec.action)
        g.log_state = _join(g.log_state, rec.state)
    ordered = sorted(groups.values(), key=lambda g: (g.row["file"], g.row["first_frame"]))
    arrays = {
        name: np.array([g.row[name] for g in ordered], dtype=dt)
        for name, dt in COLUMNS
        if name in ("ver", "file") or (ordered and name in ordered[0].row)
    }
    for name, dt in COLUMNS:
        if name not in arrays and name not in ("state", "answered"):
            arrays[name] = np.zeros(len(ordered), dtype=dt)
    names = {i: tuple(g.names) for i, g in enumerate(ordered) if g.names}
    columns = FlowColumns.from_arrays(arrays, files, names)
    for i, g in enumerate(ordered):
        given = [s for s in g.states if s is not None]
        if given:
            answered_states = [s for s, a in zip(g.states, g.said, strict=True) if a]
            columns.state[i] = CONN_STATES.index((answered_states or given)[0])
        if g.blocked:
            columns.answered[i] = False
        elif True in g.said:
            columns.answered[i] = True
        elif None not in g.said:
            columns.answered[i] = False
        # else: derived from the counts and flags (FlowColumns.from_arrays)
    return FlowLogTable(
        columns,
        acct,
        blocked=np.array([g.blocked for g in ordered], dtype=bool),
        actions=tuple(g.action for g in ordered),
        log_states=tuple(g.log_state for g in ordered),
        log_formats=tuple(g.fmt for g in ordered),
        problems=problems,
        stats=stats,
        formats=tuple(dict.fromkeys(c.fmt for c in cols)),
    )
