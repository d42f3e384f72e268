"""Ethernet II with 802.1Q / 802.1ad (QinQ) tags, MPLS label stacks (IP, or an Ethernet
pseudowire with a control word), PPPoE sessions,
802.1ah (PBB), Cisco FabricPath and VN-Tag, and 802.2 LLC/SNAP, down to the IP packet
(compiled)."""

from __future__ import annotations

from segverify.capture.status import (
    BAD,
    KIND_ETHERNET,
    KIND_IPV4,
    KIND_IPV6,
    KIND_NONE,
    NON_IP,
    OK,
    SHORT,
)
from segverify.capture.wire import be16
from segverify.jit import kernel

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_MPLS_UC = 0x8847
ETH_MPLS_MC = 0x8848
ETH_PPPOE_SESSION = 0x8864
ETH_PBB = 0x88E7
ETH_FABRICPATH = 0x8903
ETH_VNTAG = 0x8926
PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057
MAX_LAYERS = 64


@kernel
def ethertype_payload(buf, p, end, et, vlan):  # type: ignore[no-untyped-def]
    """Follow an EtherType at offset ``p``: returns (status, kind, offset, vlan)."""
    for _ in range(MAX_LAYERS):
        if et == ETH_IPV4:
            return OK, KIND_IPV4, p, vlan
        if et == ETH_IPV6:
            return OK, KIND_IPV6, p, vlan
        if et == 0x8100 or et == 0x88A8 or et == 0x9100 or et == 0x9200:
            if p + 4 > end:
                return SHORT, KIND_NONE, p, vlan
            if vlan < 0:
                vlan = be16(buf, p) & 0x0FFF
            et = be16(buf, p + 2)
            p += 4
            continue
        if et in (ETH_MPLS_UC, ETH_MPLS_MC):
            while True:
                if p + 4 > end:
                    return SHORT, KIND_NONE, p, vlan
                bottom = buf[p + 2] & 0x01
                p += 4
                if bottom:
                    break
            if p + 1 > end:
                return SHORT, KIND_NONE, p, vlan
            nib = buf[p] >> 4
            if nib == 4:
                return OK, KIND_IPV4, p, vlan
            if nib == 6:
                return OK, KIND_IPV6, p, vlan
            if nib == 0:  # pseudowire control word (RFC 4385), then an Ethernet frame
                if p + 4 + 14 > end:
                    return SHORT, KIND_NONE, p, vlan
                return OK, KIND_ETHERNET, p + 4, vlan
            return NON_IP, KIND_NONE, p, vlan
        if et == ETH_PPPOE_SESSION:
            if p + 8 > end:
                return SHORT, KIND_NONE, p, vlan
            proto = be16(buf, p + 6)
            p += 8
            if proto == PPP_IPV4:
                return OK, KIND_IPV4, p, vlan
            if proto == PPP_IPV6:
                return OK, KIND_IPV6, p, vlan
            return NON_IP, KIND_NONE, p, vlan
        if et == ETH_PBB:
            # I-TAG (4 bytes), then a customer Ethernet header
            if p + 18 > end:
                return SHORT, KIND_NONE, p, vlan
            et = be16(buf, p + 16)
            p += 18
            continue
        if et == ETH_VNTAG:  # Cisco VN-Tag: 4 bytes, then the next EtherType
            if p + 6 > end:
                return SHORT, KIND_NONE, p, vlan
            et = be16(buf, p + 4)
            p += 6
            continue
        if et == ETH_FABRICPATH:
            # FTag/TTL (2 bytes), then the classical Ethernet frame
            if p + 16 > end:
                return SHORT, KIND_NONE, p, vlan
            et = be16(buf, p + 14)
            p += 16
            continue
        return NON_IP, KIND_NONE, p, vlan
    return BAD, KIND_NONE, p, vlan


@kernel
def llc_snap(buf, p, end, vlan):  # type: ignore[no-untyped-def]
    """An 802.2 LLC header at ``p``: SNAP with an EtherType is followed, anything else
    is not IP."""
    if p + 3 > end:
        return SHORT, KIND_NONE, p, vlan
    if buf[p] == 0xAA and buf[p + 1] == 0xAA and buf[p + 2] == 0x03:
        if p + 8 > end:
            return SHORT, KIND_NONE, p, vlan
        return ethertype_payload(buf, p + 8, end, be16(buf, p + 6), vlan)
    return NON_IP, KIND_NONE, p, vlan


@kernel
def ethernet(buf, p, end, vlan):  # type: ignore[no-untyped-def]
    """An Ethernet frame at ``p``: returns (status, kind, offset of the payload, vlan)."""
    if p + 14 > end:
        return SHORT, KIND_NONE, p, vlan
    et = be16(buf, p + 12)
    if et < 0x0600:  # 802.3 length field: an LLC header follows
        return llc_snap(buf, p + 14, end, vlan)
    return ethertype_payload(buf, p + 14, end, et, vlan)
