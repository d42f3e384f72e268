"""Link-layer headers by pcap LINKTYPE, down to the network packet (compiled).

Supported: Ethernet (1), BSD null/loopback (0, 108), raw IP (12, 14, 101, 228, 229),
PPP (9, 50), FDDI (10), IEEE 802.11 plain and radiotap (105, 127), Linux cooked SLL (113)
and SLL2 (276), NFLOG (239); Cisco HDLC frames inside a null-link file are followed by
their EtherType. Anything else is an unsupported link type.
"""

from __future__ import annotations

import numpy as np

from segverify.capture.ethernet import ethernet, ethertype_payload, llc_snap
from segverify.capture.ieee80211 import ieee80211, radiotap
from segverify.capture.status import (
    BAD,
    KIND_IP_BY_VERSION,
    KIND_IPV4,
    KIND_IPV6,
    KIND_NONE,
    NON_IP,
    OK,
    SHORT,
    UNSUPPORTED,
)
from segverify.capture.wire import be16, be32, le16, le32
from segverify.jit import kernel

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_PPP = 9
LINKTYPE_FDDI = 10
LINKTYPE_RAW_BSD = 12
LINKTYPE_RAW_BSDOS = 14
LINKTYPE_PPP_HDLC = 50
LINKTYPE_RAW = 101
LINKTYPE_IEEE802_11 = 105
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IEEE802_11_RADIOTAP = 127
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_NFLOG = 239
LINKTYPE_LINUX_SLL2 = 276

SUPPORTED = frozenset({0, 1, 9, 10, 12, 14, 50, 101, 105, 108, 113, 127, 228, 229, 239, 276})

NFULA_PAYLOAD = 9


@kernel
def _null_family(fam):  # type: ignore[no-untyped-def]
    if fam == 2:
        return KIND_IPV4
    if fam == 10 or fam == 24 or fam == 28 or fam == 30:
        return KIND_IPV6
    return KIND_NONE


@kernel
def _ppp(buf, p, end):  # type: ignore[no-untyped-def]
    if p + 2 <= end and buf[p] == 0xFF and buf[p + 1] == 0x03:
        p += 2
    if p + 1 > end:
        return SHORT, KIND_NONE, p
    if buf[p] & 0x01:  # protocol field compressed to one byte
        proto = np.int64(buf[p])
        p += 1
    else:
        if p + 2 > end:
            return SHORT, KIND_NONE, p
        proto = be16(buf, p)
        p += 2
    if proto == 0x21:
        return OK, KIND_IPV4, p
    if proto == 0x57:
        return OK, KIND_IPV6, p
    return NON_IP, KIND_NONE, p


@kernel
def _nflog(buf, p, end):  # type: ignore[no-untyped-def]
    if p + 4 > end:
        return SHORT, KIND_NONE, p
    fam = buf[p]
    p += 4
    while p + 4 <= end:
        tlv_len = le16(buf, p)
        tlv_type = le16(buf, p + 2) & 0x7FFF
        if tlv_len < 4:  # an impossible TLV: the record is malformed, not "not IP"
            return BAD, KIND_NONE, p
        if tlv_type == NFULA_PAYLOAD:
            if fam == 2:
                return OK, KIND_IPV4, p + 4
            if fam == 10:
                return OK, KIND_IPV6, p + 4
            return OK, KIND_IP_BY_VERSION, p + 4
        if p + tlv_len > end:  # another TLV running past the record
            return SHORT, KIND_NONE, p
        p += (tlv_len + 3) & ~3
    if p < end:
        return SHORT, KIND_NONE, p
    return NON_IP, KIND_NONE, p


@kernel
def link_payload(buf, p, end, linktype):  # type: ignore[no-untyped-def]
    """Returns (status, kind, offset of the network packet, vlan)."""
    vlan = -1
    if linktype == LINKTYPE_ETHERNET:
        return ethernet(buf, p, end, vlan)
    if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_BSD, LINKTYPE_RAW_BSDOS):
        return OK, KIND_IP_BY_VERSION, p, vlan
    if linktype == LINKTYPE_IPV4:
        return OK, KIND_IPV4, p, vlan
    if linktype == LINKTYPE_IPV6:
        return OK, KIND_IPV6, p, vlan
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if p + 4 > end:
            return SHORT, KIND_NONE, p, vlan
        if linktype == LINKTYPE_LOOP:
            kind = _null_family(be32(buf, p))
        else:
            kind = _null_family(le32(buf, p))
            if kind == KIND_NONE:
                kind = _null_family(be32(buf, p))
        if kind == KIND_NONE:
            if (buf[p] == 0x0F or buf[p] == 0x8F) and buf[p + 1] == 0:
                # Cisco HDLC (address, control, EtherType) written into a null-link file
                return ethertype_payload(buf, p + 4, end, be16(buf, p + 2), vlan)
            return NON_IP, kind, p + 4, vlan
        return OK, kind, p + 4, vlan
    if linktype == LINKTYPE_LINUX_SLL:
        if p + 16 > end:
            return SHORT, KIND_NONE, p, vlan
        return ethertype_payload(buf, p + 16, end, be16(buf, p + 14), vlan)
    if linktype == LINKTYPE_LINUX_SLL2:
        if p + 20 > end:
            return SHORT, KIND_NONE, p, vlan
        return ethertype_payload(buf, p + 20, end, be16(buf, p), vlan)
    if linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC):
        st, kind, q = _ppp(buf, p, end)
        return st, kind, q, vlan
    if linktype == LINKTYPE_NFLOG:
        st, kind, q = _nflog(buf, p, end)
        return st, kind, q, vlan
    if linktype == LINKTYPE_FDDI:
        if p + 13 > end:
            return SHORT, KIND_NONE, p, vlan
        return llc_snap(buf, p + 13, end, vlan)
    if linktype == LINKTYPE_IEEE802_11:
        return ieee80211(buf, p, end)
    if linktype == LINKTYPE_IEEE802_11_RADIOTAP:
        return radiotap(buf, p, end)
    return UNSUPPORTED, KIND_NONE, p, vlan
