"""Flow aggregation of decoded rows into an open-addressing hash table (compiled).

The table lives across chunks, so per-chunk aggregates merge as they are made; its size
follows the number of flows, never the number of packets. Keys are canonical (endpoint
``a`` is the smaller (address, port)); statistics are kept per direction (0: a→b,
1: b→a) and oriented initiator → responder only when flows are built.
"""

from __future__ import annotations

import numpy as np

from segverify.flows.rows import (
    BUCKET,
    BUCKET_ANALYSED,
    CAND,
    DPORT,
    DST_HI,
    DST_LO,
    FLAGS,
    FLOW,
    FRAME,
    PAY_LEN,
    PROTO,
    SPORT,
    SRC_HI,
    SRC_LO,
    T1TYPE,
    TDEPTH,
    TS,
    VER,
    VLAN,
    WIRELEN,
)
from segverify.jit import PLAIN, Kernels, kernel
from segverify.pages import Populator

# key columns
K_VER, K_A_HI, K_A_LO, K_B_HI, K_B_LO, K_PROTO, K_A_PORT, K_B_PORT = range(8)
NKEY = 8
# statistic columns (per direction d: base + d)
S_PKTS = 0
S_BYTES = 2
S_FIRST_FRAME = 4  # -1 when no packet in that direction
S_SYN_FRAME = 6  # first SYN without ACK, -1 when none
S_FLAGS = 8
S_FIRST_NS = 10
S_LAST_NS = 11
S_VLAN = 12  # VLAN of the first packet
S_NCAND = 13  # payloads already picked for name extraction
S_TUN = 14  # outermost tunnel of the first tunnelled packet: type | ver << 8, src hi/lo,
NTUN = 5  # dst hi/lo (the T1* row columns); type 0 when the flow was never tunnelled
S_DATA = 19  # TCP segments with payload seen per direction
S_REASM = 21  # segments picked for reassembly per direction (0: the direction is not
NSTAT = 23  # reassembled: its first data segment could not carry a name)
# candidate flags (third column of ``cand_out``): direction | NAMES | REASM
CAND_NAMES = 2  # extract names from this payload
CAND_REASM = 4  # keep this payload for the reassembly of its direction
EMPTY = -1
TCP = 6


@kernel(inline=True)
def _mix(h, v):  # type: ignore[no-untyped-def]
    h ^= np.uint64(v)
    h *= np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(29)
    return h


@kernel
def _hash(keys, f):  # type: ignore[no-untyped-def]
    h = np.uint64(0xCBF29CE484222325)
    for c in range(NKEY):
        h = _mix(h, keys[f, c])
    return h


@kernel(exports=("none(int64[:, ::1], int64, int64[::1])",))
def rehash(keys, nflows, slots):  # type: ignore[no-untyped-def]
    """Rebuild the slot table (all EMPTY on entry) for ``nflows`` keys."""
    mask = np.uint64(len(slots) - 1)
    for f in range(nflows):
        s = _hash(keys, f) & mask
        while slots[s] != EMPTY:
            s = (s + np.uint64(1)) & mask
        slots[s] = f


