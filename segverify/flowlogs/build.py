"""The one place where log records become flows.

Every reader hands its records to a ``Collector``: one ``LogRecord`` per readable record,
``malformed``/``truncated`` with the line number or byte offset for the rest. ``table()``
then turns records into ``LogFlow`` objects exactly as the capture path keys and merges
flows (``segverify.capture.api.flow_key`` / ``merge_flow``): one flow per protocol and
unordered endpoint pair, oriented by the earliest record, so unidirectional NetFlow
records pair up and Zeek's inactivity splits join again.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from segverify.flowlogs.model import FlowLogTable, LogFlow, LogProblem, LogStats
from segverify.flows.community_id import ICMP4_PAIRS, ICMP6_PAIRS, community_id
from segverify.flows.model import Accounting

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
    state: str = ""
    action: str = ""
    blocked: bool = False
    answered: bool | None = None
    names: tuple[str, ...] = ()
    session: tuple[Any, ...] | None = None


def address(text: str, field: str) -> str:
    """Canonical text of an IP address (as the capture path writes it)."""
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        raise RecordError(f"{field} {text!r} is not an IP address") from None


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


def _icmp_ports(rec: LogRecord) -> tuple[int | None, int | None]:
    if rec.sport is None:
        return None, None
    pairs = ICMP4_PAIRS if rec.proto == 1 else ICMP6_PAIRS
    return rec.sport, pairs.get(rec.sport, rec.dport if rec.dport is not None else 0)


def _flow(rec: LogRecord, path: str, fmt: str) -> LogFlow:
    sport, dport = _icmp_ports(rec) if rec.proto in ICMP_PROTOS else (rec.sport, rec.dport)
    return LogFlow(
        src=rec.src,
        dst=rec.dst,
        proto=rec.proto,
        sport=sport,
        dport=dport,
        packets_fwd=rec.packets_fwd,
        bytes_fwd=rec.bytes_fwd,
        packets_rev=rec.packets_rev,
        bytes_rev=rec.bytes_rev,
        first_ns=rec.first_ns,
        last_ns=max(rec.last_ns, rec.first_ns),
        first_frame=rec.where,
        file=path,
        vlan=rec.vlan,
        tcp_flags_fwd=rec.tcp_flags_fwd,
        tcp_flags_rev=rec.tcp_flags_rev,
        names=rec.names,
        state=rec.state,
        action=rec.action,
        blocked_by_device=rec.blocked,
        log_format=fmt,
    )


def _order(rec: LogRecord) -> tuple[int, int, int]:
    # earliest first; at equal times the side with the ephemeral (higher) port first
    ephemeral = 0 if (rec.sport or 0) >= (rec.dport or 0) else 1
    return (rec.first_ns, ephemeral, rec.where)


def _join(a: str, b: str) -> str:
    if not b or b in a.split(","):
        return a
    return f"{a},{b}" if a else b


def build_table(cols: Sequence[Collector]) -> FlowLogTable:
    """Records of every collector → merged, oriented ``LogFlow`` objects with Community IDs.

    Records are taken in time order (earliest first), so the earliest record orients its
    flow and names its file and line (``first_frame``).
    """
    from segverify.capture.api import flow_key, merge_flow

    acct = Accounting()
    stats = LogStats()
    problems: list[LogProblem] = []
    tagged: list[tuple[LogRecord, Collector]] = []
    for col in cols:
        records, superseded = _latest_per_session(col.records)
        col.stats.superseded += superseded
        col.accounting.analysed = len(col.records)
        col.accounting.records = (
            col.accounting.analysed + col.accounting.malformed + col.accounting.truncated
        )
        acct.add(col.accounting)
        stats.add(col.stats)
        problems.extend(col.problems)
        tagged.extend((r, col) for r in records)
    merged: dict[tuple[Any, ...], LogFlow] = {}
    verdicts: dict[tuple[Any, ...], list[bool | None]] = {}
    blocked: dict[tuple[Any, ...], bool] = {}
    for rec, col in sorted(tagged, key=lambda rc: _order(rc[0])):
        flow = _flow(rec, col.path, col.fmt)
        key = flow_key(flow)
        have = merged.get(key)
        if have is None:
            merged[key] = flow
            verdicts[key] = [rec.answered]
            blocked[key] = rec.blocked
        else:
            merged[key] = replace(
                merge_flow(have, flow),
                state=_join(have.state, flow.state),
                action=_join(have.action, flow.action),
            )
            verdicts[key].append(rec.answered)
            blocked[key] = blocked[key] and rec.blocked
    flows = []
    for key, flow in merged.items():
        said = verdicts[key]
        if blocked[key]:
            answered = False
        elif True in said:
            answered = True
        elif None not in said:
            answered = False
        else:
            answered = flow.packets_rev > 0
        cid = community_id(flow.src, flow.dst, flow.proto, flow.sport, flow.dport)
        flows.append(
            replace(flow, blocked_by_device=blocked[key], answered=answered, community_id=cid)
        )
    flows.sort(key=lambda f: (f.file, f.first_frame))
    return FlowLogTable(
        flows=flows,
        accounting=acct,
        problems=problems,
        stats=stats,
        formats=tuple(dict.fromkeys(c.fmt for c in cols)),
    )
