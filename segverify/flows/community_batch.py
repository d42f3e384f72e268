"""Community ID v1 for every row of a flow table at once: a SHA-1 and base64 kernel,
compiled for large tables; hashlib row by row for small ones.

The same hash as :func:`segverify.flows.community_id.community_id_packed` (tested equal
row by row): the message (seed, the two addresses, protocol, zero, and the ports when
the protocol has them) is at most 40 bytes, one SHA-1 block, so the compression runs
once per flow without any Python object.
"""

from __future__ import annotations

import numpy as np

from segverify.flows.community_id import community_id_packed
from segverify.jit import Kernels, for_rows, kernel

CID_LEN = 30  # "1:" + 28 base64 characters
_B64 = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", dtype=np.uint8
).copy()
_ICMP4_PAIRED = np.zeros(256, dtype=np.bool_)
_ICMP4_PAIRED[[8, 0, 13, 14, 15, 16, 10, 9, 17, 18]] = True
_ICMP6_PAIRED = np.zeros(256, dtype=np.bool_)
_ICMP6_PAIRED[[128, 129, 130, 131, 133, 134, 135, 136, 139, 140, 144, 145]] = True


@kernel(inline=True)
def _rotl(x, n):  # type: ignore[no-untyped-def]
    return ((x << np.uint32(n)) | (x >> np.uint32(32 - n))) & np.uint32(0xFFFFFFFF)


@kernel
def _put_addr(msg, p, ver, hi, lo):  # type: ignore[no-untyped-def]
    if ver == 4:
        for k in range(4):
            msg[p + k] = (lo >> np.uint64(8 * (3 - k))) & np.uint64(0xFF)
        return p + 4
    for k in range(8):
        msg[p + k] = (hi >> np.uint64(8 * (7 - k))) & np.uint64(0xFF)
        msg[p + 8 + k] = (lo >> np.uint64(8 * (7 - k))) & np.uint64(0xFF)
    return p + 16


@kernel
def _sha1_one_block(msg, length, w, out):  # type: ignore[no-untyped-def]
    for k in range(length, 64):
        msg[k] = 0
    msg[length] = 0x80
    bits = length * 8
    msg[62] = (bits >> 8) & 0xFF
    msg[63] = bits & 0xFF
    for t in range(16):
        w[t] = (
            (np.uint32(msg[4 * t]) << np.uint32(24))
            | (np.uint32(msg[4 * t + 1]) << np.uint32(16))
            | (np.uint32(msg[4 * t + 2]) << np.uint32(8))
            | np.uint32(msg[4 * t + 3])
        )
    for t in range(16, 80):
        w[t] = _rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1)
    h0 = np.uint32(0x67452301)
    h1 = np.uint32(0xEFCDAB89)
    h2 = np.uint32(0x98BADCFE)
    h3 = np.uint32(0x10325476)
    h4 = np.uint32(0xC3D2E1F0)
    a, b, c, d, e = h0, h1, h2, h3, h4
    for t in range(80):
        if t < 20:
            f = (b & c) | (~b & d)
            k = np.uint32(0x5A827999)
        elif t < 40:
            f = b ^ c ^ d
            k = np.uint32(0x6ED9EBA1)
        elif t < 60:
            f = (b & c) | (b & d) | (c & d)
            k = np.uint32(0x8F1BBCDC)
        else:
            f = b ^ c ^ d
            k = np.uint32(0xCA62C1D6)
        tmp = (_rotl(a, 5) + (f & np.uint32(0xFFFFFFFF)) + e + k + w[t]) & np.uint32(0xFFFFFFFF)
        e = d
        d = c
        c = _rotl(b, 30)
        b = a
        a = tmp
    hs = (h0 + a, h1 + b, h2 + c, h3 + d, h4 + e)
    for i in range(5):
        v = hs[i] & np.uint32(0xFFFFFFFF)
        out[4 * i] = (v >> np.uint32(24)) & np.uint32(0xFF)
        out[4 * i + 1] = (v >> np.uint32(16)) & np.uint32(0xFF)
        out[4 * i + 2] = (v >> np.uint32(8)) & np.uint32(0xFF)
        out[4 * i + 3] = v & np.uint32(0xFF)