@kernel(
    exports=(
        "UniTuple(int64, 2)(int64[:, ::1], int64, int64[:, ::1], int64[:, ::1], int64[::1], int64, int64[:, ::1], int64, int64)",
    )
)
def aggregate(rows, n, keys, stats, slots, nflows, cand_out, max_cand, max_reasm):  # type: ignore[no-untyped-def]
    """Add rows[:n] to the table. The caller guarantees rows for ``n`` new flows and a
    slot table (a power of two) of at least twice ``nflows + n`` slots. Returns (flows, candidates picked); each
    candidate is (row, flow, direction | CAND_NAMES | CAND_REASM) in ``cand_out``: the
    first ``max_cand`` name candidates of each flow, and the first ``max_reasm`` data
    segments of each TCP direction whose first data segment was a name candidate."""
    mask = np.uint64(len(slots) - 1)
    nc = 0
    probe = np.empty(NKEY, dtype=np.int64)
    for i in range(n):
        if rows[i, BUCKET] != BUCKET_ANALYSED:
            continue
        sh = rows[i, SRC_HI]
        sl = rows[i, SRC_LO]
        sp = rows[i, SPORT]
        dh = rows[i, DST_HI]
        dl = rows[i, DST_LO]
        dp = rows[i, DPORT]
        if sh < dh or (sh == dh and (sl < dl or (sl == dl and sp <= dp))):
            d = 0
            probe[1] = sh
            probe[2] = sl
            probe[3] = dh
            probe[4] = dl
            probe[6] = sp
            probe[7] = dp
        else:
            d = 1
            probe[1] = dh
            probe[2] = dl
            probe[3] = sh
            probe[4] = sl
            probe[6] = dp
            probe[7] = sp
        probe[0] = rows[i, VER]
        probe[5] = rows[i, PROTO]
        h = np.uint64(0xCBF29CE484222325)
        for c in range(NKEY):
            h = _mix(h, probe[c])
        s = h & mask
        while True:
            f = slots[s]
            if f == EMPTY:
                f = nflows
                nflows += 1
                slots[s] = f
                for c in range(NKEY):
                    keys[f, c] = probe[c]
                stats[f, S_PKTS] = 0
                stats[f, S_PKTS + 1] = 0
                stats[f, S_BYTES] = 0
                stats[f, S_BYTES + 1] = 0
                stats[f, S_FIRST_FRAME] = -1
                stats[f, S_FIRST_FRAME + 1] = -1
                stats[f, S_SYN_FRAME] = -1
                stats[f, S_SYN_FRAME + 1] = -1
                stats[f, S_FLAGS] = 0
                stats[f, S_FLAGS + 1] = 0
                stats[f, S_FIRST_NS] = rows[i, TS]
                stats[f, S_LAST_NS] = rows[i, TS]
                stats[f, S_VLAN] = rows[i, VLAN]
                stats[f, S_NCAND] = 0
                for c in range(NTUN):
                    stats[f, S_TUN + c] = 0
                for c in range(4):
                    stats[f, S_DATA + c] = 0
                break
            same = True
            for c in range(NKEY):
                if keys[f, c] != probe[c]:
                    same = False
                    break
            if same:
                break
            s = (s + np.uint64(1)) & mask
        frame = rows[i, FRAME]
        ts = rows[i, TS]
        f0 = stats[f, S_FIRST_FRAME]
        f1 = stats[f, S_FIRST_FRAME + 1]
        if (f0 < 0 or frame < f0) and (f1 < 0 or frame < f1):
            stats[f, S_VLAN] = rows[i, VLAN]
        stats[f, S_PKTS + d] += 1
        stats[f, S_BYTES + d] += rows[i, WIRELEN]
        ff = stats[f, S_FIRST_FRAME + d]
        if ff < 0 or frame < ff:
            stats[f, S_FIRST_FRAME + d] = frame
        fl = rows[i, FLAGS] & 0xFF  # the flag byte (the TCP header length sits above)
        stats[f, S_FLAGS + d] |= fl
        if probe[5] == TCP and (fl & 0x12) == 0x02:
            sf = stats[f, S_SYN_FRAME + d]
            if sf < 0 or frame < sf:
                stats[f, S_SYN_FRAME + d] = frame
        if ts < stats[f, S_FIRST_NS]:
            stats[f, S_FIRST_NS] = ts
        if ts > stats[f, S_LAST_NS]:
            stats[f, S_LAST_NS] = ts
        if rows[i, TDEPTH] > 0 and stats[f, S_TUN] == 0:
            for c in range(NTUN):
                stats[f, S_TUN + c] = rows[i, T1TYPE + c]
        rows[i, FLOW] = f
        pick = 0
        if rows[i, CAND] and stats[f, S_NCAND] < max_cand:
            stats[f, S_NCAND] += 1
            pick = CAND_NAMES
        if probe[5] == TCP and rows[i, PAY_LEN] > 0:
            nd = stats[f, S_DATA + d]
            stats[f, S_DATA + d] = nd + 1
            nr = stats[f, S_REASM + d]
            if nd == 0 and rows[i, CAND] and max_reasm > 0:
                stats[f, S_REASM + d] = 1
                pick |= CAND_REASM
            elif 0 < nr < max_reasm:
                stats[f, S_REASM + d] = nr + 1
                pick |= CAND_REASM
        if pick:
            cand_out[nc, 0] = i
            cand_out[nc, 1] = f
            cand_out[nc, 2] = d | pick
            nc += 1
    return nflows, nc


