"""Normalised capture model: bidirectional flows and the accounting of every record.

Every backend (fast, scapy, pyshark) produces a ``FlowTable``; checks read only this.
Flows are few compared with packets, so one Python object per *flow* is fine; no backend
builds one per *packet* on its hot path (the fast one).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from segverify.flows.state import answered as answered_rows
from segverify.flows.state import conn_state

if TYPE_CHECKING:
    from segverify.flows.columns import FlowColumns

# accounting buckets; every record of every input lands in exactly one
BUCKETS = ("analysed", "non_ip", "unsupported_link", "malformed", "truncated", "opaque")


@dataclass(frozen=True)
class Flow:
    """One bidirectional flow, oriented initiator → responder.

    Key: (ip version, addresses, proto, ports); VLAN is context, not key. For ICMP/ICMPv6
    ``sport``/``dport`` hold type/code as the Community ID spec maps them; for protocols
    without ports they are None. Bytes are original frame lengths (as tshark counts).
    Timestamps are nanoseconds since the epoch. Frame numbers are 1-based, counted over
    all records of the input file named in ``file``.
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
    first_frame: int
    file: str = ""
    vlan: int | None = None
    tcp_flags_fwd: int = 0  # OR of TCP flag bytes seen initiator → responder
    tcp_flags_rev: int = 0
    community_id: str = ""
    names: tuple[str, ...] = ()  # application evidence: DNS query names, TLS SNI, HTTP Host
    tunnel: tuple[
        str, ...
    ] = ()  # outer endpoints of decapsulated tunnels, e.g. "gre 192.0.2.1>192.0.2.2"

    @property
    def packets(self) -> int:
        return self.packets_fwd + self.packets_rev

    @property
    def bytes(self) -> int:
        return self.bytes_fwd + self.bytes_rev

    @property
    def conn_state(self) -> str:
        """Zeek ``conn_state`` (S0, S1, SF, REJ, …; see segverify.flows.state)."""
        return conn_state(
            self.proto, self.packets_fwd, self.packets_rev, self.tcp_flags_fwd, self.tcp_flags_rev
        )

    @property
    def answered(self) -> bool:
        """The responder replied (TCP: SYN+ACK, or midstream traffic back)."""
        return bool(
            answered_rows(
                np.array([self.proto]),
                np.array([self.packets_rev]),
                np.array([self.tcp_flags_fwd]),
                np.array([self.tcp_flags_rev]),
            )[0]
        )


@dataclass
class Accounting:
    """Where every record went. ``records`` equals the sum of the buckets."""

    records: int = 0
    analysed: int = 0
    non_ip: int = 0
    unsupported_link: int = 0
    malformed: int = 0
    truncated: int = 0  # snaplen-cut packets whose headers could not be read completely
    opaque: int = 0  # may carry IP but cannot be opened (protected 802.11 data)
    cut_short: list[str] = field(default_factory=list)  # "file: stopped at byte N (reason)"
    files: int = 0

    def add(self, other: Accounting) -> None:
        for name in ("records", *BUCKETS, "files"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cut_short.extend(other.cut_short)

    def balanced(self) -> bool:
        return self.records == sum(getattr(self, b) for b in BUCKETS)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"records": self.records}
        out.update({b: getattr(self, b) for b in BUCKETS})
        out["files"] = self.files
        out["cut_short"] = list(self.cut_short)
        return out


class FlowTable:
    """The flows of one or more captures and the accounting of their records.

    Held as columns (:class:`segverify.flows.columns.FlowColumns`); ``flows`` makes the
    list of ``Flow`` objects on first use (kept for callers that want objects), and
    ``flow(i)`` makes one. A table built from a ``Flow`` list gets its columns on first
    use of ``columns``.
    """

    def __init__(
        self,
        flows: list[Flow] | None = None,
        accounting: Accounting | None = None,
        *,
        columns: FlowColumns | None = None,
    ) -> None:
        if flows is None and columns is None:
            flows = []
        self._flows = flows
        self._columns = columns
        self.accounting = accounting if accounting is not None else Accounting()

    @property
    def columns(self) -> FlowColumns:
        if self._columns is None:
            from segverify.flows.columns import FlowColumns

            self._columns = FlowColumns.from_flows(self._flows or [])
        return self._columns

    @property
    def flows(self) -> list[Flow]:
        if self._flows is None:
            assert self._columns is not None
            self._flows = list(self._columns.iter_flows())
        return self._flows

    def __len__(self) -> int:
        return len(self._flows) if self._flows is not None else len(self.columns)

    def flow(self, i: int) -> Flow:
        """Flow ``i`` (one object, made on demand when the table is columnar)."""
        if self._flows is not None:
            return self._flows[i]
        return self.columns.flow(i)

    def __iter__(self) -> Iterator[Flow]:
        if self._flows is not None:
            return iter(self._flows)
        return self.columns.iter_flows()

    def __getstate__(self) -> dict[str, object]:
        # send columns between processes, never both forms
        if self._columns is not None:
            return {"_flows": None, "_columns": self._columns, "accounting": self.accounting}
        return dict(self.__dict__)
