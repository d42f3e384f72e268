"""Log records as readers hand them over: one ``LogRecord`` per readable record (or a
``RecordBlock`` of many, from a column-wise reader), and the ``Collector`` that counts
every record of one input, read or not, with its line number or byte offset.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from segverify.flowlogs.model import LogProblem, LogStats
from segverify.flows.model import Accounting
from segverify.i18n import Msg

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


LIMIT_NS = 1 << 62  # times in ns (year 2116) and durations must stay below this
LIMIT_COUNT = 1 << 63  # packets and bytes fit the flow table's int64 columns


def checked(rec: LogRecord) -> LogRecord:
    """``rec`` when every number fits the flow table; ``RecordError`` otherwise."""
    if not (0 <= rec.first_ns < LIMIT_NS and 0 <= rec.last_ns < LIMIT_NS):
        raise RecordError(Msg("error.flowlogs.records.time_out_range_before_1970"))
    for name in ("packets_fwd", "bytes_fwd", "packets_rev", "bytes_rev"):
        if not 0 <= getattr(rec, name) < LIMIT_COUNT:
            raise RecordError(Msg("error.flowlogs.records.out_range", name=name.replace("_", " ")))
    return rec


@lru_cache(maxsize=1 << 16)
def canonical_address(text: str) -> str | None:
    """Canonical text of an IP address, None when it is not one (cached: logs repeat)."""
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return None


def address(text: str, field: str) -> str:
    """Canonical text of an IP address (as the capture path writes it); logs repeat their
    addresses, so each distinct text is parsed once (a bounded, pure cache)."""
    canonical = canonical_address(text)
    if canonical is None:
        raise RecordError(Msg("error.flowlogs.records.not_ip_address", field=field, text=text))
    return canonical


def number(text: str, field: str, limit: int = 1 << 63) -> int:
    """A non-negative decimal integer field."""
    t = text.strip()
    if not t.isdigit() or int(t) >= limit:
        raise RecordError(Msg("error.flowlogs.records.not_count", field=field, text=text))
    return int(t)


def port(text: str, field: str) -> int:
    return number(text, field, 1 << 16)


@dataclass
class RecordBlock:
    """Many readable records at once, from a columnar reader: the ``LogRecord`` fields as
    arrays (one row per record; ports -1 when none, ICMP type/code as logged), addresses
    as ``FlowColumns`` holds them (version, two 64-bit halves), ``given`` a
    ``CONN_STATES`` index or -1, ``said`` 1/0/-1 (answered, not, unknown), ``state`` the
    log's words (object array). No sessions, names, actions, VLANs or TCP flags."""

    ver: np.ndarray
    src_hi: np.ndarray
    src_lo: np.ndarray
    dst_hi: np.ndarray
    dst_lo: np.ndarray
    proto: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    packets_fwd: np.ndarray
    bytes_fwd: np.ndarray
    packets_rev: np.ndarray
    bytes_rev: np.ndarray
    first_ns: np.ndarray
    last_ns: np.ndarray
    where: np.ndarray
    given: np.ndarray
    said: np.ndarray
    state: np.ndarray

    def __len__(self) -> int:
        return len(self.proto)


class Collector:
    """Accounting and records of one input file, in the order read."""

    def __init__(self, path: str, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.records: list[LogRecord] = []
        self.blocks: list[RecordBlock] = []
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
        self.accounting.cut_short.append(
            Msg("warn.common.stopped_byte", path=self.path, at=offset, reason=reason)
        )