# flows reserved up front at most (~0.5 GB of address space, pages touched only when used)
MAX_ROWS_HINT = 1 << 21


class FlowState:
    """The growing flow table of one file: canonical keys and per-direction statistics.

    Rows (``keys``, ``stats``) and the slot table grow apart: rows are allocated without
    being written (``np.empty``), so a generous capacity (:meth:`expect`) costs address
    space, not memory, and spares the copies of doubling; the slot table (written whole)
    follows the flows actually seen, at least twice their number."""

    def __init__(self, kernels: Kernels = PLAIN, capacity: int = 1024) -> None:
        self.kernels = kernels
        self.nflows = 0
        self.keys = np.zeros((capacity, NKEY), dtype=np.int64)
        self.stats = np.zeros((capacity, NSTAT), dtype=np.int64)
        self.slots = np.full(capacity * 2, EMPTY, dtype=np.int64)
        self.populated = 0  # rows of ``populated_of`` (``keys`` then) faulted in ahead
        self.populated_of: np.ndarray | None = None

    def expect(self, flows: int) -> None:
        """Reserve rows for about ``flows`` flows (a hint, bounded by
        :data:`MAX_ROWS_HINT`); more still fit, by doubling."""
        self._grow_rows(min(flows, MAX_ROWS_HINT))

    def _grow_rows(self, need: int) -> None:
        cap = len(self.keys)
        if need <= cap:
            return
        cap = max(need, 2 * cap)
        # rows past ``nflows`` are written whole by ``aggregate`` when a flow takes them:
        # no zeroing (and no page touched) for capacity never used
        keys = np.empty((cap, NKEY), dtype=np.int64)
        stats = np.empty((cap, NSTAT), dtype=np.int64)
        keys[: self.nflows] = self.keys[: self.nflows]
        stats[: self.nflows] = self.stats[: self.nflows]
        self.keys, self.stats = keys, stats

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more flows."""
        need = self.nflows + extra
        self._grow_rows(need)
        size = len(self.slots)
        if 2 * need <= size:
            return
        while size < 2 * need:
            size *= 2
        self.slots = np.full(size, EMPTY, dtype=np.int64)
        self.kernels(rehash)(self.keys, self.nflows, self.slots)

    def populate_ahead(self, populator: Populator, rows: int) -> None:
        """Fault in the pages of the next ``rows`` unused rows of ``keys`` and ``stats``
        (from a thread that has nothing else to do; see :mod:`segverify.pages`)."""
        keys, stats = self.keys, self.stats  # the arrays of now, should they grow meanwhile
        done = self.populated if self.populated_of is keys else 0
        upto = min(len(keys), self.nflows + rows)
        if upto <= done:
            return
        populator.populate(keys, done * keys.strides[0], upto * keys.strides[0])
        populator.populate(stats, done * stats.strides[0], upto * stats.strides[0])
        self.populated, self.populated_of = upto, keys

    def add(
        self, rows: np.ndarray, n: int, cand_out: np.ndarray, max_cand: int, max_reasm: int
    ) -> int:
        """Aggregate ``rows[:n]``; returns how many candidates were picked."""
        self.reserve(n)
        self.nflows, nc = self.kernels(aggregate)(
            rows, n, self.keys, self.stats, self.slots, self.nflows, cand_out, max_cand,
            max_reasm,
        )  # fmt: skip
        return int(nc)