@kernel(
    exports=(
        "none(int64[::1], uint64[::1], uint64[::1], uint64[::1], uint64[::1], int64[::1], int64[::1], int64[::1], int64, uint8[::1], boolean[::1], boolean[::1], uint8[:, ::1])",
    )
)
def _community_ids(ver, shi, slo, dhi, dlo, proto, sport, dport, seed, b64, p4, p6, out):  # type: ignore[no-untyped-def]
    msg = np.zeros(64, dtype=np.uint8)
    w = np.zeros(80, dtype=np.uint32)
    digest = np.zeros(20, dtype=np.uint8)
    for i in range(len(proto)):
        v = ver[i]
        pr = proto[i]
        a_hi, a_lo, b_hi, b_lo = shi[i], slo[i], dhi[i], dlo[i]
        sp = sport[i]
        dp = dport[i]
        ported = (pr == 1 or pr == 6 or pr == 17 or pr == 58 or pr == 132) and sp >= 0 and dp >= 0
        a_gt_b = a_hi > b_hi or (a_hi == b_hi and a_lo > b_lo)
        a_eq_b = a_hi == b_hi and a_lo == b_lo
        swap = False
        if not ported:
            swap = a_gt_b
        else:
            one_way = False
            if pr == 1:
                one_way = sp > 255 or not p4[sp]
            elif pr == 58:
                one_way = sp > 255 or not p6[sp]
            if not one_way and (a_gt_b or (a_eq_b and sp > dp)):
                swap = True
        if swap:
            a_hi, a_lo, b_hi, b_lo = b_hi, b_lo, a_hi, a_lo
            sp, dp = dp, sp
        msg[0] = (seed >> 8) & 0xFF
        msg[1] = seed & 0xFF
        p = _put_addr(msg, 2, v, a_hi, a_lo)
        p = _put_addr(msg, p, v, b_hi, b_lo)
        msg[p] = pr
        msg[p + 1] = 0
        p += 2
        if ported:
            msg[p] = (sp >> 8) & 0xFF
            msg[p + 1] = sp & 0xFF
            msg[p + 2] = (dp >> 8) & 0xFF
            msg[p + 3] = dp & 0xFF
            p += 4
        _sha1_one_block(msg, p, w, digest)
        o = out[i]
        o[0] = 49  # "1"
        o[1] = 58  # ":"
        q = 2
        for g in range(6):  # 18 bytes → 24 characters
            x = (np.int64(digest[3 * g]) << 16) | (np.int64(digest[3 * g + 1]) << 8)
            x |= np.int64(digest[3 * g + 2])
            o[q] = b64[(x >> 18) & 63]
            o[q + 1] = b64[(x >> 12) & 63]
            o[q + 2] = b64[(x >> 6) & 63]
            o[q + 3] = b64[x & 63]
            q += 4
        x = (np.int64(digest[18]) << 16) | (np.int64(digest[19]) << 8)
        o[q] = b64[(x >> 18) & 63]
        o[q + 1] = b64[(x >> 12) & 63]
        o[q + 2] = b64[(x >> 6) & 63]
        o[q + 3] = 61  # "="


def _hashlib_ids(
    ver: np.ndarray,
    src_hi: np.ndarray,
    src_lo: np.ndarray,
    dst_hi: np.ndarray,
    dst_lo: np.ndarray,
    proto: np.ndarray,
    sport: np.ndarray,
    dport: np.ndarray,
    seed: int,
) -> np.ndarray:
    """The same IDs through :func:`community_id_packed` (hashlib), for small tables."""
    rows = zip(
        np.asarray(ver).tolist(),
        np.asarray(src_hi, dtype=np.uint64).tolist(),
        np.asarray(src_lo, dtype=np.uint64).tolist(),
        np.asarray(dst_hi, dtype=np.uint64).tolist(),
        np.asarray(dst_lo, dtype=np.uint64).tolist(),
        np.asarray(proto).tolist(),
        np.asarray(sport).tolist(),
        np.asarray(dport).tolist(),
        strict=True,
    )
    out = [
        community_id_packed(
            _packed(v, shi, slo), _packed(v, dhi, dlo), pr,
            None if sp < 0 else sp, None if dp < 0 else dp, seed,
        ).encode("ascii")
        for v, shi, slo, dhi, dlo, pr, sp, dp in rows
    ]  # fmt: skip
    return np.array(out, dtype=f"S{CID_LEN}")


def _packed(ver: int, hi: int, lo: int) -> bytes:
    if ver == 4:
        return (lo & 0xFFFFFFFF).to_bytes(4, "big")
    return (hi << 64 | lo).to_bytes(16, "big")


def community_id_array(
    ver: np.ndarray,
    src_hi: np.ndarray,
    src_lo: np.ndarray,
    dst_hi: np.ndarray,
    dst_lo: np.ndarray,
    proto: np.ndarray,
    sport: np.ndarray,
    dport: np.ndarray,
    seed: int = 0,
    kernels: Kernels | None = None,
) -> np.ndarray:
    """Community IDs of every row as a ``S30`` (ASCII bytes) array (``kernels``: plain or
    compiled; by default by the number of rows)."""
    n = len(proto)
    kernels = for_rows(n) if kernels is None else kernels
    if not kernels.compiled:  # a SHA-1 in plain Python is slow: hashlib, row by row
        return _hashlib_ids(ver, src_hi, src_lo, dst_hi, dst_lo, proto, sport, dport, seed)
    out = np.zeros((n, CID_LEN), dtype=np.uint8)
    if n:
        kernels(_community_ids)(
            np.ascontiguousarray(ver, dtype=np.int64),
            np.ascontiguousarray(src_hi, dtype=np.uint64),
            np.ascontiguousarray(src_lo, dtype=np.uint64),
            np.ascontiguousarray(dst_hi, dtype=np.uint64),
            np.ascontiguousarray(dst_lo, dtype=np.uint64),
            np.ascontiguousarray(proto, dtype=np.int64),
            np.ascontiguousarray(sport, dtype=np.int64),
            np.ascontiguousarray(dport, dtype=np.int64),
            np.int64(seed),
            _B64,
            _ICMP4_PAIRED,
            _ICMP6_PAIRED,
            out,
        )
    return out.view(f"S{CID_LEN}").ravel()
