"""One record, from its link-layer header to the innermost IP flow key (compiled).

Writes one row of the column array (see :mod:`segverify.flows.rows`). Tunnels are
followed while the inner packet decodes as IP; the outer endpoints move to the tunnel
columns. When an inner packet cannot be decoded, the record stays on its outer flow.
"""

from __future__ import annotations

from segverify.capture.ethernet import ethernet
from segverify.capture.ieee80211 import ieee80211
from segverify.capture.ip import ip_header
from segverify.capture.linklayer import link_payload
from segverify.capture.status import (
    BAD,
    KIND_ETHERNET,
    KIND_IEEE80211,
    NON_IP,
    OK,
    OPAQUE,
    SHORT,
    UNSUPPORTED,
)
from segverify.capture.transport import transport
from segverify.flows.rows import (
    BUCKET,
    BUCKET_ANALYSED,
    BUCKET_MALFORMED,
    BUCKET_NON_IP,
    BUCKET_OPAQUE,
    BUCKET_TRUNCATED,
    BUCKET_UNSUPPORTED_LINK,
    CAND,
    DPORT,
    DST_HI,
    DST_LO,
    FLAGS,
    FLOW,
    FRAG,
    IPID,
    PAY_LEN,
    PAY_OFF,
    PROTO,
    SPORT,
    SRC_HI,
    SRC_LO,
    T1TYPE,
    T2TYPE,
    TDEPTH,
    VER,
    VLAN,
)
from segverify.jit import kernel

MAX_TUNNEL_DEPTH = 8


@kernel(inline=True)
def _failure_bucket(status, cut):  # type: ignore[no-untyped-def]
    if status == UNSUPPORTED:
        return BUCKET_UNSUPPORTED_LINK
    if status == NON_IP:
        return BUCKET_NON_IP
    if status == OPAQUE:
        return BUCKET_OPAQUE
    if status == SHORT:
        return BUCKET_TRUNCATED if cut else BUCKET_MALFORMED
    return BUCKET_MALFORMED


@kernel
def decode_record(buf, off, caplen, wirelen, linktype, rows, i):  # type: ignore[no-untyped-def]
    end = off + caplen
    cut = caplen < wirelen
    rows[i, TDEPTH] = 0
    rows[i, FLOW] = -1
    st, kind, p, vlan = link_payload(buf, off, end, linktype)
    rows[i, VLAN] = vlan
    if st != OK:
        rows[i, BUCKET] = _failure_bucket(st, cut)
        return
    committed = False
    depth = 0
    ttype = 0
    limit = end
    fail = BAD
    for _ in range(MAX_TUNNEL_DEPTH):
        if kind == KIND_ETHERNET:
            st, kind, p, _v = ethernet(buf, p, limit, -1)
            if st != OK:
                fail = st
                break
        elif kind == KIND_IEEE80211:
            st, kind, p, _v = ieee80211(buf, p, limit)
            if st != OK:
                fail = st
                break
        st, ver, proto, shi, slo, dhi, dlo, frag, ipid, q, ip_end = ip_header(buf, p, limit, kind)
        if st != OK:
            fail = st
            break
        st, sport, dport, flags, payoff, paylen, cand, tun, nkind, np_, ntype = transport(
            buf, ver, proto, q, ip_end, limit, frag
        )
        if st != OK:
            fail = st
            break
        if committed:
            if depth < 2:
                base = T1TYPE if depth == 0 else T2TYPE
                rows[i, base] = ttype | (rows[i, VER] << 8)
                rows[i, base + 1] = rows[i, SRC_HI]
                rows[i, base + 2] = rows[i, SRC_LO]
                rows[i, base + 3] = rows[i, DST_HI]
                rows[i, base + 4] = rows[i, DST_LO]
            depth += 1
        rows[i, VER] = ver
        rows[i, PROTO] = proto
        rows[i, SRC_HI] = shi
        rows[i, SRC_LO] = slo
        rows[i, DST_HI] = dhi
        rows[i, DST_LO] = dlo
        rows[i, SPORT] = sport
        rows[i, DPORT] = dport
        rows[i, FLAGS] = flags
        rows[i, FRAG] = frag
        rows[i, IPID] = ipid
        rows[i, PAY_OFF] = payoff
        rows[i, PAY_LEN] = paylen
        rows[i, CAND] = 1 if cand else 0
        committed = True
        if not tun:
            break
        ttype = ntype
        kind = nkind
        p = np_
        limit = ip_end
    if committed:
        rows[i, BUCKET] = BUCKET_ANALYSED
        rows[i, TDEPTH] = depth
    else:
        rows[i, BUCKET] = _failure_bucket(fail, cut)
