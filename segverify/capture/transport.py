"""TCP, UDP, SCTP and ICMP headers: ports, flags, the payload, and whether the payload is
a tunnel or may carry application names (compiled)."""

from __future__ import annotations

import numpy as np

from segverify.capture.icmp import icmp_ports
from segverify.capture.ip import short_or_bad
from segverify.capture.status import BAD, KIND_IPV4, KIND_IPV6, KIND_NONE, OK
from segverify.capture.tunnel import GENEVE_PORT, VXLAN_PORT, geneve, gre, vxlan
from segverify.capture.wire import be16
from segverify.flows.rows import FRAG_LATER, FRAG_NONE, TUNNEL_IPIP
from segverify.jit import kernel

PROTO_ICMP = 1
PROTO_IPIP = 4
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_IPV6 = 41
PROTO_GRE = 47
PROTO_ICMPV6 = 58
PROTO_SCTP = 132
DNS_PORT = 53


@kernel
def _http_request(buf, p, n):  # type: ignore[no-untyped-def]
    if n < 4:
        return False
    a, b, c, d = buf[p], buf[p + 1], buf[p + 2], buf[p + 3]
    if a == 71 and b == 69 and c == 84 and d == 32:  # "GET "
        return True
    if a == 80 and b == 79 and c == 83 and d == 84:  # "POST"
        return True
    if a == 72 and b == 69 and c == 65 and d == 68:  # "HEAD"
        return True
    if a == 80 and b == 85 and c == 84 and d == 32:  # "PUT "
        return True
    if a == 67 and b == 79 and c == 78 and d == 78:  # "CONN"
        return True
    if a == 79 and b == 80 and c == 84 and d == 73:  # "OPTI"
        return True
    if a == 68 and b == 69 and c == 76 and d == 69:  # "DELE"
        return True
    return a == 80 and b == 65 and c == 84 and d == 67  # "PATC"


@kernel
def transport(buf, version, proto, q, ip_end, end, frag):  # type: ignore[no-untyped-def]
    """Returns (status, sport, dport, tcp flags, payload offset, payload length, candidate,
    tunnel found, inner kind, inner offset, tunnel type)."""
    if frag == FRAG_LATER:
        return OK, -1, -1, 0, q, 0, False, False, KIND_NONE, q, 0
    # a fragmented packet carries only part of a tunnelled one: it stays on the outer flow
    whole = frag == FRAG_NONE
    if proto == PROTO_TCP:
        # the whole header (data offset included) must be there, as tshark and Zeek require
        if q + 20 > ip_end:
            return short_or_bad(ip_end, end), -1, -1, 0, q, 0, False, False, KIND_NONE, q, 0
        doff = (buf[q + 12] >> 4) * 4
        if doff < 20:
            return BAD, -1, -1, 0, q, 0, False, False, KIND_NONE, q, 0
        if q + doff > ip_end:
            return short_or_bad(ip_end, end), -1, -1, 0, q, 0, False, False, KIND_NONE, q, 0
        sport = be16(buf, q)
        dport = be16(buf, q + 2)
        flags = np.int64(buf[q + 13]) | (doff << 8)  # data offset above the flag byte
        payoff = q + doff
        n = ip_end - payoff
        cand = False
        if n > 0:
            if (
                sport == DNS_PORT
                or dport == DNS_PORT
                or n >= 3
                and buf[payoff] == 0x16
                and buf[payoff + 1] == 0x03
            ):
                cand = True
            else:
                cand = _http_request(buf, payoff, n)
        return OK, sport, dport, flags, payoff, n, cand, False, KIND_NONE, q, 0
    if proto == PROTO_UDP:
        if q + 8 > ip_end:
            return short_or_bad(ip_end, end), -1, -1, 0, q, 0, False, False, KIND_NONE, q, 0
        sport = be16(buf, q)
        dport = be16(buf, q + 2)
        payoff = q + 8
        n = ip_end - payoff
        ulen = be16(buf, q + 4)
        if ulen >= 8:
            n = min(n, ulen - 8)
        if n < 0:
            n = 0
        if whole and (dport == VXLAN_PORT or sport == VXLAN_PORT):
            ok, kind, inner, tt = vxlan(buf, payoff, payoff + n)
            if ok:
                return OK, sport, dport, 0, payoff, n, False, True, kind, inner, tt
        if whole and (dport == GENEVE_PORT or sport == GENEVE_PORT):
            ok, kind, inner, tt = geneve(buf, payoff, payoff + n)
            if ok:
                return OK, sport, dport, 0, payoff, n, False, True, kind, inner, tt
        cand = n > 0 and (sport == DNS_PORT or dport == DNS_PORT)
        return OK, sport, dport, 0, payoff, n, cand, False, KIND_NONE, q, 0
    if proto == PROTO_SCTP:
        if q + 4 > ip_end:
            return short_or_bad(ip_end, end), -1, -1, 0, q, 0, False, False, KIND_NONE, q, 0
        return OK, be16(buf, q), be16(buf, q + 2), 0, q, 0, False, False, KIND_NONE, q, 0
    if proto in (PROTO_ICMP, PROTO_ICMPV6):
        if q + 2 > ip_end:
            return short_or_bad(ip_end, end), -1, -1, 0, q, 0, False, False, KIND_NONE, q, 0
        sport, dport, _one_way = icmp_ports(version, np.int64(buf[q]), np.int64(buf[q + 1]))
        return OK, sport, dport, 0, q, 0, False, False, KIND_NONE, q, 0
    if proto == PROTO_GRE and whole:
        ok, kind, inner, tt = gre(buf, q, ip_end)
        return OK, -1, -1, 0, q, 0, False, ok, kind, inner, tt
    if proto == PROTO_IPIP and whole and q < ip_end:
        return OK, -1, -1, 0, q, 0, False, True, KIND_IPV4, q, TUNNEL_IPIP
    if proto == PROTO_IPV6 and whole and q < ip_end:
        return OK, -1, -1, 0, q, 0, False, True, KIND_IPV6, q, TUNNEL_IPIP
    return OK, -1, -1, 0, q, 0, False, False, KIND_NONE, q, 0
