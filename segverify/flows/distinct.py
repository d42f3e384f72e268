"""Distinct addresses of a flow table in one hashed pass (a kernel, compiled for large
tables): ids in order of first appearance, the first position of each, and the distinct
(version, hi, lo) keys themselves."""

from __future__ import annotations

import numpy as np

from segverify.flows.aggregate import EMPTY, _mix
from segverify.jit import Kernels, kernel


@kernel(
    exports=(
        "int64(int64[::1], uint64[::1], uint64[::1], int64[::1], int64[::1], uint64[::1], uint64[::1], int64[::1], int64[::1])",
    )
)
def _distinct(ver, hi, lo, slots, uver, uhi, ulo, first, ids):  # type: ignore[no-untyped-def]
    """Fills ``ids`` (per entry) and the first ``k`` entries of ``uver``/``uhi``/``ulo``/
    ``first`` (per distinct key, in order of first appearance); returns ``k``."""
    mask = np.uint64(len(slots) - 1)
    k = 0
    for i in range(len(ver)):
        h = _mix(np.uint64(0xCBF29CE484222325), ver[i])
        h = _mix(h, hi[i])
        h = _mix(h, lo[i]) & mask
        while True:
            u = slots[h]
            if u == EMPTY:
                slots[h] = k
                uver[k] = ver[i]
                uhi[k] = hi[i]
                ulo[k] = lo[i]
                first[k] = i
                ids[i] = k
                k += 1
                break
            if uver[u] == ver[i] and uhi[u] == hi[i] and ulo[u] == lo[i]:
                ids[i] = u
                break
            h = (h + np.uint64(1)) & mask
    return k


def distinct_sorted(
    ver: np.ndarray, hi: np.ndarray, lo: np.ndarray, kernels: Kernels
) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, first)``: ``ids[i]`` the rank of entry ``i``'s key among the distinct keys
    sorted by (version, hi, lo); ``first[r]`` the first position of the key ranked ``r``."""
    n = len(ver)
    size = 1 << max(4, int(2 * max(n, 1) - 1).bit_length())
    slots = np.full(size, EMPTY, dtype=np.int64)
    v = np.ascontiguousarray(ver, dtype=np.int64)
    h = np.ascontiguousarray(hi, dtype=np.uint64)
    lo_ = np.ascontiguousarray(lo, dtype=np.uint64)
    uver = np.empty(n, dtype=np.int64)
    uhi = np.empty(n, dtype=np.uint64)
    ulo = np.empty(n, dtype=np.uint64)
    first = np.empty(n, dtype=np.int64)
    ids = np.empty(n, dtype=np.int64)
    k = int(kernels(_distinct)(v, h, lo_, slots, uver, uhi, ulo, first, ids))
    order = _key_order(uver[:k], uhi[:k], ulo[:k])
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return rank[ids], first[:k][order]


def _key_order(ver: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """The order of distinct (version, hi, lo) keys: per version (ascending), one sort of
    ``lo`` where every ``hi`` is 0 (IPv4, single keys), else of (hi, lo); a three-key
    lexsort of the whole costs several times that."""
    versions = np.unique(ver) if len(ver) else ver
    parts = []
    for v in versions.tolist():
        at = np.flatnonzero(ver == v) if len(versions) > 1 else np.arange(len(ver))
        h, lo_ = hi[at], lo[at]
        parts.append(at[np.argsort(lo_) if not h.any() else np.lexsort((lo_, h))])
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def unique_inverse(values: np.ndarray, kernels: Kernels) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` of ``int64`` values: with compiled
    kernels (and no negative value) one hashed pass and a sort of the distinct values."""
    if not kernels.compiled or (len(values) and int(values.min()) < 0):
        uniq, inverse = np.unique(values, return_inverse=True)
        return uniq, inverse.reshape(-1)
    n = len(values)
    ids, first = distinct_sorted(
        np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.uint64), values.astype(np.uint64),
        kernels,
    )  # fmt: skip
    return values[first], ids
