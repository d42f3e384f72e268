"""Compiled helpers reading big- and little-endian integers from a ``uint8`` buffer."""

from __future__ import annotations

import numpy as np

from segverify.jit import kernel


@kernel(inline=True)
def be16(buf, p):  # type: ignore[no-untyped-def]
    return (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])


@kernel(inline=True)
def be32(buf, p):  # type: ignore[no-untyped-def]
    return (
        (np.int64(buf[p]) << 24)
        | (np.int64(buf[p + 1]) << 16)
        | (np.int64(buf[p + 2]) << 8)
        | np.int64(buf[p + 3])
    )


@kernel(inline=True)
def le16(buf, p):  # type: ignore[no-untyped-def]
    return (np.int64(buf[p + 1]) << 8) | np.int64(buf[p])


@kernel(inline=True)
def le32(buf, p):  # type: ignore[no-untyped-def]
    return (
        (np.int64(buf[p + 3]) << 24)
        | (np.int64(buf[p + 2]) << 16)
        | (np.int64(buf[p + 1]) << 8)
        | np.int64(buf[p])
    )


@kernel(inline=True)
def u32(buf, p, big):  # type: ignore[no-untyped-def]
    return be32(buf, p) if big else le32(buf, p)


@kernel(inline=True)
def u16(buf, p, big):  # type: ignore[no-untyped-def]
    return be16(buf, p) if big else le16(buf, p)


@kernel(inline=True)
def be64(buf, p):  # type: ignore[no-untyped-def]
    """Eight bytes as a signed 64-bit value (the bit pattern of the unsigned one)."""
    hi = be32(buf, p)
    lo = be32(buf, p + 4)
    return (hi << 32) | lo  # int64 arithmetic wraps to the same bit pattern
