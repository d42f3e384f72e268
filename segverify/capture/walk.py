"""Compiled record walks over a window of pcap or pcapng bytes, decoding every record
into one row of the column array. Each walk stops when the rows are full, when the
window ends mid-record (the caller reads more), or at a block it leaves to Python."""

from __future__ import annotations

import numpy as np

from segverify.capture.decode import decode_record
from segverify.capture.wire import u16, u32
from segverify.flows.rows import (
    BUCKET,
    BUCKET_MALFORMED,
    FLOW,
    FRAME,
    TDEPTH,
    TS,
    VLAN,
    WIRELEN,
)
from segverify.jit import kernel

# walk outcomes
FULL = 0  # max_rows records decoded
NEED_MORE = 1  # the window ends inside a record (or is exhausted)
CONTROL = 2  # pcapng section header or interface description: handled in Python
CORRUPT = 3  # a record header that cannot be right: stop reading

PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_IDB = 1
PCAPNG_OPB = 2
PCAPNG_SPB = 3
PCAPNG_EPB = 6
NS = 1_000_000_000


@kernel
def _bad_record(rows, n, frame, wirelen):  # type: ignore[no-untyped-def]
    rows[n, FRAME] = frame
    rows[n, TS] = 0
    rows[n, WIRELEN] = wirelen
    rows[n, BUCKET] = BUCKET_MALFORMED
    rows[n, TDEPTH] = 0
    rows[n, VLAN] = -1
    rows[n, FLOW] = -1


@kernel(
    exports=(
        "UniTuple(int64, 3)(Array(uint8, 1, 'C', readonly=True), int64, int64, boolean, boolean, int64, int64, int64, int64[:, ::1], int64, int64)",
    )
)
def walk_pcap(
    buf, start, stop, big, nsec, rechdr, max_caplen, linktype, rows, frame_base, max_rows
):  # type: ignore[no-untyped-def]
    """Returns (records decoded, offset after the last one, outcome)."""
    p = start
    n = 0
    while n < max_rows:
        if p + rechdr > stop:
            return n, p, NEED_MORE
        caplen = u32(buf, p + 8, big)
        if caplen > max_caplen:
            return n, p, CORRUPT
        if p + rechdr + caplen > stop:
            return n, p, NEED_MORE
        sec = u32(buf, p, big)
        frac = u32(buf, p + 4, big)
        wirelen = u32(buf, p + 12, big)
        rows[n, FRAME] = frame_base + n + 1
        rows[n, TS] = sec * NS + (frac if nsec else frac * 1000)
        rows[n, WIRELEN] = wirelen
        decode_record(buf, p + rechdr, caplen, wirelen, linktype, rows, n)
        n += 1
        p += rechdr + caplen
    return n, p, FULL


@kernel
def _pcapng_ts(ts, shift, mul, div, offset):  # type: ignore[no-untyped-def]
    if shift >= 0:
        if shift <= 30:
            return (ts >> shift) * NS + (((ts & ((1 << shift) - 1)) * NS) >> shift) + offset
        return np.int64(ts / 2.0**shift * NS) + offset
    return ts * mul // div + offset


@kernel(
    exports=(
        "UniTuple(int64, 3)(Array(uint8, 1, 'C', readonly=True), int64, int64, boolean, int64[::1], int64[::1], int64[::1], int64[::1], int64[::1], int64[::1], int64, int64[:, ::1], int64, int64)",
    )
)
def walk_pcapng(  # type: ignore[no-untyped-def]
    buf,
    start,
    stop,
    big,
    if_link,
    if_shift,
    if_mul,
    if_div,
    if_off,
    if_snap,
    n_if,
    rows,
    frame_base,
    max_rows,
):
    """Returns (records decoded, offset of the next block, outcome)."""
    p = start
    n = 0
    while n < max_rows:
        if p + 8 > stop:
            return n, p, NEED_MORE
        btype = u32(buf, p, big)
        if btype == PCAPNG_SHB:
            return n, p, CONTROL
        blen = u32(buf, p + 4, big)
        if blen < 12 or blen % 4 != 0:
            return n, p, CORRUPT
        if p + blen > stop:
            return n, p, NEED_MORE
        if btype == PCAPNG_IDB:
            return n, p, CONTROL
        frame = frame_base + n + 1
        if btype in (PCAPNG_EPB, PCAPNG_OPB):
            if blen < 32:
                _bad_record(rows, n, frame, 0)
                n += 1
                p += blen
                continue
            iface = u32(buf, p + 8, big) if btype == PCAPNG_EPB else u16(buf, p + 8, big)
            ts = (u32(buf, p + 12, big) << 32) | u32(buf, p + 16, big)
            caplen = u32(buf, p + 20, big)
            wirelen = u32(buf, p + 24, big)
            data = p + 28
            if iface >= n_if or 28 + caplen > blen - 4:
                _bad_record(rows, n, frame, wirelen)
                n += 1
                p += blen
                continue
            rows[n, TS] = _pcapng_ts(
                ts, if_shift[iface], if_mul[iface], if_div[iface], if_off[iface]
            )
        elif btype == PCAPNG_SPB:
            if blen < 16 or n_if == 0:
                _bad_record(rows, n, frame, 0)
                n += 1
                p += blen
                continue
            iface = 0
            wirelen = u32(buf, p + 8, big)
            caplen = min(wirelen, blen - 16)
            if if_snap[0] > 0:
                caplen = min(caplen, if_snap[0])
            data = p + 12
            rows[n, TS] = 0
        else:
            p += blen
            continue
        rows[n, FRAME] = frame
        rows[n, WIRELEN] = wirelen
        decode_record(buf, data, caplen, wirelen, if_link[iface], rows, n)
        n += 1
        p += blen
    return n, p, FULL
