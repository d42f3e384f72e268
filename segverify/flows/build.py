"""Turning the compiled flow table into columns (FlowColumns), oriented initiator → responder.

Initiator: see :func:`initiator_is_a` (one rule for every backend).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence

import numpy as np

from segverify.flows.aggregate import (
    K_A_HI,
    K_A_LO,
    K_A_PORT,
    K_B_HI,
    K_B_LO,
    K_B_PORT,
    K_PROTO,
    K_VER,
    S_BYTES,
    S_FIRST_FRAME,
    S_FIRST_NS,
    S_FLAGS,
    S_LAST_NS,
    S_PKTS,
    S_SYN_FRAME,
    S_TUN,
    S_VLAN,
    FlowState,
)
from segverify.flows.columns import FlowColumns
from segverify.jit import kernel

MASK64 = (1 << 64) - 1


def packed_address(version: int, hi: int, lo: int) -> bytes:
    """4 or 16 address bytes from the two 64-bit halves the compiled pass stores."""
    if version == 4:
        return (lo & 0xFFFFFFFF).to_bytes(4, "big")
    return ((hi & MASK64) << 64 | (lo & MASK64)).to_bytes(16, "big")


class AddressText:
    """Cache of address → text (flows share endpoints)."""

    def __init__(self) -> None:
        self._seen: dict[bytes, str] = {}

    def __call__(self, packed: bytes) -> str:
        text = self._seen.get(packed)
        if text is None:
            if len(packed) == 4:
                text = socket.inet_ntoa(packed)
            else:
                text = socket.inet_ntop(socket.AF_INET6, packed)
                if "." in text:  # IPv4-mapped/compatible: keep ipaddress's spelling
                    text = str(ipaddress.IPv6Address(packed))
            self._seen[packed] = text
        return text


SERVER_PORT_BELOW = 1024  # well-known ports: the responder's side of a midstream flow


@kernel
def initiator_is_a(syn_a, syn_b, first_a, first_b, flags_a, flags_b, proto, port_a, port_b):  # type: ignore[no-untyped-def]
    """True when endpoint ``a`` initiated the flow (frames are -1 when absent), deciding
    by the first rule that applies, as Zeek orients connections:

    1. the sender of the first pure SYN (SYN without ACK);
    2. a SYN+ACK seen from one side only: the other side (the SYN was not captured);
    3. TCP/UDP with one port below 1024 and the other not: the other side (a midstream
       capture that starts with the server's packet);
    4. the sender of the first packet.
    """
    if syn_a >= 0 or syn_b >= 0:
        return syn_b < 0 or (syn_a >= 0 and syn_a < syn_b)
    sa = (flags_a & 0x02) != 0
    sb = (flags_b & 0x02) != 0
    if sa != sb:
        return sb
    if (proto == 6 or proto == 17) and port_a >= 0 and port_b >= 0:
        low_a = port_a < SERVER_PORT_BELOW
        low_b = port_b < SERVER_PORT_BELOW
        if low_a != low_b:
            return low_b
    return first_b < 0 or (first_a >= 0 and first_a < first_b)


@kernel(
    exports=(
        "boolean[::1](int64[:], int64[:], int64[:], int64[:], int64[:], int64[:], int64[:], int64[:], int64[:])",
    )
)
def initiators(syn_a, syn_b, first_a, first_b, flags_a, flags_b, proto, port_a, port_b):  # type: ignore[no-untyped-def]
    """``initiator_is_a`` over arrays (one bool per flow)."""
    n = len(syn_a)
    out = np.empty(n, dtype=np.bool_)
    for f in range(n):
        out[f] = initiator_is_a(
            syn_a[f], syn_b[f], first_a[f], first_b[f], flags_a[f], flags_b[f], proto[f],
            port_a[f], port_b[f],
        )  # fmt: skip
    return out


@kernel(exports=("none(int64[:, ::1], int64[:, ::1], int64, int64[:, ::1], int64[:, ::1])",))
def _orient(keys, stats, n, addr, ints):  # type: ignore[no-untyped-def]
    """One pass over the table: ``addr`` (8, n) src/dst and tunnel address halves,
    ``ints`` (16, n) the integer columns of ``INT_COLUMNS``: one contiguous row per
    column, so each column is used as it is (no strided views, no copies)."""
    for f in range(n):
        fa = stats[f, S_FIRST_FRAME]
        fb = stats[f, S_FIRST_FRAME + 1]
        a = initiator_is_a(
            stats[f, S_SYN_FRAME], stats[f, S_SYN_FRAME + 1], fa, fb, stats[f, S_FLAGS],
            stats[f, S_FLAGS + 1], keys[f, K_PROTO], keys[f, K_A_PORT], keys[f, K_B_PORT],
        )  # fmt: skip
        i, r = (0, 1) if a else (1, 0)
        if a:
            addr[0, f], addr[1, f] = keys[f, K_A_HI], keys[f, K_A_LO]
            addr[2, f], addr[3, f] = keys[f, K_B_HI], keys[f, K_B_LO]
            ints[2, f], ints[3, f] = keys[f, K_A_PORT], keys[f, K_B_PORT]
        else:
            addr[0, f], addr[1, f] = keys[f, K_B_HI], keys[f, K_B_LO]
            addr[2, f], addr[3, f] = keys[f, K_A_HI], keys[f, K_A_LO]
            ints[2, f], ints[3, f] = keys[f, K_B_PORT], keys[f, K_A_PORT]
        for c in range(4):
            addr[4 + c, f] = stats[f, S_TUN + 1 + c]
        ints[0, f] = keys[f, K_VER]
        ints[1, f] = keys[f, K_PROTO]
        ints[4, f] = stats[f, S_VLAN]
        ints[5, f] = stats[f, S_PKTS + i]
        ints[6, f] = stats[f, S_PKTS + r]
        ints[7, f] = stats[f, S_BYTES + i]
        ints[8, f] = stats[f, S_BYTES + r]
        ints[9, f] = stats[f, S_FIRST_NS]
        ints[10, f] = stats[f, S_LAST_NS]
        ints[11, f] = fa if fb < 0 or (0 <= fa < fb) else fb
        ints[12, f] = stats[f, S_FLAGS + i] & 0xFF
        ints[13, f] = stats[f, S_FLAGS + r] & 0xFF
        ints[14, f] = stats[f, S_TUN] & 0xFF
        ints[15, f] = stats[f, S_TUN] >> 8


ADDR_COLUMNS = ("src_hi", "src_lo", "dst_hi", "dst_lo", "tun_src_hi", "tun_src_lo",
                "tun_dst_hi", "tun_dst_lo")  # fmt: skip
INT_COLUMNS = ("ver", "proto", "sport", "dport", "vlan", "pkts_fwd", "pkts_rev", "bytes_fwd",
               "bytes_rev", "first_ns", "last_ns", "first_frame", "flags_fwd", "flags_rev",
               "tun_type", "tun_ver")  # fmt: skip


def oriented_frames(state: FlowState) -> dict[str, np.ndarray]:
    """Per flow, in the order and orientation of ``build_columns``: the frame of the first
    pure SYN sent by the source and by the destination (``syn_fwd``, ``syn_rev``) and of
    the first packet of each (``first_fwd``, ``first_rev``); -1 when none. What
    ``initiator_is_a`` decided from, kept so that tables of consecutive parts of one file
    can be oriented again as one (``segverify.distributed``)."""
    n = state.nflows
    k = state.keys[:n]
    st = state.stats[:n]
    syn_a, syn_b = st[:, S_SYN_FRAME], st[:, S_SYN_FRAME + 1]
    fa, fb = st[:, S_FIRST_FRAME], st[:, S_FIRST_FRAME + 1]
    a_init = state.kernels(initiators)(
        syn_a, syn_b, fa, fb, st[:, S_FLAGS], st[:, S_FLAGS + 1], k[:, K_PROTO],
        k[:, K_A_PORT], k[:, K_B_PORT],
    )  # fmt: skip
    return {
        "syn_fwd": np.where(a_init, syn_a, syn_b),
        "syn_rev": np.where(a_init, syn_b, syn_a),
        "first_fwd": np.where(a_init, fa, fb),
        "first_rev": np.where(a_init, fb, fa),
    }


def build_columns(
    state: FlowState,
    file: str,
    names: Mapping[int, Sequence[str]],
    tunnels: Mapping[int, Sequence[str]],
) -> FlowColumns:
    """The compiled table as columns, oriented initiator → responder, in one compiled pass."""
    n = state.nflows
    addr = np.empty((len(ADDR_COLUMNS), n), dtype=np.int64)
    ints = np.empty((len(INT_COLUMNS), n), dtype=np.int64)
    state.kernels(_orient)(state.keys, state.stats, n, addr, ints)
    addr_u = addr.view(np.uint64)
    arrays: dict[str, np.ndarray] = {name: addr_u[c] for c, name in enumerate(ADDR_COLUMNS)}
    arrays.update({name: ints[c] for c, name in enumerate(INT_COLUMNS)})
    arrays["file"] = np.zeros(n, dtype=np.int32)
    return FlowColumns.from_arrays(arrays, [file], names, tunnels)
