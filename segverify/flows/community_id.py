"""Community ID v1 flow hashes (https://github.com/corelight/community-id-spec).

``1:`` + base64(sha1(seed ‖ saddr ‖ daddr ‖ proto ‖ 0 ‖ sport ‖ dport)), with the
endpoints ordered so both directions hash alike. ICMP/ICMPv6 request/reply types map to
port pairs; other ICMP messages are one-way and keep their order.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import struct

PORT_PROTOS = frozenset({1, 6, 17, 58, 132})
# request/reply types that map to a port pair (both directions hash alike)
ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
ICMP6_PAIRS = {
    128: 129,
    129: 128,
    133: 134,
    134: 133,
    135: 136,
    136: 135,
    130: 131,
    131: 130,
    139: 140,
    140: 139,
    144: 145,
    145: 144,
}


def community_id(
    src: str, dst: str, proto: int, sport: int | None, dport: int | None, seed: int = 0
) -> str:
    """Community ID of a flow. For ICMP, ``sport``/``dport`` are already mapped as
    :func:`segverify.capture.icmp.icmp_ports` maps them (type, counterpart or code)."""
    s = ipaddress.ip_address(src).packed
    d = ipaddress.ip_address(dst).packed
    return community_id_packed(s, d, proto, sport, dport, seed)


def community_id_packed(
    s: bytes, d: bytes, proto: int, sport: int | None, dport: int | None, seed: int = 0
) -> str:
    """The same from packed addresses (4 or 16 bytes each)."""
    if sport is None or dport is None or proto not in PORT_PROTOS:
        if s > d:
            s, d = d, s
        data = struct.pack("!H", seed) + s + d + struct.pack("!BB", proto, 0)
    else:
        one_way = False
        if proto == 1 or proto == 58:
            one_way = sport not in (ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS)
        if not one_way and (s > d or (s == d and sport > dport)):
            s, d, sport, dport = d, s, dport, sport
        data = b"".join(
            (struct.pack("!H", seed), s, d, struct.pack("!BBHH", proto, 0, sport, dport))
        )
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")
