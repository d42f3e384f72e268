"""IPv4 and IPv6 headers, IPv6 extension-header walk and fragment detection (compiled)."""

from __future__ import annotations

import numpy as np

from segverify.capture.status import (
    BAD,
    KIND_IP_BY_VERSION,
    KIND_IPV4,
    KIND_IPV6,
    OK,
    SHORT,
)
from segverify.capture.wire import be16, be32, be64
from segverify.flows.rows import FRAG_FIRST, FRAG_LATER, FRAG_NONE
from segverify.jit import kernel

IPV6_HOP_BY_HOP = 0
IPV6_ROUTING = 43
IPV6_FRAGMENT = 44
IPV6_AH = 51
IPV6_DEST_OPTS = 60
MAX_EXT_HEADERS = 16


@kernel(inline=True)
def short_or_bad(limit, end):  # type: ignore[no-untyped-def]
    """Out of bytes: SHORT when the capture ends there, BAD when the IP length does."""
    return SHORT if limit >= end else BAD


@kernel
def ip_header(buf, p, end, kind):  # type: ignore[no-untyped-def]
    """Returns (status, version, proto, src_hi, src_lo, dst_hi, dst_lo, frag, ip_id,
    transport offset, end of the IP packet within the captured bytes)."""
    if p + 1 > end:
        return SHORT, 0, 0, 0, 0, 0, 0, 0, 0, p, end
    nib = buf[p] >> 4
    if kind == KIND_IP_BY_VERSION:
        kind = KIND_IPV4 if nib == 4 else KIND_IPV6 if nib == 6 else 0
    if kind == KIND_IPV4:
        if nib != 4:
            return BAD, 4, 0, 0, 0, 0, 0, 0, 0, p, end
        if p + 20 > end:
            return SHORT, 4, 0, 0, 0, 0, 0, 0, 0, p, end
        ihl = (buf[p] & 0x0F) * 4
        if ihl < 20:
            return BAD, 4, 0, 0, 0, 0, 0, 0, 0, p, end
        if p + ihl > end:
            return SHORT, 4, 0, 0, 0, 0, 0, 0, 0, p, end
        total = be16(buf, p + 2)
        if total == 0:  # TCP segmentation offload: length left to the capture
            ip_end = end
        elif total < ihl:
            return BAD, 4, 0, 0, 0, 0, 0, 0, 0, p, end
        else:
            ip_end = min(p + total, end)
        ff = be16(buf, p + 6)
        frag = FRAG_NONE
        if ff & 0x1FFF:
            frag = FRAG_LATER
        elif ff & 0x2000:
            frag = FRAG_FIRST
        ipid = be16(buf, p + 4)
        proto = np.int64(buf[p + 9])
        src = be32(buf, p + 12)
        dst = be32(buf, p + 16)
        return OK, 4, proto, 0, src, 0, dst, frag, ipid, p + ihl, ip_end
    if kind == KIND_IPV6:
        if nib != 6:
            return BAD, 6, 0, 0, 0, 0, 0, 0, 0, p, end
        if p + 40 > end:
            return SHORT, 6, 0, 0, 0, 0, 0, 0, 0, p, end
        plen = be16(buf, p + 4)
        ip_end = end if plen == 0 else min(p + 40 + plen, end)
        shi = be64(buf, p + 8)
        slo = be64(buf, p + 16)
        dhi = be64(buf, p + 24)
        dlo = be64(buf, p + 32)
        nh = np.int64(buf[p + 6])
        q = p + 40
        frag = FRAG_NONE
        ipid = 0
        for _ in range(MAX_EXT_HEADERS):
            if nh == IPV6_FRAGMENT:
                if q + 8 > ip_end:
                    return short_or_bad(ip_end, end), 6, nh, shi, slo, dhi, dlo, 0, 0, q, ip_end
                off = be16(buf, q + 2)
                ipid = be32(buf, q + 4)
                nh = np.int64(buf[q])
                q += 8
                if off >> 3:
                    frag = FRAG_LATER
                    break
                if off & 1:
                    frag = FRAG_FIRST
            elif nh in (IPV6_HOP_BY_HOP, IPV6_ROUTING, IPV6_DEST_OPTS):
                if q + 2 > ip_end:
                    return short_or_bad(ip_end, end), 6, nh, shi, slo, dhi, dlo, 0, 0, q, ip_end
                size = (np.int64(buf[q + 1]) + 1) * 8
                if q + size > ip_end:
                    return short_or_bad(ip_end, end), 6, nh, shi, slo, dhi, dlo, 0, 0, q, ip_end
                nh = np.int64(buf[q])
                q += size
            elif nh == IPV6_AH:
                if q + 2 > ip_end:
                    return short_or_bad(ip_end, end), 6, nh, shi, slo, dhi, dlo, 0, 0, q, ip_end
                size = (np.int64(buf[q + 1]) + 2) * 4
                if q + size > ip_end:
                    return short_or_bad(ip_end, end), 6, nh, shi, slo, dhi, dlo, 0, 0, q, ip_end
                nh = np.int64(buf[q])
                q += size
            else:
                break
        return OK, 6, nh, shi, slo, dhi, dlo, frag, ipid, q, ip_end
    return BAD, 0, 0, 0, 0, 0, 0, 0, 0, p, end
