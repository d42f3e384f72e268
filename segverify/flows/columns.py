"""The flow table in columns: one numpy array per field, one row per flow.

Rows are oriented initiator → responder (the sender of the first pure SYN, otherwise of
the first packet). Addresses are two ``uint64`` halves: IPv4 has ``hi`` 0 and the address
in the low 32 bits of ``lo``; IPv6 (IPv4-mapped included, as given) is ``hi``‖``lo``.
Ports are -1 when the protocol has none (ICMP: type/code as Community ID maps them).
Strings live in side tables keyed by row: evidence ``names`` and tunnel descriptions
(``tunnels``), plus ``files`` indexed by the ``file`` column. ``Flow`` objects are made
only on demand (:meth:`FlowColumns.flow`); Community IDs are computed in one batch
(:meth:`FlowColumns.community_ids`, compiled) or per row, never at read time.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from segverify.flows.community_id import community_id_packed
from segverify.flows.model import Flow
from segverify.flows.rows import TUNNEL_NAMES
from segverify.flows.state import CONN_STATES, states_and_answered

MASK32 = np.uint64(0xFFFFFFFF)
TUNNEL_CODES = {name: code for code, name in TUNNEL_NAMES.items()}

# (name, dtype) of every per-row array, in order
COLUMNS: tuple[tuple[str, type], ...] = (
    ("ver", np.uint8),  # 4 or 6
    ("src_hi", np.uint64),
    ("src_lo", np.uint64),
    ("dst_hi", np.uint64),
    ("dst_lo", np.uint64),
    ("proto", np.uint8),
    ("sport", np.int32),  # -1: none
    ("dport", np.int32),
    ("vlan", np.int32),  # outermost VLAN of the first packet, -1: untagged
    ("pkts_fwd", np.int64),
    ("pkts_rev", np.int64),
    ("bytes_fwd", np.int64),  # original frame lengths
    ("bytes_rev", np.int64),
    ("first_ns", np.int64),
    ("last_ns", np.int64),
    ("first_frame", np.int64),  # 1-based over the records of file ``file``
    ("flags_fwd", np.uint8),  # OR of TCP flag bytes per direction
    ("flags_rev", np.uint8),
    ("state", np.uint8),  # index into segverify.flows.state.CONN_STATES
    ("answered", np.bool_),
    ("tun_type", np.uint8),  # outermost tunnel: TUNNEL_* of flows/rows.py, 0: none
    ("tun_ver", np.uint8),  # its outer IP version (0: none)
    ("tun_src_hi", np.uint64),
    ("tun_src_lo", np.uint64),
    ("tun_dst_hi", np.uint64),
    ("tun_dst_lo", np.uint64),
    ("file", np.int32),  # index into ``files``
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)


def address_text(ver: int, hi: int, lo: int, cache: dict[tuple[int, int, int], str]) -> str:
    key = (ver, hi, lo)
    text = cache.get(key)
    if text is None:
        if ver == 4:
            text = socket.inet_ntoa((lo & 0xFFFFFFFF).to_bytes(4, "big"))
        else:
            packed = (hi << 64 | lo).to_bytes(16, "big")
            text = socket.inet_ntop(socket.AF_INET6, packed)
            if "." in text:  # IPv4-mapped/compatible: ipaddress's spelling
                text = str(ipaddress.IPv6Address(packed))
        cache[key] = text
    return text


def packed(ver: int, hi: int, lo: int) -> bytes:
    if ver == 4:
        return (lo & 0xFFFFFFFF).to_bytes(4, "big")
    return (hi << 64 | lo).to_bytes(16, "big")


def split_address(text: str) -> tuple[int, int, int]:
    """(version, hi, lo) of an address in text form."""
    addr = ipaddress.ip_address(text)
    value = int(addr)
    if addr.version == 4:
        return 4, 0, value
    return 6, value >> 64, value & ((1 << 64) - 1)


@dataclass
class FlowColumns:
    """One array per column of :data:`COLUMNS` (same length), plus string side tables."""

    ver: np.ndarray
    src_hi: np.ndarray
    src_lo: np.ndarray
    dst_hi: np.ndarray
    dst_lo: np.ndarray
    proto: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    vlan: np.ndarray
    pkts_fwd: np.ndarray
    pkts_rev: np.ndarray
    bytes_fwd: np.ndarray
    bytes_rev: np.ndarray
    first_ns: np.ndarray
    last_ns: np.ndarray
    first_frame: np.ndarray
    flags_fwd: np.ndarray
    flags_rev: np.ndarray
    state: np.ndarray
    answered: np.ndarray
    tun_type: np.ndarray
    tun_ver: np.ndarray
    tun_src_hi: np.ndarray
    tun_src_lo: np.ndarray
    tun_dst_hi: np.ndarray
    tun_dst_lo: np.ndarray
    file: np.ndarray
    files: tuple[str, ...] = ()
    names: dict[int, tuple[str, ...]] = field(default_factory=dict)  # row → evidence names
    tunnels: dict[int, tuple[str, ...]] = field(default_factory=dict)  # row → "gre A>B", …
    _cids: list[str] | None = field(default=None, repr=False, compare=False)
    _text: dict[tuple[int, int, int], str] = field(default_factory=dict, repr=False, compare=False)

    # -- construction ----------------------------------------------------------------
    @classmethod
    def empty(cls) -> FlowColumns:
        return cls(**{name: np.zeros(0, dtype=dt) for name, dt in COLUMNS})

    @classmethod
    def from_arrays(
        cls,
        arrays: Mapping[str, np.ndarray],
        files: Sequence[str],
        names: Mapping[int, Sequence[str]] | None = None,
        tunnels: Mapping[int, Sequence[str]] | None = None,
    ) -> FlowColumns:
        """Columns from arrays (cast to their dtypes); ``state`` and ``answered`` are
        computed from proto, packets and flags when not given."""
        cols = {name: np.asarray(arrays[name], dtype=dt) for name, dt in COLUMNS if name in arrays}
        if "state" not in cols or "answered" not in cols:
            state, ans = states_and_answered(
                cols["proto"], cols["pkts_fwd"], cols["pkts_rev"], cols["flags_fwd"],
                cols["flags_rev"],
            )  # fmt: skip
            cols.setdefault("state", state)
            cols.setdefault("answered", ans)
        return cls(
            **cols,
            files=tuple(files),
            names={int(k): tuple(v) for k, v in (names or {}).items() if v},
            tunnels={int(k): tuple(v) for k, v in (tunnels or {}).items() if v},
        )

    @classmethod
    def from_flows(cls, flows: Sequence[Flow]) -> FlowColumns:
        """Columns from ``Flow`` objects (the slow backends, merged tables, tests)."""
        files = list(dict.fromkeys(f.file for f in flows))
        file_index = {name: i for i, name in enumerate(files)}
        addr: dict[str, tuple[int, int, int]] = {}

        def split(text: str) -> tuple[int, int, int]:
            got = addr.get(text)
            if got is None:
                got = addr[text] = split_address(text)
            return got

        n = len(flows)
        out = {name: np.zeros(n, dtype=dt) for name, dt in COLUMNS}
        names: dict[int, tuple[str, ...]] = {}
        tunnels: dict[int, tuple[str, ...]] = {}
        for i, f in enumerate(flows):
            ver, shi, slo = split(f.src)
            _, dhi, dlo = split(f.dst)
            row = {
                "ver": ver, "src_hi": shi, "src_lo": slo, "dst_hi": dhi, "dst_lo": dlo,
                "proto": f.proto, "sport": -1 if f.sport is None else f.sport,
                "dport": -1 if f.dport is None else f.dport,
                "vlan": -1 if f.vlan is None else f.vlan, "pkts_fwd": f.packets_fwd,
                "pkts_rev": f.packets_rev, "bytes_fwd": f.bytes_fwd, "bytes_rev": f.bytes_rev,
                "first_ns": f.first_ns, "last_ns": f.last_ns, "first_frame": f.first_frame,
                "flags_fwd": f.tcp_flags_fwd & 0xFF, "flags_rev": f.tcp_flags_rev & 0xFF,
                "file": file_index[f.file],
            }  # fmt: skip
            if f.tunnel:
                kind, _, ends = f.tunnel[0].partition(" ")
                outer_src, _, outer_dst = ends.partition(">")
                tver, tshi, tslo = split(outer_src)
                _, tdhi, tdlo = split(outer_dst)
                row.update(
                    tun_type=TUNNEL_CODES.get(kind, 0), tun_ver=tver, tun_src_hi=tshi,
                    tun_src_lo=tslo, tun_dst_hi=tdhi, tun_dst_lo=tdlo,
                )  # fmt: skip
                tunnels[i] = tuple(f.tunnel)
            if f.names:
                names[i] = tuple(f.names)
            for name, value in row.items():
                out[name][i] = value
        del out["state"], out["answered"]
        cols = cls.from_arrays(out, files, names, tunnels)
        cols._cids = [f.community_id for f in flows] if all(f.community_id for f in flows) else None
        return cols

    # -- access ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.proto)

    def arrays(self) -> dict[str, np.ndarray]:
        """The per-row arrays by column name."""
        return {name: getattr(self, name) for name in COLUMN_NAMES}

    def src_text(self, i: int) -> str:
        return address_text(int(self.ver[i]), int(self.src_hi[i]), int(self.src_lo[i]), self._text)

    def dst_text(self, i: int) -> str:
        return address_text(int(self.ver[i]), int(self.dst_hi[i]), int(self.dst_lo[i]), self._text)

    def state_name(self, i: int) -> str:
        return CONN_STATES[int(self.state[i])]

    def community_id(self, i: int) -> str:
        """Community ID v1 (seed 0) of row ``i``."""
        if self._cids is not None:
            return self._cids[i]
        ver = int(self.ver[i])
        sport, dport = int(self.sport[i]), int(self.dport[i])
        return community_id_packed(
            packed(ver, int(self.src_hi[i]), int(self.src_lo[i])),
            packed(ver, int(self.dst_hi[i]), int(self.dst_lo[i])),
            int(self.proto[i]),
            None if sport < 0 else sport,
            None if dport < 0 else dport,
        )

    def community_id_array(self) -> np.ndarray:
        """Community IDs of every row as ASCII bytes (``S30``), computed in one compiled
        batch (segverify.flows.community_batch)."""
        if self._cids is not None:
            return np.array(self._cids, dtype="S30")
        from segverify.flows.community_batch import community_id_array

        return community_id_array(
            self.ver, self.src_hi, self.src_lo, self.dst_hi, self.dst_lo, self.proto,
            self.sport, self.dport,
        )  # fmt: skip

    def community_ids(self) -> list[str]:
        """Community IDs of every row as text (computed once in a batch, then cached)."""
        if self._cids is None:
            self._cids = self.community_id_array().astype("U30").tolist()
        return self._cids

    def flow(self, i: int) -> Flow:
        """Row ``i`` as a ``Flow`` object."""
        sport, dport, vlan = int(self.sport[i]), int(self.dport[i]), int(self.vlan[i])
        return Flow(
            src=self.src_text(i),
            dst=self.dst_text(i),
            proto=int(self.proto[i]),
            sport=None if sport < 0 else sport,
            dport=None if dport < 0 else dport,
            packets_fwd=int(self.pkts_fwd[i]),
            bytes_fwd=int(self.bytes_fwd[i]),
            packets_rev=int(self.pkts_rev[i]),
            bytes_rev=int(self.bytes_rev[i]),
            first_ns=int(self.first_ns[i]),
            last_ns=int(self.last_ns[i]),
            first_frame=int(self.first_frame[i]),
            file=self.files[int(self.file[i])] if len(self.files) else "",
            vlan=None if vlan < 0 else vlan,
            tcp_flags_fwd=int(self.flags_fwd[i]),
            tcp_flags_rev=int(self.flags_rev[i]),
            community_id=self.community_id(i),
            names=self.names.get(i, ()),
            tunnel=self.tunnels.get(i, ()),
        )

    def iter_flows(self) -> Iterator[Flow]:
        for i in range(len(self)):
            yield self.flow(i)

    def take(self, rows: np.ndarray) -> FlowColumns:
        """A new table of the given rows (indices or a boolean mask), in that order."""
        idx = np.arange(len(self))[rows] if np.asarray(rows).dtype == bool else np.asarray(rows)
        where = {int(old): new for new, old in enumerate(idx.tolist())}
        cols = FlowColumns(
            **{name: getattr(self, name)[idx] for name in COLUMN_NAMES},
            files=self.files,
            names={where[k]: v for k, v in self.names.items() if k in where},
            tunnels={where[k]: v for k, v in self.tunnels.items() if k in where},
        )
        if self._cids is not None:
            cols._cids = [self._cids[int(j)] for j in idx.tolist()]
        return cols

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_text"] = {}
        return state
