"""Coverage of a capture by a topology: which addresses a node, a declared prefix or
nothing matched, and which undeclared addresses are private or documentation ones.

"No findings" must mean "checked and clean": a run always reports these counts, and an
address from a private or documentation range that no zone declares ("undeclared internal
address") is a finding of its own, since its zone (and so every verdict about its flows)
is a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from segverify.checks.addrclass import MATCH_NODE, MATCH_NONE, MATCH_PREFIX, AddressClass
from segverify.flows.distinct import distinct_sorted
from segverify.jit import Kernels, for_rows

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class UndeclaredRange:
    """Undeclared addresses of one private/documentation range (e.g. ``RFC 1918``)."""

    label: str
    addresses: int
    flows: int
    examples: tuple[tuple[str, int], ...]  # (address, row of its first flow)


@dataclass
class Coverage:
    addresses: dict[str, int]  # total, node, prefix, none, undeclared_internal
    flows: dict[str, int]  # total, declared, unclassified, undeclared_internal
    undeclared: list[UndeclaredRange] = field(default_factory=list)

    @property
    def unclassified_addresses(self) -> int:
        return self.addresses[MATCH_NONE]

    def as_dict(self) -> dict[str, object]:
        return {
            "addresses": dict(self.addresses),
            "flows": dict(self.flows),
            "undeclared_internal": [
                {
                    "range": u.label,
                    "addresses": u.addresses,
                    "flows": u.flows,
                    "examples": [a for a, _ in u.examples],
                }
                for u in self.undeclared
            ],
        }


def address_ids(
    ver: np.ndarray,
    src_hi: np.ndarray,
    src_lo: np.ndarray,
    dst_hi: np.ndarray,
    dst_lo: np.ndarray,
    kernels: Kernels | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact ids of the distinct addresses of a table: ``(src_id, dst_id, first)`` where
    ids follow the order of (version, hi, lo) and ``first[k]`` is the position of address
    ``k``'s first occurrence in ``src ‖ dst``. Large tables (``kernels`` compiled) take
    one hashed pass instead of a three-key sort of every entry."""
    n = len(ver)
    v = np.concatenate([ver, ver])
    hi = np.concatenate([src_hi, dst_hi])
    lo = np.concatenate([src_lo, dst_lo])
    kernels = for_rows(n) if kernels is None else kernels
    if kernels.compiled:  # large tables: one hashed pass, then a sort of the distinct keys
        ids, first = distinct_sorted(v, hi, lo, kernels)
        return ids[:n], ids[n:], first
    if not hi.any() and not (v != v[:1]).any():  # one version, 64-bit keys: one sort
        order = np.argsort(lo, kind="stable")
        s_lo = lo[order]
        new = np.empty(len(order), dtype=bool)
        new[:1] = True
        new[1:] = s_lo[1:] != s_lo[:-1]
    else:
        order = np.lexsort((lo, hi, v))  # stable: each run starts at its first occurrence
        s_lo, s_hi, s_v = lo[order], hi[order], v[order]
        new = np.empty(len(order), dtype=bool)
        new[:1] = True
        new[1:] = (s_lo[1:] != s_lo[:-1]) | (s_hi[1:] != s_hi[:-1]) | (s_v[1:] != s_v[:-1])
    ids = np.cumsum(new) - 1
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = ids
    first = order[new]
    return inverse[:n], inverse[n:], first


def coverage(
    classes: Sequence[AddressClass],
    ver: np.ndarray,
    src_hi: np.ndarray,
    src_lo: np.ndarray,
    dst_hi: np.ndarray,
    dst_lo: np.ndarray,
    src_cls: np.ndarray,
    dst_cls: np.ndarray,
    first: np.ndarray,
    address_text: object,
    n_flows: int | None = None,
    row_of: np.ndarray | None = None,
) -> Coverage:
    """Counts for every address and flow of a table. ``first`` comes from
    :func:`address_ids`; ``address_text(ver, hi, lo)`` spells an address (examples only).

    Rows past ``n_flows`` (tunnel outer flows) count for addresses and undeclared ranges
    but not in ``flows``; ``row_of`` maps every row to the table row whose frame is its
    evidence."""
    n = len(src_cls)
    n_flows = n if n_flows is None else n_flows
    row_of = np.arange(n) if row_of is None else row_of
    match = np.array([c.match for c in classes] or [MATCH_NONE])
    internal = np.array([c.undeclared_internal for c in classes] or [False], dtype=bool)
    labels = [c.special for c in classes]
    # addresses: both ends of every flow, deduplicated; ``first`` indexes src ‖ dst
    pos = first
    at_src = pos < n
    at = np.where(at_src, pos, pos - n)
    ucls = np.where(at_src, src_cls[at], dst_cls[at]) if len(pos) else src_cls[:0]

    def spelled(p: int) -> str:
        hi, lo = (src_hi, src_lo) if p < n else (dst_hi, dst_lo)
        q = p % n
        return address_text(int(ver[q]), int(hi[q]), int(lo[q]))  # type: ignore[operator,no-any-return]

    # per class: is its match kind node / prefix / none (boolean lookups, not strings)
    kind = {k: match == k for k in (MATCH_NODE, MATCH_PREFIX, MATCH_NONE)}
    addresses = {
        "total": len(pos),
        MATCH_NODE: int(np.count_nonzero(kind[MATCH_NODE][ucls])),
        MATCH_PREFIX: int(np.count_nonzero(kind[MATCH_PREFIX][ucls])),
        MATCH_NONE: int(np.count_nonzero(kind[MATCH_NONE][ucls])),
        "undeclared_internal": int(np.count_nonzero(internal[ucls])) if len(ucls) else 0,
    }
    if n_flows:
        s_none = kind[MATCH_NONE][src_cls[:n_flows]]
        d_none = kind[MATCH_NONE][dst_cls[:n_flows]]
        s_int, d_int = internal[src_cls[:n_flows]], internal[dst_cls[:n_flows]]
    else:
        s_none = d_none = s_int = d_int = np.zeros(0, dtype=bool)
    unclassified = s_none | d_none
    flows = {
        "total": n_flows,
        "declared": int(n_flows - np.count_nonzero(unclassified)),
        "unclassified": int(np.count_nonzero(unclassified)),
        "undeclared_internal": int(np.count_nonzero(s_int | d_int)),
    }
    undeclared: list[UndeclaredRange] = []
    for label in sorted(
        {lab for c, lab in zip(classes, labels, strict=True) if c.undeclared_internal and lab}
    ):
        of_label = np.array(
            [c.undeclared_internal and c.special == label for c in classes], dtype=bool
        )
        here = of_label[ucls]
        count = int(np.count_nonzero(here))
        if not count:
            continue
        in_flow = of_label[src_cls] | of_label[dst_cls]
        first_pos = np.sort(pos[here])[:MAX_EXAMPLES]
        examples = tuple((spelled(p), int(row_of[p % n])) for p in first_pos.tolist())
        undeclared.append(UndeclaredRange(label, count, int(np.count_nonzero(in_flow)), examples))
    return Coverage(addresses, flows, undeclared)
