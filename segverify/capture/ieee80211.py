"""IEEE 802.11 data frames (optionally behind a radiotap header) down to LLC/SNAP
(compiled). Management, control and null-data frames are not IP; protected (encrypted)
data frames may carry IP and cannot be opened (OPAQUE); of an A-MSDU aggregate, the first
subframe is decoded."""

from __future__ import annotations

from segverify.capture.ethernet import llc_snap
from segverify.capture.status import KIND_NONE, NON_IP, OPAQUE, SHORT
from segverify.capture.wire import le16
from segverify.jit import kernel

TYPE_DATA = 2


@kernel
def ieee80211(buf, p, end):  # type: ignore[no-untyped-def]
    """Returns (status, kind, offset, vlan) like the other link decoders."""
    if p + 2 > end:
        return SHORT, KIND_NONE, p, -1
    fc0 = buf[p]
    fc1 = buf[p + 1]
    if (fc0 >> 2) & 0x3 != TYPE_DATA:
        return NON_IP, KIND_NONE, p, -1
    subtype = (fc0 >> 4) & 0xF
    if subtype & 0x4:  # null data: no body
        return NON_IP, KIND_NONE, p, -1
    if fc1 & 0x40:  # protected: its body may be IP, but it is encrypted
        return OPAQUE, KIND_NONE, p, -1
    hdr = 24
    if (fc1 & 0x03) == 0x03:  # ToDS and FromDS: fourth address
        hdr += 6
    amsdu = False
    if subtype & 0x8:  # QoS control
        if p + hdr + 2 > end:
            return SHORT, KIND_NONE, p, -1
        amsdu = (buf[p + hdr] & 0x80) != 0
        hdr += 2
        if fc1 & 0x80:  # +HTC
            hdr += 4
    if amsdu:  # A-MSDU: the first subframe (DA, SA, length) is decoded
        hdr += 14
    if p + hdr > end:
        return SHORT, KIND_NONE, p, -1
    return llc_snap(buf, p + hdr, end, -1)


@kernel
def radiotap(buf, p, end):  # type: ignore[no-untyped-def]
    if p + 4 > end:
        return SHORT, KIND_NONE, p, -1
    return ieee80211(buf, p + le16(buf, p + 2), end)
