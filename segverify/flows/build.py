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


def initiator_is_a(
    syn_a: np.ndarray,
    syn_b: np.ndarray,
    first_a: np.ndarray,
    first_b: np.ndarray,
    flags_a: np.ndarray,
    flags_b: np.ndarray,
    proto: np.ndarray,
    port_a: np.ndarray,
    port_b: np.ndarray,
) -> np.ndarray:
    """True where endpoint ``a`` initiated the flow (frames are -1 when absent), deciding
    by the first rule that applies, as Zeek orients connections:

    1. the sender of the first pure SYN (SYN without ACK);
    2. a SYN+ACK seen from one side only: the other side (the SYN was not captured);
    3. TCP/UDP with one port below 1024 and the other not: the other side (a midstream
       capture that starts with the server's packet);
    4. the sender of the first packet.
    """
    any_syn = (syn_a >= 0) | (syn_b >= 0)
    by_syn = (syn_b < 0) | ((syn_a >= 0) & (syn_a < syn_b))
    sa = (flags_a & 0x02) != 0
    sb = (flags_b & 0x02) != 0
    ported = ((proto == 6) | (proto == 17)) & (port_a >= 0) & (port_b >= 0)
    low_a = port_a < SERVER_PORT_BELOW
    low_b = port_b < SERVER_PORT_BELOW
    by_port = ported & (low_a != low_b)
    by_first = (first_b < 0) | ((first_a >= 0) & (first_a < first_b))
    return np.where(
        any_syn,
        by_syn,
        np.where(sa != sb, sb, np.where(by_port, low_b, by_first)),
    )


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
    a_init = initiator_is_a(
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
    """The compiled table as columns, oriented initiator → responder (no per-flow loop)."""
    n = state.nflows
    k = state.keys[:n]
    st = state.stats[:n]
    syn_a, syn_b = st[:, S_SYN_FRAME], st[:, S_SYN_FRAME + 1]
    fa, fb = st[:, S_FIRST_FRAME], st[:, S_FIRST_FRAME + 1]
    a_init = initiator_is_a(
        syn_a, syn_b, fa, fb, st[:, S_FLAGS], st[:, S_FLAGS + 1], k[:, K_PROTO],
        k[:, K_A_PORT], k[:, K_B_PORT],
    )  # fmt: skip
    fwd = np.where(a_init, 0, 1)
    rev = 1 - fwd
    rows = np.arange(n)

    def pick(col_a: int, col_b: int, initiator: bool) -> np.ndarray:
        cond = a_init if initiator else ~a_init
        return np.where(cond, k[:, col_a], k[:, col_b])

    tun = st[:, S_TUN : S_TUN + 5]
    arrays = {
        "ver": k[:, K_VER],
        "src_hi": pick(K_A_HI, K_B_HI, True).view(np.uint64),
        "src_lo": pick(K_A_LO, K_B_LO, True).view(np.uint64),
        "dst_hi": pick(K_A_HI, K_B_HI, False).view(np.uint64),
        "dst_lo": pick(K_A_LO, K_B_LO, False).view(np.uint64),
        "proto": k[:, K_PROTO],
        "sport": pick(K_A_PORT, K_B_PORT, True),
        "dport": pick(K_A_PORT, K_B_PORT, False),
        "vlan": st[:, S_VLAN],
        "pkts_fwd": st[rows, S_PKTS + fwd],
        "pkts_rev": st[rows, S_PKTS + rev],
        "bytes_fwd": st[rows, S_BYTES + fwd],
        "bytes_rev": st[rows, S_BYTES + rev],
        "first_ns": st[:, S_FIRST_NS],
        "last_ns": st[:, S_LAST_NS],
        "first_frame": np.where((fb < 0) | ((fa >= 0) & (fa < fb)), fa, fb),
        "flags_fwd": st[rows, S_FLAGS + fwd] & 0xFF,
        "flags_rev": st[rows, S_FLAGS + rev] & 0xFF,
        "tun_type": tun[:, 0] & 0xFF,
        "tun_ver": tun[:, 0] >> 8,
        "tun_src_hi": tun[:, 1].view(np.uint64),
        "tun_src_lo": tun[:, 2].view(np.uint64),
        "tun_dst_hi": tun[:, 3].view(np.uint64),
        "tun_dst_lo": tun[:, 4].view(np.uint64),
        "file": np.zeros(n, dtype=np.int32),
    }
    return FlowColumns.from_arrays(arrays, [file], names, tunnels)
