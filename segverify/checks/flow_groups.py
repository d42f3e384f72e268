"""Forbidden flows grouped by rule → zone pair → service, with counts and top endpoints.

A scan or a misrouted subnet makes thousands of forbidden flows that share one cause;
the groups are what a practitioner reads first. Computed on columns: one ``np.unique``
over a group key, ``np.bincount`` for the sums, one sort for the top endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RULE_ORDER = ("R1", "R2", "R3", "R4", "R5", "default-deny")
TOP_ENDPOINTS = 3


@dataclass(frozen=True)
class FlowGroup:
    rule: str
    src_zone: str
    dst_zone: str
    proto: int
    dport: int | None
    flows: int
    leaks: int
    attempts: int
    packets: int
    bytes: int
    first_row: int  # the group's example flow (earliest in the capture)
    top_sources: tuple[tuple[str, int], ...]  # (address, flows)
    top_destinations: tuple[tuple[str, int], ...]
    tunnel_outer: bool = False  # a group of tunnel outer flows
    example: tuple[str, str] | None = None  # (src, dst) of the example when not first_row's

    def sort_key(self) -> tuple[object, ...]:
        order = RULE_ORDER.index(self.rule) if self.rule in RULE_ORDER else len(RULE_ORDER)
        return (order, self.rule, self.src_zone, self.dst_zone, -self.flows, self.proto,
                -1 if self.dport is None else self.dport)  # fmt: skip


def _top(
    keys: np.ndarray, texts: Callable[[int], str], rows: np.ndarray
) -> tuple[tuple[str, int], ...]:
    """The most frequent values of ``keys`` (by flow count), as (text of a row, count)."""
    uniq, first, counts = np.unique(keys, return_index=True, return_counts=True)
    order = np.lexsort((uniq, -counts))[:TOP_ENDPOINTS]
    return tuple((texts(int(rows[first[j]])), int(counts[j])) for j in order.tolist())


def group_flows(
    rows: np.ndarray,
    label_key: np.ndarray,
    label_of: Callable[[int], tuple[str, str, str]],
    proto: np.ndarray,
    dport: np.ndarray,
    answered: np.ndarray,
    packets: np.ndarray,
    nbytes: np.ndarray,
    order_key: np.ndarray,
    src_key: np.ndarray,
    dst_key: np.ndarray,
    src_text: Callable[[int], str],
    dst_text: Callable[[int], str],
) -> list[FlowGroup]:
    """Groups of the flows ``rows`` (indices into the full table).

    ``label_key`` (one non-negative integer per selected row) encodes (rule, source zone,
    destination zone), decoded by ``label_of``; every other array is full-table.
    ``order_key`` orders flows in the capture (a group's example is its minimum);
    ``src_key``/``dst_key`` are address ids.
    """
    if not len(rows):
        return []
    labels, label_id = np.unique(label_key, return_inverse=True)
    label_id = label_id.reshape(-1).astype(np.int64)
    p = proto[rows].astype(np.int64)
    port = np.where(dport[rows] < 0, 0, dport[rows].astype(np.int64) + 1)
    key = (label_id * 256 + p) * 65537 + port
    uniq, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    ng = len(uniq)
    ans = answered[rows].astype(np.int64)
    flows = np.bincount(inverse, minlength=ng)
    leaks = np.bincount(inverse, weights=ans, minlength=ng).astype(np.int64)
    pk = np.bincount(inverse, weights=packets[rows].astype(np.float64), minlength=ng)
    by = np.bincount(inverse, weights=nbytes[rows].astype(np.float64), minlength=ng)
    by_group = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[by_group], np.arange(ng + 1))
    out: list[FlowGroup] = []
    for g, k in enumerate(uniq.tolist()):
        members = rows[by_group[bounds[g] : bounds[g + 1]]]
        rest, port_code = divmod(k, 65537)
        lid, pr = divmod(rest, 256)
        rule, sz, dz = label_of(int(labels[lid]))
        first = int(members[np.argmin(order_key[members])])
        out.append(
            FlowGroup(
                rule=rule,
                src_zone=sz,
                dst_zone=dz,
                proto=pr,
                dport=port_code - 1 if port_code else None,
                flows=int(flows[g]),
                leaks=int(leaks[g]),
                attempts=int(flows[g] - leaks[g]),
                packets=int(round(pk[g])),
                bytes=int(round(by[g])),
                first_row=first,
                top_sources=_top(src_key[members], src_text, members),
                top_destinations=_top(dst_key[members], dst_text, members),
            )
        )
    out.sort(key=FlowGroup.sort_key)
    return out
