"""ICMP / ICMPv6 type and code as Community ID v1 maps them to ports (compiled).

Request/reply pairs map to (type, counterpart type) so both directions share one flow;
every other message is one-way: (type, code). The same pairs, as tables, are in
:mod:`segverify.flows.community_id`.
"""

from __future__ import annotations

from segverify.jit import kernel


@kernel
def icmp_ports(version, mtype, code):  # type: ignore[no-untyped-def]
    """Returns (sport, dport, one_way)."""
    if version == 4:
        if mtype == 8:
            return 8, 0, False
        if mtype == 0:
            return 0, 8, False
        if mtype == 13 or mtype == 15 or mtype == 17:
            return mtype, mtype + 1, False
        if mtype == 14 or mtype == 16 or mtype == 18:
            return mtype, mtype - 1, False
        if mtype == 10:
            return 10, 9, False
        if mtype == 9:
            return 9, 10, False
        return mtype, code, True
    if mtype == 128 or mtype == 133 or mtype == 135 or mtype == 130 or mtype == 139 or mtype == 144:
        return mtype, mtype + 1, False
    if mtype == 129 or mtype == 134 or mtype == 136 or mtype == 131 or mtype == 140 or mtype == 145:
        return mtype, mtype - 1, False
    return mtype, code, True
