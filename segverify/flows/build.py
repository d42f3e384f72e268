"""Turning the compiled flow table into ``Flow`` objects, oriented initiator → responder.

Initiator: the sender of the first TCP SYN without ACK; otherwise the sender of the first
packet seen.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence

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
    S_VLAN,
    FlowState,
)
from segverify.flows.community_id import community_id_packed
from segverify.flows.model import Flow

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


def initiator_is_a(syn_a: int, syn_b: int, first_a: int, first_b: int) -> bool:
    """True when endpoint ``a`` initiated (frames are -1 when absent)."""
    if syn_a >= 0 or syn_b >= 0:
        return syn_b < 0 or (syn_a >= 0 and syn_a < syn_b)
    return first_b < 0 or (first_a >= 0 and first_a < first_b)


_FLOW_NEW = object.__new__


def _flow(**fields: object) -> Flow:
    """``Flow(**fields)`` without the frozen-dataclass ``__init__`` (one ``object.__setattr__``
    per field): several times faster for the many flows of a large capture. Every field is
    passed, so the result equals the normal construction."""
    flow = _FLOW_NEW(Flow)
    flow.__dict__.update(fields)
    return flow


def build_flows(
    state: FlowState,
    file: str,
    names: Mapping[int, Sequence[str]],
    tunnels: Mapping[int, Sequence[str]],
) -> list[Flow]:
    n = state.nflows
    keys = state.keys[:n].tolist()
    stats = state.stats[:n].tolist()
    # both addresses of every flow as 32 big-endian bytes, in one conversion
    raw = state.keys[:n, [K_A_HI, K_A_LO, K_B_HI, K_B_LO]].astype(">i8").tobytes()
    text = AddressText()
    flows: list[Flow] = []
    for f in range(n):
        k = keys[f]
        st = stats[f]
        base = f * 32
        if k[K_VER] == 4:
            a, b = raw[base + 12 : base + 16], raw[base + 28 : base + 32]
        else:
            a, b = raw[base : base + 16], raw[base + 16 : base + 32]
        ap = k[K_A_PORT] if k[K_A_PORT] >= 0 else None
        bp = k[K_B_PORT] if k[K_B_PORT] >= 0 else None
        proto = k[K_PROTO]
        fa, fb = st[S_FIRST_FRAME], st[S_FIRST_FRAME + 1]
        first = fa if fb < 0 or (0 <= fa < fb) else fb
        if initiator_is_a(st[S_SYN_FRAME], st[S_SYN_FRAME + 1], fa, fb):
            src, dst, sport, dport, fwd, rev = a, b, ap, bp, 0, 1
        else:
            src, dst, sport, dport, fwd, rev = b, a, bp, ap, 1, 0
        flows.append(
            _flow(
                src=text(src),
                dst=text(dst),
                proto=proto,
                sport=sport,
                dport=dport,
                packets_fwd=st[S_PKTS + fwd],
                bytes_fwd=st[S_BYTES + fwd],
                packets_rev=st[S_PKTS + rev],
                bytes_rev=st[S_BYTES + rev],
                first_ns=st[S_FIRST_NS],
                last_ns=st[S_LAST_NS],
                first_frame=first,
                file=file,
                vlan=st[S_VLAN] if st[S_VLAN] >= 0 else None,
                tcp_flags_fwd=st[S_FLAGS + fwd],
                tcp_flags_rev=st[S_FLAGS + rev],
                community_id=community_id_packed(src, dst, proto, sport, dport),
                names=tuple(names.get(f, ())),
                tunnel=tuple(tunnels.get(f, ())),
            )
        )
    return flows
