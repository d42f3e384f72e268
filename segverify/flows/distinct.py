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
    uver, uhi, ulo = uver[:k], uhi[:k], ulo[:k]
    if k and not uhi.any() and not (uver != uver[0]).any():
        order = np.argsort(ulo)  # one version, 64-bit keys (IPv4): one key, all distinct
    else:
        order = np.lexsort((ulo, uhi, uver))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return rank[ids], first[:k][order]
