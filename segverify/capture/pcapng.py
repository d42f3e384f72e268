"""pcapng section headers and interface descriptions (the rare blocks, read in Python).

Packet blocks (EPB, SPB, OPB) are walked by the compiled pass in :mod:`walk`; this module
keeps the per-interface tables it needs: link type, snaplen and timestamp resolution.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_END = 0
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14
NS = 1_000_000_000
INT64_MAX = (1 << 63) - 1


@dataclass
class Interfaces:
    """Interfaces of the current section, as arrays indexed by interface id."""

    link: list[int] = field(default_factory=list)
    shift: list[int] = field(default_factory=list)  # binary resolution 2^-shift, else -1
    mul: list[int] = field(default_factory=list)  # decimal resolution: ns = ts * mul // div
    div: list[int] = field(default_factory=list)
    offset: list[int] = field(default_factory=list)  # if_tsoffset in ns
    snap: list[int] = field(default_factory=list)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(
            np.array(v if v else [0], dtype=np.int64)
            for v in (self.link, self.shift, self.mul, self.div, self.offset, self.snap)
        )


def section_byte_order(head: bytes) -> bool | None:
    """True for big-endian, False for little-endian, None when the magic is wrong."""
    if len(head) < 12:
        return None
    if struct.unpack_from("<I", head, 8)[0] == BYTE_ORDER_MAGIC:
        return False
    if struct.unpack_from(">I", head, 8)[0] == BYTE_ORDER_MAGIC:
        return True
    return None


def add_interface(block: bytes, big: bool, ifaces: Interfaces) -> None:
    """Append the interface an IDB describes (``block`` is the whole block)."""
    order = ">" if big else "<"
    link, _reserved, snaplen = struct.unpack_from(order + "HHI", block, 8)
    shift, mul, div, offset = -1, 1000, 1, 0  # default: microseconds
    pos, end = 16, len(block) - 4
    while pos + 4 <= end:
        code, size = struct.unpack_from(order + "HH", block, pos)
        value = block[pos + 4 : pos + 4 + size]
        if code == OPT_END:
            break
        if code == OPT_IF_TSRESOL and size >= 1:
            res = value[0]
            if res & 0x80:
                shift, mul, div = min(res & 0x7F, 63), 1, 1
            else:
                shift = -1
                # 10^-res s; beyond 10^-27 every timestamp is 0 s (keeps the divisor int64)
                mul, div = (10 ** (9 - res), 1) if res <= 9 else (1, 10 ** min(res - 9, 18))
        elif code == OPT_IF_TSOFFSET and size >= 8:
            seconds = struct.unpack_from(order + "q", value)[0]
            offset = max(-INT64_MAX, min(INT64_MAX, seconds * NS))
        pos += 4 + ((size + 3) & ~3)
    ifaces.link.append(link)
    ifaces.shift.append(shift)
    ifaces.mul.append(mul)
    ifaces.div.append(div)
    ifaces.offset.append(offset)
    ifaces.snap.append(snaplen)
