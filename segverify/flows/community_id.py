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

from segverify.capture.icmp import ICMP4_PAIRS, ICMP6_PAIRS

PORT_PROTOS = frozenset({1, 6, 17, 58, 132})


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
    has_ports = proto in PORT_PROTOS and sport is not None and dport is not None
    one_way = False
    if has_ports and proto in (1, 58):
        pairs = ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS
        one_way = sport not in pairs
    sp = sport if has_ports else 0
    dp = dport if has_ports else 0
    if not one_way and (s > d or (s == d and sp > dp)):
        s, d, sp, dp = d, s, dp, sp
    data = struct.pack("!H", seed) + s + d + struct.pack("!BB", proto, 0)
    if has_ports:
        data += struct.pack("!HH", sp, dp)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")
