"""Tunnels that carry mirrored traffic: GRE (with ERSPAN I/II/III, Aruba WLAN and PPTP's
enhanced GRE), VXLAN and Geneve (compiled). Each returns (ok, kind of the inner packet, its offset,
tunnel type); ``ok`` False leaves the packet on its outer flow."""

from __future__ import annotations

import numpy as np

from segverify.capture.status import (
    KIND_ETHERNET,
    KIND_IEEE80211,
    KIND_IPV4,
    KIND_IPV6,
    KIND_NONE,
)
from segverify.capture.wire import be16
from segverify.flows.rows import TUNNEL_ERSPAN, TUNNEL_GENEVE, TUNNEL_GRE, TUNNEL_VXLAN
from segverify.jit import kernel

GRE_IPV4 = 0x0800
GRE_IPV6 = 0x86DD
GRE_TEB = 0x6558  # transparent Ethernet bridging
GRE_ERSPAN_1_2 = 0x88BE
GRE_ERSPAN_3 = 0x22EB
GRE_PPP = 0x880B
GRE_ARUBA_FIRST = 0x8200  # Aruba WLAN: an 802.11 frame follows
GRE_ARUBA_LAST = 0x83FF
VXLAN_PORT = 4789
GENEVE_PORT = 6081


@kernel(inline=True)
def _by_ethertype(et):  # type: ignore[no-untyped-def]
    if et == GRE_IPV4:
        return KIND_IPV4
    if et == GRE_IPV6:
        return KIND_IPV6
    if et == GRE_TEB:
        return KIND_ETHERNET
    return KIND_NONE


@kernel
def gre(buf, q, limit):  # type: ignore[no-untyped-def]
    if q + 4 > limit:
        return False, KIND_NONE, q, 0
    flags = be16(buf, q)
    version = flags & 0x7
    proto = be16(buf, q + 2)
    p = q + 4
    if version == 0:
        if flags & 0x8000 or flags & 0x4000:  # checksum / routing present: 4 bytes
            p += 4
        if flags & 0x2000:  # key
            p += 4
        has_seq = flags & 0x1000
        if has_seq:
            p += 4
        if p > limit:
            return False, KIND_NONE, q, 0
        if proto == GRE_ERSPAN_1_2:
            if not has_seq:  # ERSPAN type I: no ERSPAN header
                return p < limit, KIND_ETHERNET, p, TUNNEL_ERSPAN
            return p + 8 < limit, KIND_ETHERNET, p + 8, TUNNEL_ERSPAN
        if proto == GRE_ERSPAN_3:
            if p + 12 > limit:
                return False, KIND_NONE, q, 0
            hdr = 12
            if buf[p + 11] & 0x01:  # optional platform-specific subheader
                hdr += 8
            return p + hdr < limit, KIND_ETHERNET, p + hdr, TUNNEL_ERSPAN
        if GRE_ARUBA_FIRST <= proto <= GRE_ARUBA_LAST:
            return p < limit, KIND_IEEE80211, p, TUNNEL_GRE
        kind = _by_ethertype(proto)
        return kind != KIND_NONE and p < limit, kind, p, TUNNEL_GRE
    if version == 1 and proto == GRE_PPP:  # PPTP: key always, sequence, acknowledgement
        p += 4
        if flags & 0x1000:
            p += 4
        if flags & 0x0080:
            p += 4
        if p + 2 <= limit and buf[p] == 0xFF and buf[p + 1] == 0x03:
            p += 2
        if p + 2 > limit:
            return False, KIND_NONE, q, 0
        if buf[p] & 0x01:
            pp = np.int64(buf[p])
            p += 1
        else:
            pp = be16(buf, p)
            p += 2
        if pp == 0x21:
            return p < limit, KIND_IPV4, p, TUNNEL_GRE
        if pp == 0x57:
            return p < limit, KIND_IPV6, p, TUNNEL_GRE
    return False, KIND_NONE, q, 0


@kernel
def vxlan(buf, p, limit):  # type: ignore[no-untyped-def]
    """``p``: start of the UDP payload."""
    if p + 8 + 14 > limit or not (buf[p] & 0x08):
        return False, KIND_NONE, p, 0
    return True, KIND_ETHERNET, p + 8, TUNNEL_VXLAN


@kernel
def geneve(buf, p, limit):  # type: ignore[no-untyped-def]
    """``p``: start of the UDP payload."""
    if p + 8 > limit or buf[p] >> 6 != 0:
        return False, KIND_NONE, p, 0
    inner = p + 8 + (buf[p] & 0x3F) * 4
    kind = _by_ethertype(be16(buf, p + 2))
    return kind != KIND_NONE and inner < limit, kind, inner, TUNNEL_GENEVE
